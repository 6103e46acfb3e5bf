// The charts of a large grid search (run_view.js, LARGE_ABOVE): per score key of the chosen split, a shaded band
// (the 10-90% quantiles and the median of every experiment, per epoch: GET .../series/band) and at most
// HIGHLIGHTED lines (the best by the selection, then the best by the table's metric among the rows its filter
// keeps, then the hovered row), each a series the board downsampled to the chart's pixels (GET .../series: every
// value drawn is a logged one). Nothing is drawn per experiment beyond these lines, so thousands of experiments cost
// what a dozen do (series_store.js keeps what the board sent). Live: new points of a drawn line are added as the
// read model applies them; bands (and which lines are the best) are asked for again at most every BAND_REFRESH_MS
// while scores arrive. Drag to zoom asks for the zoomed window's exact points.
import uPlot from "./vendor/uPlot.esm.js";
import { SeriesStore } from "./series_store.js";
import { colorOf } from "./palette.js";
import { axisValues, esc, numFormat } from "./format.js";
import { Legend } from "./legend.js";
import { HEIGHT, chartPrefs, fitCharts, logRange, strokeOnTop } from "./chart_grid.js";

export const HIGHLIGHTED = 10;            // lines per chart at most (+ the hovered row's)
export const BAND_REFRESH_MS = 2000;      // a band is asked for again at most this often while scores arrive
const RANK_DEBOUNCE_MS = 150;             // after a filter keystroke, wait this long before asking for other lines
const HOVER_DEBOUNCE_MS = 80;
const BAND_FILL = "rgba(91, 100, 114, 0.16)";
const BAND_EDGE = "rgba(91, 100, 114, 0.35)";
const MEDIAN = "rgba(60, 66, 78, 0.75)";

const byName = (a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "metric" ? -1 : 1);

/** The charts of a large grid search: bands for everyone, lines for a few; focus shared with the table. */
export class BandCharts {
  /** `model`: the page's RunModel (seeded from the board's table); `onFocus(exp | null)`: a line under the pointer. */
  constructor(el, model, gs, onFocus) {
    this.el = el;
    this.model = model;
    this.gs = gs;
    this.onFocus = onFocus;
    this.split = null;
    this.rankKey = null;            // the table's metric: lines are the best by it
    this.logY = chartPrefs.logY;
    this.hidden = new Set();        // experiment ids the table's filter hides: never drawn as lines
    this.best = new Set();          // RunModel.best().ids: drawn first, thicker
    this.hovered = null;            // an Experiment or null
    this.data = new SeriesStore(gs);  // bands, series and zoom windows the board sent
    this.bandTimers = new Map();
    this.charts = new Map();        // key -> {u, card, tip, legend, key, lines: [Experiment], band}
    this.lines = [];                // the highlighted experiments, in drawing order
    this.generation = 0;
    this.builtVersion = -1;
    this.pending = Promise.resolve();
    this.resizer = new ResizeObserver(() => this.resize());
  }

  get requests() { return this.data.requests; }
  get zoomed() { return this.data.zoomed; }
  get askedPoints() { return this.data.askedPoints; }

  keysOfSplit() {
    return [...this.model.keys.values()].filter((k) => k.split === this.split).sort(byName);
  }

  /** The experiments drawn as lines: best first, then the best by `rankKey` the filter keeps, then the hovered. */
  chooseLines() {
    const out = [];
    const seen = new Set();
    const add = (exp) => { if (exp && !seen.has(exp.id) && !this.hidden.has(exp.id)) { seen.add(exp.id); out.push(exp); } };
    for (const id of this.best) add(this.model.experiments.get(id));
    const key = this.rankKey;
    if (key) {
      const sign = this.model.modeOf(key) === "min" ? 1 : -1;
      const ranked = this.model.list.filter((e) => e.best[key] != null && !this.hidden.has(e.id));
      ranked.sort((a, b) => sign * (a.best[key] - b.best[key]) || a.index - b.index);
      for (const e of ranked) { if (out.length >= HIGHLIGHTED) break; add(e); }
    }
    const ranked = out.length;
    if (this.hovered) add(this.hovered);
    out.hoveredExtra = out.length > ranked;  // the last line is there only because its row is hovered
    return out;
  }

  setSplit(split) {
    if (split === this.split) return this.pending;
    this.split = split;
    return this.refresh();
  }

  setRankKey(key) {
    if (key === this.rankKey) return this.pending;
    this.rankKey = key;
    return this.refresh();
  }

  setLogY(on) {
    if (on === this.logY) return;
    this.logY = chartPrefs.logY = on;
    this.rebuild();
  }

  /** Which experiments are drawn as best; lines are chosen again when that changes. */
  setBest(ids) {
    const same = ids.size === this.best.size && [...ids].every((id) => this.best.has(id));
    if (same) return;
    this.best = new Set(ids);
    this.later(() => this.refresh());
  }

  /** The table's filter changed: lines are chosen again once typing pauses (a keystroke costs nothing here). */
  setHidden(hiddenIds) {
    this.hidden = hiddenIds;
    this.later(() => this.refresh());
  }

  later(fn, ms = RANK_DEBOUNCE_MS) {
    clearTimeout(this.laterTimer);
    this.laterTimer = setTimeout(fn, ms);
  }

  /** A row (or line) under the pointer: its line is emphasised, asked for first if it is not drawn. */
  focus(exp) {
    this.hovered = exp;
    if (exp && !this.lines.includes(exp)) {
      clearTimeout(this.hoverTimer);
      this.hoverTimer = setTimeout(() => this.refresh(), HOVER_DEBOUNCE_MS);
      return;
    }
    this.emphasise();
  }

  emphasise() {
    const i = this.hovered ? this.lines.indexOf(this.hovered) : -1;
    for (const c of this.charts.values()) {
      c.u.setSeries(i < 0 ? null : 4 + i, { focus: true }, false);
      this.updateLegend(c);
    }
  }

  /** Ask for what the current split, lines and zoom need and not held yet, then draw. Resolves once drawn. */
  refresh() {
    const generation = ++this.generation;
    const keys = this.keysOfSplit();
    const lines = this.chooseLines();
    const asks = [];
    for (const k of keys) {
      if (!this.data.bands.has(k.key)) asks.push(this.data.fetchBand(k.key));
      const missing = this.data.missing(k.key, lines.map((e) => e.id));
      if (missing.length) asks.push(this.data.fetchSeries(k.key, missing, this.points()));
    }
    this.pending = Promise.all(asks).then(() => {
      if (generation !== this.generation) return this.pending;  // asked again meanwhile: that one draws
      const ids = (list) => list.map((e) => e.id).join(",");
      const same = ids(lines) === ids(this.lines) && keys.map((k) => k.key).join("|") === [...this.charts.keys()].join("|");
      this.lines = lines;
      this.hoveredExtra = lines.hoveredExtra;
      if (same && this.charts.size) for (const c of this.charts.values()) this.setData(c);  // no rebuild: no flicker
      else this.rebuild();
      this.drawnAt = performance.now();
      return undefined;
    }, (err) => {
      // the board is unreachable or the grid search went away: keep what is drawn, say why; the next change retries
      if (generation !== this.generation) return this.pending;
      const note = this.el.querySelector(".band-note") || this.el;
      if (!this.charts.size) this.el.innerHTML = `<p class="muted pad" id="no-charts">Cannot load the charts: ${esc(err.message)}</p>`;
      else note.textContent = `Cannot load the charts: ${err.message}`;
      return undefined;
    });
    return this.pending;
  }

  /** Live scores of the key the lines are ranked by may change which are the best: chosen again at a bounded rate. */
  rerankLater() {
    if (this.rerankTimer) return;
    this.rerankTimer = setTimeout(() => { this.rerankTimer = 0; this.refresh(); }, BAND_REFRESH_MS);
  }

  /** Points per line asked of the board: a chart's width in pixels, twice (a min and a max per pixel bucket). */
  points() {
    const body = this.el.querySelector(".chart-body");
    const width = body ? body.clientWidth : Math.min(this.el.clientWidth || 960, 640);
    return Math.max(64, Math.min(4000, 2 * Math.round(width)));
  }

  /** Called every animation frame the model changed: new keys -> charts; new points -> lines now, bands later. */
  draw() {
    if (this.builtVersion !== this.model.structureVersion && this.split) {
      this.builtVersion = this.model.structureVersion;
      const shown = [...this.charts.keys()].join("|");
      if (this.keysOfSplit().map((k) => k.key).join("|") !== shown) { this.refresh(); this.model.dirtyKeys.clear(); return; }
    }
    if (this.rankKey && this.model.dirtyKeys.has(this.rankKey)) this.rerankLater();
    for (const key of this.model.dirtyKeys) {
      const c = this.charts.get(key);
      if (!c) { this.data.bands.delete(key); continue; }  // not shown: asked for again when it is
      this.setData(c);
      this.refreshBandLater(key);
    }
    this.model.dirtyKeys.clear();
  }

  refreshBandLater(key) {
    if (this.bandTimers.has(key)) return;
    const wait = Math.max(0, BAND_REFRESH_MS - (performance.now() - (this.data.bandAsked.get(key) ?? 0)));
    this.bandTimers.set(key, setTimeout(async () => {
      this.bandTimers.delete(key);
      try { await this.data.fetchBand(key); } catch (_) { return; }  // the next score asks again
      const c = this.charts.get(key);
      if (c) this.setData(c);
    }, wait));
  }

  setData(c) {
    c.u.setData(this.data.aligned(c.key, c.lines, this.logY));
    this.updateLegend(c);
  }

  rebuild() {
    this.destroyCharts();
    const keys = this.keysOfSplit();
    if (!keys.length) {
      this.el.innerHTML = `<p class="muted pad" id="no-charts">No ${this.split ? `${esc(this.split)} ` : ""}scores logged yet.</p>`;
      return;
    }
    this.el.innerHTML = "";
    for (const k of keys) this.charts.set(k.key, this.create(k));
    this.emphasise();
  }

  create(k) {
    const card = document.createElement("div");
    card.className = "chart-card band-chart";
    card.dataset.key = k.key;
    const mode = this.model.modeOf(k.key) === "min" ? "lower is better" : "higher is better";
    card.innerHTML = `<div class="chart-title"><b>${esc(k.name)}</b><span class="muted">${esc(k.split)} · ${k.kind} · ${mode}${this.logY ? " · log scale" : ""}</span></div>
      <div class="chart-legend small"></div><div class="band-note small muted"></div>
      <div class="chart-body"><div class="tip" hidden></div></div>`;
    this.el.appendChild(card);
    const body = card.querySelector(".chart-body");
    const lines = this.lines.slice();
    const c = { card, key: k.key, lines, tip: card.querySelector(".tip"), legend: new Legend(card.querySelector(".chart-legend")), cursorIdx: null };
    const axis = { stroke: "#5b6472", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#dfe3e8" } };
    const edge = (label) => ({ label, stroke: BAND_EDGE, width: 1, spanGaps: true, points: { show: false } });
    const opts = {
      width: Math.max(280, body.clientWidth || 480),
      height: HEIGHT,
      legend: { show: false },
      focus: { alpha: 0.3 },
      cursor: { focus: { prox: 24 }, points: { one: true, size: 8 }, drag: { x: true, y: false } },
      scales: { x: { time: false }, y: this.logY ? { distr: 3, log: 10, range: logRange } : {} },
      axes: [
        { label: "epoch", labelSize: 22, incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000], ...axis },
        { size: 62, ...axis, values: axisValues },
      ],
      bands: [{ series: [2, 1], fill: BAND_FILL }],
      series: [{ label: "epoch" }, edge("10%"), edge("90%"),
        { label: "median", stroke: MEDIAN, width: 1.4, dash: [5, 4], spanGaps: true, points: { show: false } },
        ...lines.map((e) => ({ label: e.id, stroke: colorOf(e.index), width: 1.6, spanGaps: true }))],
      hooks: {
        setSeries: [(u, idx) => this.onSeriesFocus(c, idx)],
        setCursor: [(u) => { this.tooltip(u, c); this.cursorMoved(c); }],
        setSelect: [(u) => this.zoom(c, u)],
        draw: [(u) => { if (this.best.size) strokeOnTop(u, (s) => s >= 4 && this.best.has(c.lines[s - 4].id)); }],
      },
    };
    c.u = new uPlot(opts, this.data.aligned(k.key, lines, this.logY), body);
    body.addEventListener("dblclick", () => this.unzoom(c.key));  // uPlot resets the scale itself
    // only the pointer over a chart moves the focus: uPlot also calls setSeries(null) when it builds or redraws
    body.addEventListener("mouseenter", () => { this.overChart = c; });
    body.addEventListener("mouseleave", () => {
      if (this.overChart !== c) return;
      this.overChart = null;
      if (this.hovered) { this.hovered = null; this.emphasise(); this.onFocus(null); }
    });
    this.updateLegend(c);
    this.resizer.observe(card);
    return c;
  }

  onSeriesFocus(c, idx) {
    if (this.overChart !== c) return;
    const exp = idx != null && idx >= 4 ? c.lines[idx - 4] ?? null : null;
    if (exp !== this.hovered) {
      this.hovered = exp;
      for (const other of this.charts.values()) if (other !== c) other.u.setSeries(idx, { focus: true }, false);
      this.onFocus(exp);
    }
  }

  /** Drag-zoom: the lines' exact points inside the window are asked for (a zoom of a long run shows each epoch). */
  async zoom(c, u) {
    if (u.select.width < 4) return;
    const from = Math.max(0, Math.floor(u.posToVal(u.select.left, "x")));
    const to = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
    const window = { from, to, series: new Map() };
    try { await this.data.fetchSeries(c.key, c.lines.map((e) => e.id), this.points(), window); } catch (_) { return; }
    this.data.zoomed.set(c.key, window);
    const chart = this.charts.get(c.key);
    if (chart) {
      this.setData(chart);
      chart.u.setScale("x", { min: from, max: to });
    }
  }

  unzoom(key) {
    if (!this.data.zoomed.delete(key)) return;
    const c = this.charts.get(key);
    if (c) this.setData(c);
  }

  tooltip(u, c) {
    const i = u.cursor.idx;
    if (i == null || u.cursor.left < 0) { c.tip.hidden = true; return; }
    const epoch = u.data[0][i];
    const k = this.hovered ? c.lines.indexOf(this.hovered) : -1;
    let body;
    if (k >= 0 && u.data[4 + k][i] != null) {
      const v = u.data[4 + k][i];
      body = `<i style="background:${colorOf(this.hovered.index)}"></i><span class="mono">${esc(this.hovered.id)}</span> <b>${esc(numFormat([v])(v))}</b>`;
    } else {
      const band = this.data.bands.get(c.key);
      const j = band ? band.epochs.indexOf(epoch) : -1;
      if (j < 0) body = "no band here";
      else {
        const [lo, mid, hi] = band.values.map((vs) => vs[j]);
        const fmt = numFormat([lo, mid, hi]);
        body = `median <b>${esc(fmt(mid))}</b> · 10–90% ${esc(fmt(lo))} – ${esc(fmt(hi))} · ${band.counts[j]} experiments`;
      }
    }
    c.tip.innerHTML = `<span class="muted">epoch ${epoch}</span> ${body}`;
    c.tip.hidden = false;
  }

  cursorMoved(c) {
    const i = c.u.cursor.left < 0 ? null : c.u.cursor.idx;
    if (i === c.cursorIdx) return;
    c.cursorIdx = i;
    this.updateLegend(c);
  }

  updateLegend(c) {
    const data = c.u.data;
    const valueAt = (s) => {
      const ys = data[s];
      if (!ys) return null;
      if (c.cursorIdx != null) return ys[c.cursorIdx];
      for (let i = ys.length - 1; i >= 0; i--) if (ys[i] != null) return ys[i];
      return null;
    };
    const values = c.lines.map((_, j) => valueAt(4 + j));
    const fmt = numFormat(values, { trim: false });
    c.legend.render(c.lines.map((e, j) => ({
      id: e.id, color: colorOf(e.index), values: values[j] == null ? "" : fmt(values[j]),
      mark: this.best.has(e.id) ? "best" : e === this.hovered ? "focus" : "",
    })));
    const band = this.data.bands.get(c.key);
    const n = band && band.counts.length ? Math.max(...band.counts) : 0;
    const zoom = this.data.zoomed.get(c.key);
    c.card.querySelector(".band-note").textContent = `shaded: 10–90% of ${n.toLocaleString()} experiments, dashed: median; `
      + `lines: the ${c.lines.length - (this.hoveredExtra ? 1 : 0)} best by ${this.rankKey ?? "the selection"}`
      + `${this.hidden.size ? " among the filtered rows" : ""}${this.hoveredExtra ? " and the hovered row" : ""}`
      + (zoom ? ` · epochs ${zoom.from}–${zoom.to}, every point (double-click to reset)` : "");
  }

  resize() {
    fitCharts(this.charts.values());
  }

  /** For tests: {lines: {id: [[epoch, value], ...]}, band: {epochs, lo, median, hi, counts}, best: [ids]}. */
  pointsOf(key) {
    const c = this.charts.get(key);
    if (!c) return null;
    const lines = {};
    c.lines.forEach((e, j) => {
      const ys = c.u.data[4 + j];
      lines[e.id] = c.u.data[0].map((x, i) => [x, ys[i]]).filter(([, v]) => v != null);
    });
    const band = this.data.bands.get(key);
    return { lines, band: band && { epochs: band.epochs, lo: band.values[0], median: band.values[1], hi: band.values[2], counts: band.counts },
      best: c.lines.filter((e) => this.best.has(e.id)).map((e) => e.id) };
  }

  destroyCharts() {
    this.resizer.disconnect();
    for (const { u } of this.charts.values()) u.destroy();
    this.charts.clear();
  }

  destroy() {
    clearTimeout(this.laterTimer);
    clearTimeout(this.hoverTimer);
    clearTimeout(this.rerankTimer);
    for (const t of this.bandTimers.values()) clearTimeout(t);
    this.destroyCharts();
  }
}
