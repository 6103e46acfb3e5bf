// The page of one experiment: its score curves (every split overlaid), resolved config (YAML, downloadable), status
// history, error and traceback, checkpoints; refreshed live. The curves come from the grid search's event stream
// read into the dashboard's read model (REST has no per-epoch series), the rest from REST.
import { ApiError, getJSON, gsPath, openEventStream, readEvents } from "./api.js";
import { download, readToken } from "./auth.js";
import { badge, datetime, esc, num, numFormat } from "./format.js";
import { shortPath } from "./experiments_table.js";
import { RunModel } from "./run_model.js";
import { ALL_SPLITS, ChartGrid, chartPrefs } from "./chart_grid.js";
import { nameCrumb } from "./crumbs.js";
import { toYaml } from "./yaml_text.js";

const REFRESH_MS = 400;

/** URL to download a checkpoint whose `path` is relative to the grid search folder ("checkpoints/<exp>/…"). */
export function checkpointUrl(gs, path) {
  const rel = String(path).replace(/^checkpoints\//, "");
  return `${gsPath(gs)}/checkpoints/${rel.split("/").map(encodeURIComponent).join("/")}`;
}

function bytes(n) {
  if (n == null) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** Shows one experiment and re-reads it from the board whenever one of its events arrives. */
export class ExperimentView {
  constructor(live, gs, exp) {
    this.live = live;
    this.gs = gs;
    this.exp = exp;
    this.model = new RunModel(gs);
    this.abort = new AbortController();
    this.frame = 0;
    this.timer = null;
    this.unsubscribe = null;
    this.gone = false;
  }

  mount(el) {
    this.el = el;
    el.innerHTML = `<div class="experiment" data-state="loading"><div id="exp-top"><section class="card"><p class="muted pad">Loading experiment…</p></section></div>
      <section class="card" id="exp-charts-card" hidden><div class="card-head"><h2>Scores over epochs</h2>
        <span class="muted">every split of a score in one chart (dash style per split); drag to zoom, double-click to reset</span>
        <label class="log-toggle small"><input type="checkbox" class="log-y" id="log-y"> log y</label></div>
        <div id="exp-charts" class="charts"></div></section>
      <div id="exp-rest"></div>
      <section class="card" id="config-card" hidden><div class="card-head"><h2>Resolved config</h2>
        <button type="button" class="button" id="config-download">Download YAML</button></div><pre class="config" id="config"></pre></section></div>`;
    this.root = el.querySelector(".experiment");
    this.root.addEventListener("click", (ev) => this.downloadWithToken(ev));
    this.root.querySelector("#config-download").addEventListener("click", () => this.downloadConfig());
    const logY = this.root.querySelector("#log-y");
    logY.checked = chartPrefs.logY;
    logY.addEventListener("change", () => this.charts.setLogY(logY.checked));
    this.charts = new ChartGrid(this.root.querySelector("#exp-charts"), this.model, () => {}, {
      experiments: () => {
        const exp = this.model.experiments.get(this.exp);
        return exp ? [exp] : [];
      },
    });
    this.charts.setSplit(ALL_SPLITS);
    this.start();
  }

  /** With a read token a plain link cannot download (it sends no header): fetch the file with it instead. */
  downloadWithToken(ev) {
    const link = ev.target.closest("a[download]");
    if (!link || !readToken()) return;
    ev.preventDefault();
    const name = link.textContent.split("/").pop();
    download(link.getAttribute("href"), name).catch((err) => { link.title = `download failed: ${err.message}`; });
  }

  unmount() {
    this.gone = true;
    this.abort.abort();
    clearTimeout(this.timer);
    cancelAnimationFrame(this.frame);
    if (this.unsubscribe) this.unsubscribe();
    this.charts.destroy();
  }

  /** The resolved config as YAML, saved as `<experiment id>.config.yml`. */
  downloadConfig() {
    const text = toYaml(this.config ?? {});
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
    a.download = `${this.exp}.config.yml`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  async start() {
    const stream = openEventStream(this.gs, 0, this.abort.signal);
    stream.catch(() => {});
    try {
      const summary = await getJSON(gsPath(this.gs));
      nameCrumb(this.gs, summary.name);
      await this.refresh();
      await readEvents(stream, (events) => this.model.apply(events));
    } catch (err) {
      if (err.name === "AbortError") return;
      return this.fail(err);
    }
    this.drawCharts();
    this.unsubscribe = this.live.subscribe(this.gs, () => this.model.nextSeq(), (events) => {
      const mine = events.some((ev) => ev.experiment_id === this.exp && ev.seq >= this.model.nextSeq());
      if (!this.model.apply(events)) this.live.rejoin(this.gs);
      if (!mine) return;
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.drawCharts(); });
      if (!this.timer) this.timer = setTimeout(() => { this.timer = null; this.refresh().catch(() => {}); }, REFRESH_MS);
    });
  }

  drawCharts() {
    if (this.gone) return;
    const exp = this.model.experiments.get(this.exp);
    this.root.querySelector("#exp-charts-card").hidden = !exp || !exp.series.size;
    this.charts.draw();
  }

  async refresh() {
    const data = await getJSON(`${gsPath(this.gs)}/experiments/${encodeURIComponent(this.exp)}`);
    if (!this.gone) this.render(data);
  }

  fail(err) {
    const missing = err instanceof ApiError && err.status === 404;
    this.root.dataset.state = missing ? "missing" : "error";
    this.root.innerHTML = `<section class="card"><div class="empty ${missing ? "" : "error"}" id="exp-error">
      <h2>${missing ? `Experiment “${esc(this.exp)}” does not exist in grid search “${esc(this.gs)}”` : "Cannot load this experiment"}</h2>
      <p>${esc(err.message)}</p><p><a href="#/gs/${encodeURIComponent(this.gs)}">Back to the grid search</a></p></div></section>`;
  }

  render(d) {
    const decisionText = (dec) => (dec && dec.score != null
      ? ` <span class="muted small">score ${esc(num(dec.score))}${dec.cut != null ? `, rung cut ${esc(num(dec.cut))}` : ""}</span>` : "");
    this.root.dataset.state = "ready";
    this.config = d.config ?? {};
    const hp = Object.entries(d.hyperparameters || {});
    const latest = Object.entries(d.latest || {}).sort();
    const history = d.status_history || [];
    const cps = d.checkpoints || [];
    const alerts = d.alerts || [];
    const sp = d.step_progress;
    const fold = d.fold ? Object.entries(d.fold).filter(([, v]) => v != null).map(([k, v]) => `${k} ${v}`).join(" · ") : "";
    const latestFmt = numFormat(latest.map(([, v]) => v), { trim: false });
    const bestFmt = numFormat(latest.map(([k]) => d.best?.[k]), { trim: false });
    this.root.querySelector("#exp-top").innerHTML = `
      <section class="card"><div class="card-head"><h1 class="mono">${esc(d.experiment_id)}</h1><span id="exp-status">${badge(d.status)}</span></div>
        <div class="stats">
          <div class="stat"><span>Grid point</span><b class="mono">${esc(d.grid_point_id ?? "")}</b></div>
          <div class="stat"><span>Role</span><b>${esc(d.role ?? "")}${fold ? ` <span class="muted">${esc(fold)}</span>` : ""}</b></div>
          <div class="stat"><span>Epoch</span><b>${esc(d.epoch ?? 0)}${d.num_epochs ? ` / ${esc(d.num_epochs)}` : ""}</b></div>
          <div class="stat"><span>Progress</span><b id="exp-progress">${esc(((d.progress ?? 0) * 100).toFixed(0))}%</b></div>
          ${d.trial != null ? `<div class="stat"><span>Trial</span><b id="exp-trial">${esc(d.trial)}</b></div>
          <div class="stat"><span>Search</span><b id="exp-search">${esc(d.search_status ?? "")}${decisionText(d.search_decision)}</b></div>` : ""}
          ${sp ? `<div class="stat" id="exp-step"><span>Last step</span><b>epoch ${esc(sp.epoch)} · step ${esc(sp.step)}${sp.num_steps ? `/${esc(sp.num_steps)}` : ""} · loss ${esc(num(sp.loss))} · lr ${esc(num(sp.lr))}${sp.skipped_steps ? ` · ${esc(sp.skipped_steps)} skipped` : ""}</b></div>` : ""}
          ${hp.map(([k, v]) => `<div class="stat" title="${esc(k)}"><span>${esc(shortPath(k))}</span><b class="mono">${esc(num(v))}</b></div>`).join("")}
        </div></section>
      ${d.status === "failed" || d.error || d.traceback ? `<section class="card failure" id="exp-failure"><h2>Failed</h2>
        <p class="error-text">${esc(d.error || "no error message")}</p>${d.traceback ? `<pre class="trace">${esc(d.traceback)}</pre>` : ""}</section>` : ""}
      ${alerts.length ? `<section class="card" id="exp-alerts"><div class="card-head"><h2>Alerts</h2><span class="muted">${esc(d.num_alerts)} in all</span></div>
        <table class="grid"><thead><tr><th class="num">Epoch</th><th>Action</th><th>Alert</th></tr></thead><tbody>
        ${alerts.map((a) => `<tr><td class="num">${esc(a.epoch ?? "")}</td><td><span class="badge alert-${a.action === "stop" ? "stop" : "warn"}">${esc(a.action ?? "")}</span></td><td>${esc(a.message ?? "")}</td></tr>`).join("")}
        </tbody></table></section>` : ""}`;
    this.root.querySelector("#exp-rest").innerHTML = `
      <div class="two-col">
        <section class="card"><div class="card-head"><h2>Scores</h2><span class="muted">latest · best (epoch ${esc(d.best_epoch ?? "–")})</span></div>
          ${latest.length ? `<table class="grid"><thead><tr><th>Split / name</th><th class="num">Latest</th><th class="num">Best</th></tr></thead><tbody>
          ${latest.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num mono">${esc(latestFmt(v))}</td><td class="num mono strong">${esc(bestFmt(d.best?.[k]))}</td></tr>`).join("")}
          </tbody></table>` : `<p class="muted pad">No scores yet.</p>`}</section>
        <section class="card"><div class="card-head"><h2>Status history</h2></div>
          <table class="grid" id="history"><thead><tr><th class="num">Seq</th><th>Time</th><th>Event</th><th>Status</th></tr></thead><tbody>
          ${history.map((h) => `<tr><td class="num muted">${esc(h.seq)}</td><td>${esc(datetime(h.ts))}</td><td class="small">${esc(h.event_type)}</td><td>${badge(h.status)}</td></tr>`).join("")}
          </tbody></table></section>
      </div>
      <section class="card"><div class="card-head"><h2>Checkpoints</h2></div>
        ${cps.length ? `<table class="grid" id="checkpoints"><thead><tr><th class="num">Epoch</th><th>File</th><th>Action</th><th class="num">Size</th><th>SHA-256</th></tr></thead><tbody>
        ${cps.map((c) => `<tr><td class="num">${esc(c.epoch)}${c.step != null ? ` <span class="muted small">step ${esc(c.step)}</span>` : ""}</td><td>${c.action === "saved" ? `<a class="mono" download href="${esc(checkpointUrl(this.gs, c.path))}">${esc(c.path)}</a>` : `<span class="mono muted">${esc(c.path)}</span>`}</td>
          <td>${esc(c.action)}</td><td class="num">${esc(bytes(c.bytes))}</td><td class="mono small muted">${esc(String(c.sha256 || "").slice(0, 16))}</td></tr>`).join("")}
        </tbody></table>` : `<p class="muted pad">No checkpoints.</p>`}</section>`;
    this.root.querySelector("#config-card").hidden = false;
    this.root.querySelector("#config").textContent = toYaml(this.config);
  }
}
