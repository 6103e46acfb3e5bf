// Line charts of scores over epochs. One split: one uPlot chart per key, one line per experiment. All splits
// (overlay): one chart per score name, one line per experiment and split, the experiment's colour in the split's
// dash style, so train going up while val goes down is one picture. The best experiment's lines are stroked again
// on top, thicker; a compact legend names the lines; the y axis can be logarithmic.
import uPlot from "./vendor/uPlot.esm.js";
import { colorOf } from "./palette.js";
import { axisValues, esc, numFormat } from "./format.js";
import { FULL_LEGEND_MAX, Legend } from "./legend.js";

export const HEIGHT = 230;

/** Each {u, card} chart resized to its card's width (at least 280 px) when that changed. */
export function fitCharts(charts) {
  for (const { u, card } of charts) {
    const width = Math.max(280, card.querySelector(".chart-body").clientWidth);
    if (Math.abs(width - u.width) > 1) u.setSize({ width, height: HEIGHT });
  }
}
export const ALL_SPLITS = "*";
const SPLIT_ORDER = ["train", "val", "test"];
const DASHES = [[], [7, 4], [2, 3], [10, 3, 2, 3], [4, 2]];
const BEST_WIDTH = 3.4;
let syncCount = 0;

/** What stays chosen while the page is open (every view of this tab): the y axis' scale. */
export const chartPrefs = { logY: false };

/** Splits in the order their dash styles are assigned: train, val, test, then the others by name. */
export function orderSplits(splits) {
  const rank = (s) => (SPLIT_ORDER.includes(s) ? SPLIT_ORDER.indexOf(s) : SPLIT_ORDER.length);
  return [...splits].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function dashOf(split, splits) {
  return DASHES[Math.max(0, orderSplits(splits).indexOf(split)) % DASHES.length];
}

/** A log y scale's range: the data's decades; no positive value: [0.1, 1] so the axis still draws. */
export function logRange(u, min, max) {
  if (min == null || max == null || !(min > 0) || !(max > 0)) return [0.1, 1];
  return uPlot.rangeLog(min, max, 10, true);
}

/** For a log axis: values <= 0 become gaps (log of them is undefined); returns the copy and how many were dropped. */
export function positiveOnly(ys) {
  let dropped = 0;
  const out = ys.map((v) => {
    if (v == null) return null;
    if (v > 0) return v;
    dropped++;
    return null;
  });
  return { ys: out, dropped };
}

/** Stroke the lines of the series `wanted(s)` once more, thicker, over every other line (a uPlot draw hook). */
export function strokeOnTop(u, wanted, width = BEST_WIDTH) {
  const ctx = u.ctx;
  const { left, top, width: w, height } = u.bbox;
  const ratio = window.devicePixelRatio || 1;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, w, height);
  ctx.clip();
  for (let s = 1; s < u.series.length; s++) {
    const series = u.series[s];
    const path = series._paths?.stroke;  // the Path2D uPlot just stroked, in canvas pixels
    if (!series.show || !(path instanceof Path2D) || !wanted(s)) continue;
    ctx.globalAlpha = series.alpha ?? 1;
    ctx.strokeStyle = series._stroke;
    ctx.lineWidth = width * ratio;
    ctx.lineJoin = "round";
    ctx.setLineDash((series.dash || []).map((d) => d * ratio));
    ctx.stroke(path);
  }
  ctx.restore();
}

/** The charts of a RunModel: one split or all splits overlaid; focus shared with the experiments table. */
export class ChartGrid {
  /**
   * `experiments()`: the experiments to draw (default every one of the model); `onFocus(exp | null)`: the pointer
   * found an experiment's line.
   */
  constructor(el, model, onFocus, { experiments = null } = {}) {
    this.el = el;
    this.model = model;
    this.onFocus = onFocus;
    this.experiments = experiments || (() => this.model.list);
    this.split = null;
    this.logY = chartPrefs.logY;
    this.charts = new Map();        // chart id (a key, or "*/<name>" overlaid) -> {u, card, tip, legend, lines, info}
    this.hidden = new Set();        // experiment ids hidden by the table filter
    this.best = new Set();          // experiment ids drawn as best
    this.focused = null;            // experiment index or null
    this.syncKey = `mlboard-${++syncCount}`;
    this.builtVersion = -1;
    this.builtExps = -1;
    this.resizer = new ResizeObserver(() => this.resize());
  }

  get overlay() {
    return this.split === ALL_SPLITS;
  }

  /** The charts to draw: [{id, name, kind, splits, lines: [{exp, key, split}]}], metrics first, by name. */
  specs() {
    const exps = this.experiments();
    const keys = [...this.model.keys.values()];
    const byName = (a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "metric" ? -1 : 1);
    if (!this.overlay) {
      return keys.filter((k) => k.split === this.split).sort(byName).map((k) => ({
        id: k.key, name: k.name, kind: k.kind, splits: [k.split], key: k.key,
        lines: exps.map((exp) => ({ exp, key: k.key, split: k.split })) }));
    }
    const names = new Map();
    for (const k of keys) {
      if (!names.has(k.name)) names.set(k.name, { id: `${ALL_SPLITS}/${k.name}`, name: k.name, kind: k.kind, splits: [], key: k.key });
      names.get(k.name).splits.push(k.split);
    }
    return [...names.values()].sort(byName).map((spec) => {
      const splits = orderSplits(spec.splits);
      return { ...spec, splits, lines: exps.flatMap((exp) => splits.map((split) => ({ exp, key: `${split}/${spec.name}`, split }))) };
    });
  }

  setSplit(split) {
    if (split === this.split) return;
    this.split = split;
    this.builtVersion = -1;
  }

  setLogY(on) {
    if (on === this.logY) return;
    this.logY = chartPrefs.logY = on;
    this.builtVersion = -1;
    this.draw();
  }

  /** Draw what changed: rebuild when experiments or keys appeared, else only hand new points to the charts. */
  draw() {
    if (this.builtVersion !== this.model.structureVersion || this.builtExps !== this.experiments().length) {
      this.rebuild();
      this.model.dirtyKeys.clear();
      return;
    }
    const dirty = this.model.dirtyKeys;
    for (const c of this.charts.values()) {
      if (c.info.splits.some((s) => dirty.has(`${s}/${c.info.name}`))) this.setData(c);
    }
    dirty.clear();
  }

  setData(c) {
    const data = [this.model.xs];
    let dropped = 0;
    for (const line of c.lines) {
      const ys = this.model.ysOf(line.exp, line.key);
      if (!this.logY) { data.push(ys); continue; }
      const p = positiveOnly(ys);
      dropped += p.dropped;
      data.push(p.ys);
    }
    c.u.setData(data);
    const note = c.card.querySelector(".log-note");
    note.hidden = !dropped;
    note.textContent = dropped ? `${dropped} value${dropped === 1 ? "" : "s"} ≤ 0 not drawn on the log scale` : "";
    this.updateLegend(c);
  }

  rebuild() {
    this.destroy();
    this.builtVersion = this.model.structureVersion;
    this.builtExps = this.experiments().length;
    const specs = this.specs();
    if (!specs.length) {
      const what = this.split && !this.overlay ? `${esc(this.split)} ` : "";
      this.el.innerHTML = `<p class="muted pad" id="no-charts">No ${what}scores logged yet.</p>`;
      return;
    }
    this.el.innerHTML = "";
    for (const spec of specs) {
      const c = this.create(spec);
      this.charts.set(spec.id, c);
      this.setData(c);
    }
    this.applyVisibility();
    if (this.focused != null) this.focus(this.model.list[this.focused]);
  }

  create(spec) {
    const card = document.createElement("div");
    card.className = "chart-card";
    card.dataset.key = spec.id;
    const mode = this.model.modeOf(spec.key) === "min" ? "lower is better" : "higher is better";
    const where = spec.splits.length > 1 || this.overlay ? spec.splits.join(" · ") : spec.splits[0];
    card.innerHTML = `<div class="chart-title"><b>${esc(spec.name)}</b><span class="muted">${esc(where)} · ${spec.kind} · ${mode}${this.logY ? " · log scale" : ""}</span></div>
      <div class="chart-legend small"></div><div class="log-note small muted" hidden></div>
      <div class="chart-body"><div class="tip" hidden></div></div>`;
    this.el.appendChild(card);
    const body = card.querySelector(".chart-body");
    const tip = card.querySelector(".tip");
    const model = this.model;
    const c = { card, tip, legend: new Legend(card.querySelector(".chart-legend")), lines: spec.lines, info: spec, cursorIdx: null };
    const axis = { stroke: "#5b6472", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#dfe3e8" } };
    const manyLines = spec.lines.length > FULL_LEGEND_MAX;
    const opts = {
      width: Math.max(280, body.clientWidth || 480),
      height: HEIGHT,
      legend: { show: false },
      focus: { alpha: 0.15 },
      cursor: {
        sync: { key: this.syncKey },
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
        y: this.logY ? { distr: 3, log: 10, range: logRange } : {},
      },
      axes: [
        { label: "epoch", labelSize: 22, incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000], ...axis },
        { size: 62, ...axis, values: axisValues },
      ],
      series: [{ label: "epoch" }, ...spec.lines.map((l) => ({
        label: this.overlay ? `${l.exp.id} ${l.split}` : l.exp.id, stroke: colorOf(l.exp.index), width: 1.6, spanGaps: true,
        dash: this.overlay ? dashOf(l.split, spec.splits) : undefined,
        // a dot per epoch costs more than the line itself; with many lines the cursor's dot is enough
        ...(manyLines ? { points: { show: false } } : {}),
      }))],
      hooks: {
        setSeries: [(u, idx) => this.onSeriesFocus(c, idx)],
        setCursor: [(u) => { this.tooltip(u, c); this.cursorMoved(c); }],
        draw: [(u) => this.drawBest(u, c)],
      },
    };
    c.u = new uPlot(opts, [model.xs, ...spec.lines.map(() => [])], body);
    this.resizer.observe(card);
    return c;
  }

  drawBest(u, c) {
    if (this.best.size) strokeOnTop(u, (s) => this.best.has(c.lines[s - 1].exp.id));
  }

  /** The pointer came near a line (or left every line): focus its experiment in every chart and tell the table. */
  onSeriesFocus(c, idx) {
    const exp = idx == null || idx < 1 ? null : c.lines[idx - 1]?.exp ?? null;
    const expIndex = exp ? exp.index : null;
    if (expIndex !== this.focused) {
      this.focus(exp);
      this.onFocus(exp);
    } else if (exp) {
      this.brighten(c, exp);  // uPlot moved its focus to another line of the same experiment and dimmed the rest
    }
  }

  /** uPlot focuses one series; the focused experiment's other lines (its other splits) stay as bright. */
  brighten(c, exp) {
    let n = 0;
    for (let s = 1; s < c.u.series.length; s++) {
      if (c.lines[s - 1].exp === exp && c.u.series[s].alpha !== 1) { c.u.series[s].alpha = 1; n++; }
    }
    if (n) c.u.redraw(false);
  }

  tooltip(u, c) {
    const tip = c.tip;
    const i = u.cursor.idx;
    if (i == null || u.cursor.left < 0) { tip.hidden = true; return; }
    const epoch = u.data[0][i];
    let body;
    const mine = [];
    if (this.focused != null) {
      for (let s = 1; s < u.data.length; s++) if (c.lines[s - 1].exp.index === this.focused) mine.push(s);
    }
    if (mine.length) {
      const exp = c.lines[mine[0] - 1].exp;
      const fmt = numFormat(mine.map((s) => u.data[s][i]));
      const values = mine.map((s) => `${this.overlay ? `${esc(c.lines[s - 1].split)} ` : ""}<b>${esc(fmt(u.data[s][i]))}</b>`).join(" · ");
      body = `<i style="background:${colorOf(exp.index)}"></i><span class="mono">${esc(exp.id)}</span> ${values}`;
    } else {
      let lo = Infinity, hi = -Infinity, n = 0;
      for (let s = 1; s < u.data.length; s++) {
        const v = u.data[s][i];
        if (v != null && u.series[s].show) { n++; if (v < lo) lo = v; if (v > hi) hi = v; }
      }
      const fmt = numFormat([lo, hi]);
      body = n ? `${n} ${this.overlay ? "lines" : "experiments"} · ${esc(fmt(lo))} – ${esc(fmt(hi))}` : "no value";
    }
    tip.innerHTML = `<span class="muted">epoch ${epoch}</span> ${body}`;
    tip.hidden = false;
  }

  cursorMoved(c) {
    const i = c.u.cursor.left < 0 ? null : c.u.cursor.idx;
    if (i === c.cursorIdx) return;
    c.cursorIdx = i;
    this.updateLegend(c);
  }

  /**
   * Few visible experiments: all of them; else the best and the focused one. Each with its value(s) at the cursor's
   * epoch, else at its last evaluated epoch.
   */
  updateLegend(c) {
    const seen = new Map();  // experiment -> series indexes
    for (let s = 1; s < c.u.series.length; s++) {
      const exp = c.lines[s - 1].exp;
      if (this.hidden.has(exp.id)) continue;
      if (!seen.has(exp)) seen.set(exp, []);
      seen.get(exp).push(s);
    }
    const all = [...seen.keys()];
    const data = c.u.data;
    const drawn = (e) => seen.get(e).some((s) => data[s]?.some((v) => v != null));  // (a refit has no val line)
    const named = all.length <= FULL_LEGEND_MAX ? all
      : all.filter((e) => this.best.has(e.id) && drawn(e)).slice(0, 4).concat(all.filter((e) => e.index === this.focused && !this.best.has(e.id)));
    const valueAt = (s) => {
      const ys = data[s];
      if (!ys) return null;
      if (c.cursorIdx != null) return ys[c.cursorIdx];
      for (let i = ys.length - 1; i >= 0; i--) if (ys[i] != null) return ys[i];
      return null;
    };
    const values = named.flatMap((e) => seen.get(e).map(valueAt));
    const fmt = numFormat(values, { trim: false });
    const entries = named.map((e) => ({
      id: e.id, color: colorOf(e.index),
      mark: this.best.has(e.id) ? "best" : e.index === this.focused ? "focus" : "",
      values: seen.get(e).map((s) => {
        const v = valueAt(s);
        return v == null ? "" : `${this.overlay && c.info.splits.length > 1 ? `${c.lines[s - 1].split} ` : ""}${fmt(v)}`;
      }).filter(Boolean).join(" · "),
    }));
    const splits = this.overlay ? c.info.splits.map((split) => ({ split, dash: dashOf(split, c.info.splits) })) : [];
    c.legend.render(entries, splits, all.length - named.length);
  }

  /** Emphasise one experiment (an Experiment or null) in every chart without firing the focus hooks. */
  focus(exp) {
    this.focused = exp == null ? null : exp.index;
    for (const c of this.charts.values()) {
      const { u } = c;
      const mine = [];
      if (exp != null) for (let s = 1; s < u.series.length; s++) if (c.lines[s - 1].exp === exp) mine.push(s);
      u.setSeries(mine.length ? mine[0] : null, { focus: true }, false);
      if (exp) this.brighten(c, exp);
      this.updateLegend(c);
    }
  }

  /** Which experiments are drawn as best (RunModel.best().ids); redraws only on change. */
  setBest(ids) {
    const same = ids.size === this.best.size && [...ids].every((id) => this.best.has(id));
    if (same) return;
    this.best = new Set(ids);
    for (const c of this.charts.values()) { c.u.redraw(false); this.updateLegend(c); }
  }

  /** Hide the lines of experiments filtered out of the table. */
  setHidden(hiddenIds) {
    this.hidden = hiddenIds;
    this.applyVisibility();
  }

  applyVisibility() {
    for (const c of this.charts.values()) {
      const { u } = c;
      u.batch(() => {
        for (let s = 1; s < u.series.length; s++) {
          const show = !this.hidden.has(c.lines[s - 1].exp.id);
          if (u.series[s].show !== show) u.setSeries(s, { show }, false);
        }
      });
      this.updateLegend(c);
    }
  }

  resize() {
    fitCharts(this.charts.values());
  }

  /**
   * What a chart holds, for tests: {experiment id: [[epoch, value], ...]} of its non-null points; an overlaid
   * chart (id "*\/<name>"): {split: {experiment id: [[epoch, value], ...]}}.
   */
  pointsOf(id) {
    const c = this.charts.get(id);
    if (!c) return null;
    const out = {};
    const xs = c.u.data[0];
    for (let s = 1; s < c.u.data.length; s++) {
      const pts = [];
      const ys = c.u.data[s];
      for (let i = 0; i < xs.length; i++) if (ys[i] != null) pts.push([xs[i], ys[i]]);
      const line = c.lines[s - 1];
      if (this.overlay) (out[line.split] ??= {})[line.exp.id] = pts;
      else out[line.exp.id] = pts;
    }
    return out;
  }

  /** For tests: the chart's y scale ("log" | "linear"), its legend entries and which ids it draws as best. */
  stateOf(id) {
    const c = this.charts.get(id);
    if (!c) return null;
    return {
      scale: c.u.scales.y.distr === 3 ? "log" : "linear",
      legend: [...c.card.querySelectorAll(".lg-item")].map((el) => ({ id: el.dataset.exp, mark: el.className.replace(/^lg-item ?/, "").replace(/^lg-/, "") })),
      best: c.lines.filter((l) => this.best.has(l.exp.id)).map((l) => l.exp.id).filter((v, i, a) => a.indexOf(v) === i),
      dashes: Object.fromEntries(c.lines.map((l, i) => [l.split, c.u.series[i + 1].dash || []])),
    };
  }

  destroy() {
    this.resizer.disconnect();
    for (const { u } of this.charts.values()) u.destroy();
    this.charts.clear();
  }
}
