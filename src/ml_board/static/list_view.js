// The start page: every grid search on the board, newest first, refreshed live; searched, filtered by tag and by
// archive state on the server (GET /api/grid_searches?q=&tag=&archived=). The filter lives in the URL
// ("#/?q=lr&tag=baseline&archived=all"), so a filtered list can be bookmarked and shared.
import { getJSON } from "./api.js";
import { badge, datetime, esc } from "./format.js";
import { tagChips } from "./labels.js";

const POLL_MS = 3000;

/** Lists grid searches with their status and experiment counts. */
export class ListView {
  constructor(live) {
    this.live = live;
    this.timer = null;
    this.pending = null;
    this.off = null;
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    this.query = (params.get("q") || "").trim();
    this.tag = params.get("tag") || "";
    this.archived = ["true", "all"].includes(params.get("archived")) ? params.get("archived") : "false";
    this.asked = 0; // answers to older requests (typing fast) are dropped
  }

  mount(el) {
    this.el = el;
    el.innerHTML = `<section class="card"><div class="card-head"><h1>Grid searches</h1><span class="muted" id="gs-count"></span></div>
      <div class="toolbar"><label class="grow">Search <input id="gs-search" type="search" autocomplete="off"
        placeholder="name, note, tag or id …"></label><span id="gs-tag-filter"></span>
        <label>Show <select id="gs-archived"><option value="false">active</option><option value="true">archived</option>
          <option value="all">all</option></select></label></div>
      <div id="gs-list" data-state="loading"><p class="muted pad">Loading…</p></div></section>`;
    el.querySelector("#gs-search").value = this.query;
    el.querySelector("#gs-archived").value = this.archived;
    el.querySelector("#gs-search").addEventListener("input", (e) => { this.query = e.target.value.trim(); this.refreshSoon(); });
    el.querySelector("#gs-archived").addEventListener("change", (e) => { this.archived = e.target.value; this.refresh(); });
    el.querySelector("#gs-tag-filter").addEventListener("click", (e) => {
      if (e.target.closest("[data-clear-tag]")) this.setTag("");
    });
    el.querySelector("#gs-list").addEventListener("click", (e) => {
      const chip = e.target.closest("[data-tag]");
      if (chip) this.setTag(chip.dataset.tag);
    });
    this.off = this.live.onGridSearchesChanged(() => this.refreshSoon());
    this.showTag();
    this.refresh();
    this.timer = setInterval(() => this.refresh(), POLL_MS);
  }

  unmount() {
    clearInterval(this.timer);
    clearTimeout(this.pending);
    if (this.off) this.off();
  }

  refreshSoon() {
    if (!this.pending) this.pending = setTimeout(() => { this.pending = null; this.refresh(); }, 150);
  }

  setTag(tag) {
    this.tag = tag;
    this.showTag();
    this.refresh();
  }

  showTag() {
    const tag = this.tag;
    this.el.querySelector("#gs-tag-filter").innerHTML = tag
      ? `<span class="chip chip-active" id="gs-active-tag">tag: ${esc(tag)} <button type="button" data-clear-tag
          title="show every tag" aria-label="clear the tag filter">×</button></span>` : "";
  }

  async refresh() {
    const box = this.el.querySelector("#gs-list");
    const params = new URLSearchParams();
    if (this.query) params.set("q", this.query);
    if (this.tag) params.set("tag", this.tag);
    if (this.archived !== "false") params.set("archived", this.archived);
    const query = params.toString();
    const hash = `#/${query ? `?${query}` : ""}`;
    if (location.hash !== hash && routeIsList()) history.replaceState(null, "", hash);
    const asked = ++this.asked;
    try {
      const rows = await getJSON(`/api/grid_searches${query ? `?${query}` : ""}`);
      if (asked !== this.asked) return;
      this.render(box, rows);
    } catch (err) {
      box.dataset.state = "error";
      box.innerHTML = `<div class="empty error"><h2>Cannot load the grid searches</h2><p>${esc(err.message)}</p></div>`;
    }
  }

  render(box, rows) {
    box.dataset.state = "ready";
    const filtered = Boolean(this.query || this.tag || this.archived !== "false");
    this.el.querySelector("#gs-count").textContent = rows.length ? `${rows.length}${filtered ? " found" : " on this board"}` : "";
    if (!rows.length && filtered) {
      box.innerHTML = `<div class="empty" id="no-match"><h2>No grid search matches</h2></div>`;
      return;
    }
    if (!rows.length) {
      box.innerHTML = `<div class="empty" id="no-runs"><h2>No grid searches yet</h2>
        <p>Start one and it appears here live:</p>
        <pre>mlgym train --gs_config_path gs_config.yml --websocket_logging_servers ${esc(location.origin)}</pre></div>`;
      return;
    }
    box.innerHTML = `<table class="grid gs-table"><thead><tr><th>Grid search</th><th>Started</th><th>Strategy</th>
      <th>Status</th><th>Experiments</th><th class="num">Done</th><th class="num">Running</th><th class="num">Failed</th></tr></thead>
      <tbody>${rows.map(row).join("")}</tbody></table>`;
  }
}

/** Still on the list page (an answer may arrive after the user has moved on). */
function routeIsList() {
  return !location.hash.replace(/^#\/?/, "").startsWith("gs/");
}

function row(gs) {
  const total = gs.num_experiments || 0;
  const pct = (n) => (total ? (100 * n) / total : 0).toFixed(1);
  const href = `#/gs/${encodeURIComponent(gs.grid_search_id)}`;
  return `<tr data-gs="${esc(gs.grid_search_id)}">
    <td>${gs.name ? `<a class="strong gs-name" href="${href}">${esc(gs.name)}</a> <span class="mono muted small">${esc(gs.grid_search_id)}</span>`
      : `<a class="mono strong gs-name" href="${href}">${esc(gs.grid_search_id)}</a>`}
      ${gs.archived ? `<span class="badge badge-archived">archived</span>` : ""}
      <div class="chips">${tagChips(gs.tags, true)}</div></td>
    <td>${esc(datetime(gs.start_ts))}</td>
    <td>${esc(String(gs.strategy || "").replace(/_/g, " "))}</td>
    <td>${badge(gs.status)}</td>
    <td><div class="stack" title="${gs.num_done} done, ${gs.num_running} running, ${gs.num_failed} failed of ${total}">
      <i class="s-done" style="width:${pct(gs.num_done)}%"></i><i class="s-running" style="width:${pct(gs.num_running)}%"></i><i class="s-failed" style="width:${pct(gs.num_failed)}%"></i>
      </div><span class="muted small">${total} total</span></td>
    <td class="num c-done">${gs.num_done ?? 0}</td><td class="num c-running">${gs.num_running ?? 0}</td><td class="num c-failed">${gs.num_failed ?? 0}</td>
  </tr>`;
}
