// Line charts of every metric and loss of one split over epochs: one uPlot chart per key, one line per experiment.
import uPlot from "./vendor/uPlot.esm.js";
import { colorOf } from "./palette.js";
import { esc, num } from "./format.js";

const HEIGHT = 230;
let syncCount = 0;

/** The charts of one split; redrawn from the model's arrays, focus shared with the experiments table. */
export class ChartGrid {
  constructor(el, model, onFocus) {
    this.el = el;
    this.model = model;
    this.onFocus = onFocus;
    this.split = null;
    this.charts = new Map();        // key -> {u, card, tip}
    this.hidden = new Set();        // experiment ids hidden by the table filter
    this.focused = null;            // experiment index or null
    this.syncKey = `mlboard-${++syncCount}`;
    this.builtVersion = -1;
    this.resizer = new ResizeObserver(() => this.resize());
  }

  keysOfSplit() {
    return [...this.model.keys.values()]
      .filter((k) => k.split === this.split)
      .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "metric" ? -1 : 1));
  }

  setSplit(split) {
    if (split === this.split) return;
    this.split = split;
    this.builtVersion = -1;
  }

  /** Draw what changed: rebuild when experiments or keys appeared, else only hand new points to the charts. */
  draw() {
    if (this.builtVersion !== this.model.structureVersion) {
      this.rebuild();
      this.model.dirtyKeys.clear();
      return;
    }
    for (const key of this.model.dirtyKeys) {
      const c = this.charts.get(key);
      if (c) c.u.setData(this.dataOf(key));
    }
    this.model.dirtyKeys.clear();
  }

  dataOf(key) {
    return [this.model.xs, ...this.model.seriesOf(key)];
  }

  rebuild() {
    this.destroy();
    this.builtVersion = this.model.structureVersion;
    const keys = this.keysOfSplit();
    if (!keys.length) {
      this.el.innerHTML = `<p class="muted pad" id="no-charts">No ${this.split ? `${esc(this.split)} ` : ""}scores logged yet.</p>`;
      return;
    }
    this.el.innerHTML = "";
    for (const info of keys) this.charts.set(info.key, this.create(info));
    this.applyVisibility();
    if (this.focused != null) this.focus(this.focused);
  }

  create(info) {
    const card = document.createElement("div");
    card.className = "chart-card";
    card.dataset.key = info.key;
    const mode = this.model.modeOf(info.key) === "min" ? "lower is better" : "higher is better";
    card.innerHTML = `<div class="chart-title"><b>${esc(info.name)}</b><span class="muted">${esc(info.split)} · ${info.kind} · ${mode}</span></div>
      <div class="chart-body"><div class="tip" hidden></div></div>`;
    this.el.appendChild(card);
    const body = card.querySelector(".chart-body");
    const tip = card.querySelector(".tip");
    const model = this.model;
    const opts = {
      width: Math.max(280, body.clientWidth || 480),
      height: HEIGHT,
      legend: { show: false },
      focus: { alpha: 0.15 },
      cursor: {
        sync: { key: this.syncKey, setSeries: true },
        focus: { prox: 24 },
        points: { one: true, size: 8 },
        drag: { x: true, y: false },
      },
      scales: {
        x: {
          time: false,
          range: (u, min, max) => {
            const lo = Number.isFinite(model.minEpoch) ? model.minEpoch : 1;
            return [lo, Math.max(lo + 1, max)];
          },
        },
      },
      axes: [
        { label: "epoch", labelSize: 22, incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000], stroke: "#5b6472", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#dfe3e8" } },
        { size: 58, stroke: "#5b6472", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#dfe3e8" }, values: (u, vals) => vals.map(num) },
      ],
      series: [{ label: "epoch" }, ...model.list.map((exp) => ({
        label: exp.id, stroke: colorOf(exp.index), width: 1.6, spanGaps: true,
      }))],
      hooks: {
        setSeries: [(u, idx) => this.onSeriesFocus(idx)],
        setCursor: [(u) => this.tooltip(u, tip)],
      },
    };
    const u = new uPlot(opts, this.dataOf(info.key), body);
    this.resizer.observe(card);
    return { u, card, tip };
  }

  onSeriesFocus(idx) {
    const expIndex = idx == null || idx < 1 ? null : idx - 1;
    if (expIndex === this.focused) return;
    this.focused = expIndex;
    this.onFocus(expIndex == null ? null : this.model.list[expIndex]);
  }

  tooltip(u, tip) {
    const i = u.cursor.idx;
    if (i == null || u.cursor.left < 0) { tip.hidden = true; return; }
    const epoch = u.data[0][i];
    const fs = this.focused == null ? null : this.focused + 1;
    let body;
    if (fs != null && u.data[fs]) {
      const exp = this.model.list[fs - 1];
      body = `<i style="background:${colorOf(exp.index)}"></i><span class="mono">${esc(exp.id)}</span> <b>${num(u.data[fs][i])}</b>`;
    } else {
      let lo = Infinity, hi = -Infinity, n = 0;
      for (let s = 1; s < u.data.length; s++) {
        const v = u.data[s][i];
        if (v != null && u.series[s].show) { n++; if (v < lo) lo = v; if (v > hi) hi = v; }
      }
      body = n ? `${n} experiments · ${num(lo)} – ${num(hi)}` : "no value";
    }
    tip.innerHTML = `<span class="muted">epoch ${epoch}</span> ${body}`;
    tip.hidden = false;
  }

  /** Emphasise one experiment (an Experiment or null) in every chart without firing the focus hooks. */
  focus(exp) {
    this.focused = exp == null ? null : exp.index;
    const idx = exp == null ? null : exp.index + 1;
    for (const { u } of this.charts.values()) {
      if (idx != null && idx >= u.series.length) continue;
      u.setSeries(idx, { focus: true }, false);
    }
  }

  /** Hide the lines of experiments filtered out of the table. */
  setHidden(hiddenIds) {
    this.hidden = hiddenIds;
    this.applyVisibility();
  }

  applyVisibility() {
    for (const { u } of this.charts.values()) {
      u.batch(() => {
        for (let s = 1; s < u.series.length; s++) {
          const show = !this.hidden.has(this.model.list[s - 1].id);
          if (u.series[s].show !== show) u.setSeries(s, { show }, false);
        }
      });
    }
  }

  resize() {
    for (const { u, card } of this.charts.values()) {
      const width = Math.max(280, card.querySelector(".chart-body").clientWidth);
      if (Math.abs(width - u.width) > 1) u.setSize({ width, height: HEIGHT });
    }
  }

  /** What a chart holds, for tests: {experiment id: [[epoch, value], ...]} of its non-null points. */
  pointsOf(key) {
    const c = this.charts.get(key);
    if (!c) return null;
    const out = {};
    const xs = c.u.data[0];
    for (let s = 1; s < c.u.data.length; s++) {
      const pts = [];
      const ys = c.u.data[s];
      for (let i = 0; i < xs.length; i++) if (ys[i] != null) pts.push([xs[i], ys[i]]);
      out[c.u.series[s].label] = pts;
    }
    return out;
  }

  destroy() {
    this.resizer.disconnect();
    for (const { u } of this.charts.values()) u.destroy();
    this.charts.clear();
  }
}
