// The page of one grid search: summary, experiments table, CV summary and charts; replayed, then live.
import { ApiError, getJSON, gsPath, openEventStream, readEvents } from "./api.js";
import { RunModel } from "./run_model.js";
import { ExperimentsTable } from "./experiments_table.js";
import { ALL_SPLITS, ChartGrid, chartPrefs } from "./chart_grid.js";
import { BandCharts } from "./band_charts.js";
import { seededModel } from "./table_seed.js";
import { StepChart } from "./step_chart.js";
import { renderCvSummary } from "./cv_summary.js";
import { SearchView } from "./search_view.js";
import { LabelsCard } from "./labels.js";
import { GridSearchActions } from "./gs_actions.js";
import { nameCrumb } from "./crumbs.js";
import { badge, datetime, duration, esc } from "./format.js";

const TABLE_MS = 200;   // the table and summary redraw at most this often; charts redraw every animation frame
// Above this many experiments the page does not replay the log: it starts from the board's table (one compact
// answer, GET .../table) and draws bands and a few lines the board downsampled (band_charts.js); docs/design.md.
// sessionStorage `mlboard.large_above` overrides it for this tab (bench/board_scale.py --replay measures the replay).
export const LARGE_ABOVE = 200;

function largeAbove() {
  const given = Number(sessionStorage.getItem("mlboard.large_above"));
  return given > 0 ? given : LARGE_ABOVE;
}

/**
 * Shows one grid search: replays its stored events over NDJSON (a large one: starts from the board's table), then
 * follows the live feed.
 */
export class RunView {
  constructor(live, gs) {
    this.live = live;
    this.gs = gs;
    this.model = new RunModel(gs);
    this.frame = 0;
    this.tableTimer = null;
    this.lastTable = 0;
    this.ready = false;
    this.unsubscribe = null;
    this.abort = new AbortController();
    this.options = "";
  }

  mount(el) {
    this.el = el;
    el.innerHTML = `<div class="run" data-state="loading">
      <section class="card" id="run-head"><p class="muted pad">Loading grid search…</p></section>
      <section class="card labels-card" id="labels-card" hidden><div id="labels-body"></div><div id="gs-actions-box"></div></section>
      <section class="card" id="run-body" hidden>
        <div class="toolbar">
          <label>Metric <select id="metric"></select></label>
          <label>Split <select id="split"></select></label>
          <label class="grow">Filter <input id="filter" type="search" placeholder="id, status or lr=0.01 …" autocomplete="off"></label>
          <label>Status <select id="status-filter">
            <option value="all">all</option><option value="running">running</option><option value="done">done</option>
            <option value="failed">failed</option><option value="scheduled">scheduled</option><option value="paused">paused</option></select></label>
        </div>
        <div id="table" class="table-wrap"></div>
      </section>
      <section class="card" id="search-card" hidden></section>
      <section class="card" id="alerts-card" hidden></section>
      <section class="card" id="cv" hidden></section>
      <section class="card" id="steps-card" hidden><div class="card-head"><h2>Training loss over steps</h2>
        <span class="muted">from training_progress events; long runs are drawn with each stretch's lowest and highest point</span>
        <label class="log-toggle small"><input type="checkbox" class="log-y"> log y</label></div>
        <div id="steps" class="charts"></div></section>
      <section class="card" id="charts-card" hidden><div class="card-head"><h2>Scores over epochs</h2>
        <span class="muted">hover a line to see its values; hover a row to find its lines; drag to zoom, double-click to reset; ★ the best by the selection, drawn on top</span>
        <label class="log-toggle small"><input type="checkbox" class="log-y" id="log-y"> log y</label></div>
        <div id="charts" class="charts"></div></section>
    </div>`;
    this.root = el.querySelector(".run");
    this.start();
  }

  unmount() {
    this.abort.abort();
    cancelAnimationFrame(this.frame);
    cancelAnimationFrame(this.hoverFrame);
    clearTimeout(this.tableTimer);
    if (this.unsubscribe) this.unsubscribe();
    if (this.charts) this.charts.destroy();
    if (this.steps) this.steps.destroy();
    if (this.search) this.search.destroy();
    if (this.offChanged) this.offChanged();
  }

  async start() {
    // The summary says how large the grid search is, hence whether to replay its log or start from its table.
    let summary;
    try {
      summary = await getJSON(gsPath(this.gs));
    } catch (err) {
      this.abort.abort();
      return this.fail(err);
    }
    this.large = summary.num_experiments > largeAbove();
    const stream = this.large ? null : openEventStream(this.gs, 0, this.abort.signal);
    if (stream) stream.catch(() => {});
    this.summary = summary;
    this.labels = { name: summary.name, tags: summary.tags || [], note: summary.note };
    if (summary.name) document.title = `${summary.name} · MLboard`;
    nameCrumb(this.gs, summary.name);
    this.root.querySelector("#labels-card").hidden = false;
    this.labelsCard = new LabelsCard(this.root.querySelector("#labels-body"), this.gs, this.labels,
                                     (labels) => this.setLabels(labels));
    this.actions = new GridSearchActions(this.root.querySelector("#gs-actions-box"), this.gs, summary.archived, {
      onArchived: () => {},
      onDeleted: () => { location.hash = "#/"; },
    });
    // another tab's edit is announced with the new labels, archive flag, or deletion
    this.offChanged = this.live.onGridSearchesChanged((msg) => {
      if (msg.grid_search_id !== this.gs) return;
      if (msg.labels) { this.setLabels(msg.labels); this.labelsCard.update(msg.labels); }
      if (msg.archived != null) this.actions.setArchived(msg.archived);
      if (msg.deleted) this.showDeleted();
    });
    if (this.large) return this.startLarge();
    this.setupParts();
    try {
      await readEvents(stream, (events) => { this.model.apply(events); this.schedule(); });
    } catch (err) {
      if (err.name === "AbortError") return;
      return this.fail(err);
    }
    this.unsubscribe = this.live.subscribe(this.gs, () => this.model.nextSeq(), (events) => this.onLive(events));
    this.replayed = true;
    this.schedule();
  }

  /** A large grid search: the read model seeded from the board's table, charts from downsampled series and bands;
   * the live feed from the table's seq on (a gap is asked for again by the model, as after a replay). */
  async startLarge() {
    const head = this.root.querySelector("#run-head p");
    if (head) head.textContent = `Loading ${this.summary.num_experiments.toLocaleString()} experiments…`;
    try {
      this.model = seededModel(this.gs, await getJSON(`${gsPath(this.gs)}/table`));
      if (this.abort.signal.aborted) return;
      this.setupParts();
      const m = this.model;
      this.key = m.defaultKey();
      this.charts.rankKey = this.key;
      this.charts.best = m.best().ids;  // the first lines drawn include the best
      if (this.key) await this.charts.setSplit(m.keys.get(this.key).split);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      return this.fail(err);
    }
    if (this.abort.signal.aborted) return;
    this.unsubscribe = this.live.subscribe(this.gs, () => this.model.nextSeq(), (events) => this.onLive(events));
    this.replayed = true;
    this.schedule();
  }

  fail(err) {
    const missing = err instanceof ApiError && err.status === 404;
    this.root.dataset.state = missing ? "missing" : "error";
    this.root.innerHTML = `<section class="card"><div class="empty ${missing ? "" : "error"}" id="run-error">
      <h2>${missing ? `Grid search “${esc(this.gs)}” does not exist` : "Cannot load this grid search"}</h2>
      <p>${esc(err.message)}</p><p><a href="#/">Back to all grid searches</a></p></div></section>`;
  }

  /** Deleted from the board (here or in another tab): nothing is left to show. */
  showDeleted() {
    this.unmount();
    this.root.dataset.state = "deleted";
    this.root.innerHTML = `<section class="card"><div class="empty" id="run-deleted">
      <h2>Grid search “${esc(this.gs)}” was deleted from this board</h2>
      <p><a href="#/">Back to all grid searches</a></p></div></section>`;
  }

  setupParts() {
    const $ = (sel) => this.root.querySelector(sel);
    this.root.querySelector("#run-body").hidden = false;
    this.root.querySelector("#charts-card").hidden = false;
    this.table = new ExperimentsTable($("#table"), this.model, {
      onHover: (exp) => this.hover(exp),
      onFilter: (hidden) => { this.charts.setHidden(hidden); this.steps.setHidden(hidden); },
      linkOf: (exp) => `#/gs/${encodeURIComponent(this.gs)}/exp/${encodeURIComponent(exp.id)}`,
    });
    this.charts = this.large ? new BandCharts($("#charts"), this.model, this.gs, (exp) => this.table.highlight(exp))
      : new ChartGrid($("#charts"), this.model, (exp) => this.table.highlight(exp));
    this.steps = new StepChart($("#steps"), this.model);
    this.search = new SearchView($("#search-card"), this.model, {
      paths: () => this.table.sweepPaths(),
      linkOf: (exp) => `#/gs/${encodeURIComponent(this.gs)}/exp/${encodeURIComponent(exp.id)}`,
    });
    $("#metric").addEventListener("change", (e) => { this.key = e.target.value; this.renderTable(); });
    $("#split").addEventListener("change", (e) => { this.charts.setSplit(e.target.value); this.schedule(); });
    for (const box of this.root.querySelectorAll(".log-y")) {
      box.checked = chartPrefs.logY;
      box.addEventListener("change", (e) => this.setLogY(e.target.checked));
    }
    const filter = () => this.table.setQuery($("#filter").value, $("#status-filter").value);
    $("#filter").addEventListener("input", filter);
    $("#status-filter").addEventListener("change", filter);
  }

  /** A row under the pointer: marked at once; its lines emphasised once per frame (a redraw of every line). */
  hover(exp) {
    this.table.highlight(exp);
    this.hovered = exp;
    if (this.hoverFrame) return;
    this.hoverFrame = requestAnimationFrame(() => {
      this.hoverFrame = 0;
      this.charts.focus(this.hovered);
      this.steps.focus(this.hovered);
    });
  }

  onLive(events) {
    try {
      if (!this.model.apply(events)) this.live.rejoin(this.gs);
    } catch (err) {
      if (this.unsubscribe) this.unsubscribe();
      return this.fail(err);
    }
    this.schedule();
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.frame = 0;
    const m = this.model;
    if (!this.replayed) {
      // While the stored events stream in, only count them: the picture is drawn once, from the full replay.
      const head = this.root.querySelector("#run-head p");
      if (head) head.textContent = `Loading grid search… ${m.applied.toLocaleString()} events`;
      return;
    }
    if (!this.key && m.keys.size) this.key = m.defaultKey();
    if (!this.charts.split && this.key) this.charts.setSplit(m.keys.get(this.key).split);
    if (m.structureVersion !== this.optionsVersion) this.renderOptions();
    this.charts.draw();
    const wait = TABLE_MS - (performance.now() - this.lastTable);
    if (!this.ready || wait <= 0) this.renderTable();
    else if (!this.tableTimer) this.tableTimer = setTimeout(() => { this.tableTimer = null; this.renderTable(); }, wait);
    if (!this.ready) {
      this.ready = true;
      // Marked on the next frame, once the replayed picture has been painted.
      requestAnimationFrame(() => {
        this.root.dataset.state = "ready";
        window.mlboard.readyAt = performance.now();
      });
    }
    if (window.mlboard.onDraw) window.mlboard.onDraw(m.lastSeq);
  }

  renderOptions() {
    this.optionsVersion = this.model.structureVersion;
    const keys = [...this.model.keys.keys()].sort();
    const splits = [...this.model.splits].sort();
    const metric = this.root.querySelector("#metric");
    const split = this.root.querySelector("#split");
    metric.innerHTML = keys.map((k) => `<option${k === this.key ? " selected" : ""}>${esc(k)}</option>`).join("");
    split.innerHTML = splits.map((s) => `<option${s === this.charts.split ? " selected" : ""}>${esc(s)}</option>`).join("")
      + (splits.length > 1 && !this.large ? `<option value="${ALL_SPLITS}"${this.charts.split === ALL_SPLITS ? " selected" : ""}>all splits (overlay)</option>` : "");
  }

  renderTable() {
    const m = this.model;
    this.lastTable = performance.now();
    if (m.summaryDirty) { this.renderHead(); this.renderAlerts(); }
    if (m.stepsDirty || (this.steps.u && this.steps.lines !== m.list.length)) {
      this.root.querySelector("#steps-card").hidden = !this.steps.draw();
    }
    if (!m.tableDirty && this.table.key === this.key) return;
    this.table.key = this.key;
    const best = m.best();
    this.table.best = best;
    this.charts.setBest(best.ids);
    this.steps.setBest(best.ids);
    this.table.render();
    if (this.large) this.charts.setRankKey(this.key);
    this.search.render();
    renderCvSummary(this.root.querySelector("#cv"), m, this.key, this.table.sweepPaths(), best);
    m.tableDirty = false;
  }

  setLabels(labels) {
    this.labels = labels;
    document.title = `${labels.name || this.gs} · MLboard`;
    nameCrumb(this.gs, labels.name);
    this.model.summaryDirty = true;
    this.schedule();
  }

  /** One y scale for every chart of the page (and the next page of this tab). */
  setLogY(on) {
    for (const box of this.root.querySelectorAll(".log-y")) box.checked = on;
    this.charts.setLogY(on);
    this.steps.setLogY(on);
  }

  renderHead() {
    const m = this.model, s = this.summary;
    const name = this.labels.name;
    m.summaryDirty = false;
    const c = m.counts();
    const status = m.finished ? m.status() : (s.status === "interrupted" ? "interrupted" : m.status());
    const start = m.started ? s.start_ts : null;
    const end = m.finished && m.finished.duration_s != null && start ? start + m.finished.duration_s : m.lastTs;
    const total = m.started?.num_experiments ?? s.num_experiments ?? m.list.length;
    const env = m.started?.environment || {};
    const stat = (label, value, cls = "") => `<div class="stat ${cls}"><span>${label}</span><b>${value}</b></div>`;
    const title = name ? `<h1 id="run-name">${esc(name)}</h1><span class="mono muted">${esc(this.gs)}</span>`
      : `<h1 class="mono" id="run-name">${esc(this.gs)}</h1>`;
    this.root.querySelector("#run-head").innerHTML = `<div class="card-head">${title}
      <span id="run-status">${badge(status)}</span></div>
      <div class="stats">
        ${stat("Strategy", esc(String(m.started?.strategy ?? s.strategy ?? "").replace(/_/g, " ")))}
        ${stat("Started", esc(datetime(start ?? s.start_ts)))}
        ${stat(m.finished ? "Duration" : "Elapsed", esc(duration(end && start ? end - start : null)))}
        ${stat("Experiments", total)}
        ${stat("Done", c.done, "c-done")}${stat("Running", c.running, "c-running")}${stat("Failed", c.failed, "c-failed")}
        ${stat("Scheduled", c.scheduled)}${c.paused ? stat("Paused", c.paused, "c-paused") : ""}
        ${m.numAlerts ? stat("Alerts", `<a href="#alerts-card" class="alert-count">${m.numAlerts}</a>`, "c-alert") : ""}
        ${env.git_commit ? stat("Commit", `<span class="mono">${esc(String(env.git_commit).slice(0, 10))}${env.git_dirty ? " (dirty)" : ""}</span>`) : ""}
      </div>`;
  }

  /** The newest alerts of every experiment (each keeps its last 100), newest first. */
  renderAlerts() {
    const card = this.root.querySelector("#alerts-card");
    const all = [];
    for (const exp of this.model.list) for (const a of exp.alerts) all.push({ exp, a });
    card.hidden = !all.length;
    if (!all.length) return;
    all.sort((x, y) => y.a.seq - x.a.seq);
    const shown = all.slice(0, 20);
    card.innerHTML = `<div class="card-head"><h2>Alerts</h2><span class="muted">${this.model.numAlerts} in all${all.length > 20 ? " · newest 20" : ""}</span></div>
      <table class="grid" id="alerts"><thead><tr><th>Experiment</th><th class="num">Epoch</th><th>Action</th><th>Alert</th></tr></thead><tbody>
      ${shown.map(({ exp, a }) => `<tr data-exp="${esc(exp.id)}"><td class="mono">${esc(exp.id)}</td><td class="num">${esc(a.epoch ?? "")}</td>
        <td><span class="badge alert-${a.action === "stop" ? "stop" : "warn"}">${esc(a.action ?? "")}</span></td><td>${esc(a.message ?? a.when ?? "")}</td></tr>`).join("")}
      </tbody></table>`;
  }

  /** For tests and the benchmark: what the page has applied. */
  stats() {
    const m = this.model;
    return { lastSeq: m.lastSeq, applied: m.applied, duplicates: m.duplicates, gaps: m.gaps, experiments: m.list.length, ready: this.ready,
      large: !!this.large, requests: this.large ? this.charts.requests : null };
  }

  points(key) {
    return this.charts ? this.charts.pointsOf(key) : null;
  }

  stepPoints() {
    return this.steps ? this.steps.points() : null;
  }

  /** The search card's scatters ({path: {axis, distr, points}}) and its compute-saved numbers. */
  searchPoints() {
    return this.search ? { charts: this.search.pointsOf(), saved: this.search.saved } : null;
  }
}
