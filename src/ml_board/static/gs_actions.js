// Archive and delete of one grid search, on its page (PUT /api/grid_searches/<id>/archive, DELETE
// /api/grid_searches/<id>), both with the ingest token. Archiving is one click with the tab's token (the token is
// asked for only if the board refuses it); deleting always asks to confirm.
import { ApiError, gsPath, sendJSON } from "./api.js";
import { ingestToken, storeIngestToken } from "./auth.js";
import { esc } from "./format.js";

/** The archive and delete buttons of the run page, and the small form that confirms an action with a token. */
export class GridSearchActions {
  constructor(el, gs, archived, { onArchived, onDeleted }) {
    this.el = el;
    this.gs = gs;
    this.archived = Boolean(archived);
    this.onArchived = onArchived; // (archived) => void
    this.onDeleted = onDeleted;   // () => void: the page leaves
    this.render();
  }

  /** A change made elsewhere (another tab), announced live. */
  setArchived(archived) {
    this.archived = archived;
    if (!this.el.querySelector("#gs-confirm")) this.render();
  }

  render() {
    this.el.innerHTML = `<div class="gs-actions">
        ${this.archived ? `<span class="badge badge-archived" id="gs-archived">archived</span>` : ""}
        <button type="button" class="link-button" id="gs-archive">${this.archived ? "Unarchive" : "Archive"}</button>
        <button type="button" class="link-button danger" id="gs-delete">Delete…</button></div>`;
    this.el.querySelector("#gs-archive").addEventListener("click", () => this.archive(ingestToken()));
    this.el.querySelector("#gs-delete").addEventListener("click", () => this.confirm("delete"));
  }

  async archive(token, fromForm = false) {
    try {
      const answer = await sendJSON("PUT", `${gsPath(this.gs)}/archive`, { archived: !this.archived }, headers(token));
      if (fromForm) storeIngestToken(token);
      this.archived = answer.archived;
      this.render();
      this.onArchived(this.archived);
    } catch (err) {
      if (!fromForm && err instanceof ApiError && err.status === 401) return this.confirm("archive");
      this.showError(err);
    }
  }

  async remove(token) {
    try {
      await sendJSON("DELETE", gsPath(this.gs), undefined, headers(token));
      storeIngestToken(token);
      this.onDeleted();
    } catch (err) {
      this.showError(err);
    }
  }

  /** The form that asks for the ingest token (and, to delete, for a confirmation). */
  confirm(action) {
    const deleting = action === "delete";
    const verb = deleting ? "Delete" : (this.archived ? "Unarchive" : "Archive");
    this.el.innerHTML = `<form id="gs-confirm" class="labels-form gs-confirm">
      <p>${deleting ? `Delete <b class="mono">${esc(this.gs)}</b> from this board: its stored events, labels and
        checkpoints. The training machine's own event log is not touched.` : `${verb} needs the board's ingest token.`}</p>
      <label>Ingest token <input id="gs-token" type="password" autocomplete="off" value="${esc(ingestToken())}"
        placeholder="the board's --ingest_token (none: leave empty)"></label>
      <div class="labels-actions"><button type="submit" id="gs-confirm-go" class="${deleting ? "danger" : ""}">${verb}</button>
        <button type="button" id="gs-confirm-cancel" class="link-button">Cancel</button></div>
      <p id="gs-action-error" class="error" role="alert" hidden></p></form>`;
    const $ = (sel) => this.el.querySelector(sel);
    $("#gs-confirm-cancel").addEventListener("click", () => this.render());
    $("#gs-confirm").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const token = $("#gs-token").value.trim();
      if (deleting) this.remove(token);
      else this.archive(token, true);
    });
    $("#gs-token").focus();
  }

  showError(err) {
    let box = this.el.querySelector("#gs-action-error");
    if (!box) {
      this.el.insertAdjacentHTML("beforeend", `<p id="gs-action-error" class="error" role="alert"></p>`);
      box = this.el.querySelector("#gs-action-error");
    }
    box.hidden = false;
    box.textContent = err instanceof ApiError && err.status === 401 ? "The board did not accept this ingest token." : err.message;
  }
}

function headers(token) {
  return token ? { "X-Ingest-Token": token } : {};
}
