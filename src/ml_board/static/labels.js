// A grid search's labels for people (name, tags, note): tag chips, and the run page's card that shows and edits
// them (PUT /api/grid_searches/<id>/labels with the ingest token).
import { gsPath, putJSON, ApiError } from "./api.js";
import { ingestToken, storeIngestToken } from "./auth.js";
import { esc } from "./format.js";

/** Tag chips; with `clickable`, buttons carrying `data-tag` (the list page filters by them). */
export function tagChips(tags, clickable = false) {
  return (tags || []).map((t) => clickable
    ? `<button type="button" class="chip" data-tag="${esc(t)}" title="show only runs tagged ${esc(t)}">${esc(t)}</button>`
    : `<span class="chip">${esc(t)}</span>`).join("");
}

/** "a, b , c" -> ["a", "b", "c"] (empty pieces dropped; the board drops duplicates). */
export function parseTags(text) {
  return text.split(",").map((t) => t.trim()).filter(Boolean);
}

/** The labels card of the run page: tags and note, and a form to edit them with the name. */
export class LabelsCard {
  constructor(el, gs, labels, onChange) {
    this.el = el;
    this.gs = gs;
    this.labels = labels;
    this.onChange = onChange; // (labels) => void: the page shows the new name
    this.editing = false;
    this.render();
  }

  /** New labels from elsewhere (another tab's edit, announced live); an open form is left alone. */
  update(labels) {
    this.labels = labels;
    if (!this.editing) this.render();
  }

  render() {
    const { tags, note } = this.labels;
    this.el.hidden = false;
    this.el.innerHTML = `<div class="labels-row">
        <div class="chips" id="run-tags">${tags.length ? tagChips(tags) : `<span class="muted small">no tags</span>`}</div>
        <button type="button" class="link-button" id="labels-edit">Edit name, tags and note</button></div>
      ${note ? `<p class="note" id="run-note">${esc(note)}</p>` : `<p class="muted small note-empty" id="run-note"></p>`}`;
    this.el.querySelector("#labels-edit").addEventListener("click", () => this.edit());
  }

  edit() {
    this.editing = true;
    const { name, tags, note } = this.labels;
    this.el.innerHTML = `<form id="labels-form" class="labels-form">
      <label>Name <input id="label-name" maxlength="200" value="${esc(name || "")}" placeholder="${esc(this.gs)}"></label>
      <label>Tags <input id="label-tags" value="${esc(tags.join(", "))}" placeholder="comma-separated, e.g. baseline, iris"></label>
      <label>Note <textarea id="label-note" rows="4" maxlength="10000">${esc(note || "")}</textarea></label>
      <label>Ingest token <input id="label-token" type="password" autocomplete="off" value="${esc(ingestToken())}"
        placeholder="the board's --ingest_token (none: leave empty)"></label>
      <div class="labels-actions"><button type="submit">Save</button> <button type="button" id="labels-cancel" class="link-button">Cancel</button></div>
      <p id="labels-error" class="error" role="alert" hidden></p></form>`;
    const $ = (sel) => this.el.querySelector(sel);
    $("#label-name").focus();
    $("#labels-cancel").addEventListener("click", () => { this.editing = false; this.render(); });
    $("#labels-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const token = $("#label-token").value.trim();
      // "" clears a field (null would put the run config's value back)
      const body = { name: $("#label-name").value.trim(), tags: parseTags($("#label-tags").value),
                     note: $("#label-note").value.trim() ? $("#label-note").value : "" };
      try {
        const labels = await putJSON(`${gsPath(this.gs)}/labels`, body, token ? { "X-Ingest-Token": token } : {});
        storeIngestToken(token);
        this.editing = false;
        this.labels = labels;
        this.render();
        this.onChange(labels);
      } catch (err) {
        const error = $("#labels-error");
        error.hidden = false;
        error.textContent = err instanceof ApiError && err.status === 401
          ? "The board did not accept this ingest token." : err.message;
      }
    });
  }
}
