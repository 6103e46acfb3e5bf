// The step-level training loss: one uPlot chart, one line per experiment over global optimizer steps, from the
// `training_progress` events. The model keeps every point (exp.steps); the chart draws at most MAX_POINTS per line,
// keeping each bucket's lowest and highest point so spikes stay visible.
import uPlot from "./vendor/uPlot.esm.js";
import { colorOf } from "./palette.js";
import { axisValues, esc, numFormat } from "./format.js";
import { chartPrefs, logRange, positiveOnly, strokeOnTop } from "./chart_grid.js";

const HEIGHT = 230;
export const MAX_POINTS = 1000;

/** At most ~`max` points of (x, y): each bucket of consecutive points keeps its min and max y, in x order. */
export function downsample(xs, ys, max = MAX_POINTS) {
  const n = xs.length;
  if (n <= max) return { xs: xs.slice(), ys: ys.slice() };
  const size = Math.ceil(n / Math.floor(max / 2));
  const ox = [], oy = [];
  for (let start = 0; start < n; start += size) {
    const end = Math.min(n, start + size);
    let lo = -1, hi = -1;
    for (let i = start; i < end; i++) {
      if (ys[i] == null) continue;
      if (lo < 0 || ys[i] < ys[lo]) lo = i;
      if (hi < 0 || ys[i] > ys[hi]) hi = i;
    }
    if (lo < 0) { ox.push(xs[start]); oy.push(null); continue; }
    for (const i of lo === hi ? [lo] : [Math.min(lo, hi), Math.max(lo, hi)]) { ox.push(xs[i]); oy.push(ys[i]); }
  }
  return { xs: ox, ys: oy };
}

/** uPlot's aligned data from per-line (xs, ys): the union of the xs, null where a line has no point. */
export function align(lines) {
  const all = new Set();
  for (const l of lines) for (const x of l.xs) all.add(x);
  const xs = [...all].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const data = [xs];
  for (const l of lines) {
    const ys = new Array(xs.length).fill(null);
    for (let i = 0; i < l.xs.length; i++) ys[index.get(l.xs[i])] = l.ys[i];
    data.push(ys);
  }
  return data;
}

export class StepChart {
  constructor(el, model) {
    this.el = el;
    this.model = model;
    this.u = null;
    this.lines = 0;
    this.hidden = new Set();
    this.focused = null;
    this.logY = chartPrefs.logY;
    this.best = new Set();
    this.resizer = new ResizeObserver(() => this.resize());
  }

  /** Redraw when a training_progress arrived; returns whether the chart has any point. */
  draw() {
    const m = this.model;
    if (!m.stepsDirty && this.u && this.lines === m.list.length) return true;
    m.stepsDirty = false;
    const has = m.list.some((e) => e.steps.x.length);
    if (!has) {
      this.el.innerHTML = `<p class="muted pad">No training steps logged yet.</p>`;
      this.destroy();
      return false;
    }
    const data = align(m.list.map((e) => downsample(e.steps.x, e.steps.loss)));
    if (this.logY) for (let s = 1; s < data.length; s++) data[s] = positiveOnly(data[s]).ys;
    if (!this.u || this.lines !== m.list.length) this.create(data);
    else this.u.setData(data);
    return true;
  }

  create(data) {
    this.destroy();
    this.el.innerHTML = `<div class="chart-card" data-key="steps"><div class="chart-title"><b>training loss</b>
      <span class="muted">mean of the epoch so far · per optimizer step${this.logY ? " · log scale" : ""}</span></div>
      <div class="chart-body"><div class="tip" hidden></div></div></div>`;
    const body = this.el.querySelector(".chart-body");
    const tip = this.el.querySelector(".tip");
    this.lines = this.model.list.length;
    const axis = { stroke: "#5b6472", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#dfe3e8" } };
    this.u = new uPlot({
      width: Math.max(280, body.clientWidth || 480),
      height: HEIGHT,
      legend: { show: false },
      focus: { alpha: 0.15 },
      cursor: { focus: { prox: 24 }, points: { one: true, size: 8 }, drag: { x: true, y: false } },
      scales: { x: { time: false }, y: this.logY ? { distr: 3, log: 10, range: logRange } : {} },
      axes: [{ label: "step", labelSize: 22, ...axis }, { size: 62, ...axis, values: axisValues }],
      series: [{ label: "step" }, ...this.model.list.map((exp) => ({
        label: exp.id, stroke: colorOf(exp.index), width: 1.4, spanGaps: true, show: !this.hidden.has(exp.id),
      }))],
      hooks: { setCursor: [(u) => this.tooltip(u, tip)], draw: [(u) => this.drawBest(u)] },
    }, data, body);
    this.resizer.observe(this.el);
    if (this.focused != null) this.focus(this.focused);
  }

  tooltip(u, tip) {
    const i = u.cursor.idx;
    if (i == null || u.cursor.left < 0) { tip.hidden = true; return; }
    const shown = [];
    for (let s = 1; s < u.data.length && shown.length < 4; s++) if (u.data[s][i] != null && u.series[s].show) shown.push(s);
    const fmt = numFormat(shown.map((s) => u.data[s][i]));
    const parts = shown.map((s) => `<span class="mono">${esc(u.series[s].label)}</span> <b>${esc(fmt(u.data[s][i]))}</b>`);
    tip.innerHTML = `<span class="muted">step ${u.data[0][i]}</span> ${parts.join(" · ") || "no value"}`;
    tip.hidden = false;
  }

  setLogY(on) {
    if (on === this.logY) return;
    this.logY = on;
    if (!this.u) return;
    this.destroy();
    this.model.stepsDirty = true;
    this.draw();
  }

  /** The best experiment's line once more, thicker, on top (as in the score charts). */
  setBest(ids) {
    const same = ids.size === this.best.size && [...ids].every((id) => this.best.has(id));
    if (same) return;
    this.best = new Set(ids);
    if (this.u) this.u.redraw(false);
  }

  drawBest(u) {
    if (this.best.size) strokeOnTop(u, (s) => this.best.has(u.series[s].label));
  }

  focus(exp) {
    this.focused = exp;
    if (!this.u) return;
    const idx = exp == null ? null : exp.index + 1;
    if (idx == null || idx < this.u.series.length) this.u.setSeries(idx, { focus: true }, false);
  }

  setHidden(hiddenIds) {
    this.hidden = hiddenIds;
    if (!this.u) return;
    this.u.batch(() => {
      for (let s = 1; s < this.u.series.length; s++) {
        const show = !hiddenIds.has(this.model.list[s - 1].id);
        if (this.u.series[s].show !== show) this.u.setSeries(s, { show }, false);
      }
    });
  }

  resize() {
    if (!this.u) return;
    const width = Math.max(280, this.el.querySelector(".chart-body").clientWidth);
    if (Math.abs(width - this.u.width) > 1) this.u.setSize({ width, height: HEIGHT });
  }

  /** For tests: {experiment id: [[step, loss], ...]} as drawn (downsampled). */
  points() {
    if (!this.u) return {};
    const out = {};
    const xs = this.u.data[0];
    for (let s = 1; s < this.u.data.length; s++) {
      const pts = [];
      for (let i = 0; i < xs.length; i++) if (this.u.data[s][i] != null) pts.push([xs[i], this.u.data[s][i]]);
      out[this.u.series[s].label] = pts;
    }
    return out;
  }

  destroy() {
    this.resizer.disconnect();
    if (this.u) this.u.destroy();
    this.u = null;
    this.lines = 0;
  }
}
