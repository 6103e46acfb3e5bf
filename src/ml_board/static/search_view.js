// The search card of a grid-search page (random / Optuna searches, ASHA): the compute a trial scheduler saved, and per
// swept hyperparameter a scatter of its value against each trial's selection score (RunModel.searchSummary and
// Experiment.selectedScore; the rules are the read model's, docs/events.md). Without a search the same card shows
// the hyperparameters against the score of each experiment, or of each grid point under cross-validation (the mean
// over its folds, per outer fold in nested CV), with the best as RunModel.best() picks it. Drawn with the vendored
// uPlot.
import uPlot from "./vendor/uPlot.esm.js";
import { axisValues, esc, num } from "./format.js";
import { shortPath } from "./experiments_table.js";

const HEIGHT = 240;
// Point styles; stopped trials are hollow so they read as "not trained to the end" even without colour.
export const KINDS = {
  done: { label: "trained to the end", size: 8, fill: "#1f9d55", stroke: "#1f9d55", width: 1 },
  stopped: { label: "stopped by the scheduler", size: 8, fill: "#ffffff", stroke: "#c2410c", width: 2 },
  other: { label: "running, paused, scheduled or failed", size: 7, fill: "#9db8ea", stroke: "#2f6fde", width: 1 },
  winner: { label: "winner", size: 15, fill: "#f5b301", stroke: "#6b4a00", width: 2 },
};
const ORDER = ["done", "stopped", "other", "winner"];

/** How to place a hyperparameter's values on x: "log" when all are numbers > 0 spanning >= 2 decades, "linear" for
 * other numbers, else "category" (strings, booleans, lists, null: discrete positions in order of first appearance). */
export function axisOf(values) {
  const present = values.filter((v) => v !== undefined);
  if (present.length && present.every((v) => typeof v === "number" && Number.isFinite(v))) {
    const lo = Math.min(...present), hi = Math.max(...present);
    return { kind: lo > 0 && hi / lo >= 100 ? "log" : "linear", categories: null };
  }
  const categories = [];
  for (const v of present) if (!categories.includes(num(v))) categories.push(num(v));
  return { kind: "category", categories };
}

/** The kind of point a trial is drawn as; `winner` is one trial or a Set of them (nested CV: one per outer fold). */
export function kindOf(exp, winner) {
  if (winner instanceof Set ? winner.has(exp) : exp === winner) return "winner";
  if (exp.status === "done") return "done";
  if (exp.searchDecision?.decision === "stopped") return "stopped";
  return "other";
}

/** "ASHA trained 81 of 243 epochs (33%), saved 67%"; null without a scheduler or a planned epoch. */
export function computeSaved(summary, finished) {
  if (!summary || !summary.scheduler || !summary.epochsFull) return null;
  const pct = Math.round((100 * summary.epochsTrained) / summary.epochsFull);
  const name = String(summary.scheduler.type || "scheduler").toUpperCase();
  return { trained: summary.epochsTrained, full: summary.epochsFull, pct, saved: 100 - pct,
    text: `${name} ${finished ? "trained" : "has trained"} ${summary.epochsTrained} of ${summary.epochsFull} epochs (${pct}%)${finished ? "" : " so far"}, saved ${100 - pct}%` };
}

export class SearchView {
  constructor(el, model, { paths, linkOf }) {
    this.el = el;
    this.model = model;
    this.paths = paths;            // () => the swept key paths
    this.linkOf = linkOf;
    this.charts = new Map();       // path -> {u, card, points, signature}
    this.resizer = new ResizeObserver(() => this.resize());
    this.saved = null;
  }

  /** Redraw from the model: a search's trials, else the experiments (or grid points) of the grid. */
  render() {
    const m = this.model;
    const search = m.searchSummary();
    if (!search || !search.trials.length) return this.renderGrid();  // (a random search inside CV has no train trials)
    this.el.hidden = false;
    const summary = search;
    if (!this.el.querySelector("#search-head") || this.el.dataset.mode !== "search") {
      this.destroy();
      this.el.dataset.mode = "search";
      this.el.innerHTML = `<div class="card-head"><h2>Search</h2><span class="muted" id="search-what"></span></div>
        <p id="compute-saved" class="pad" hidden></p><p id="search-counts" class="pad small"></p>
        <div class="legend small" id="search-legend">${ORDER.map((k) => `<span><i class="dot dot-${k}"></i>${esc(KINDS[k].label)}</span>`).join("")}</div>
        <div id="search-head"></div><div id="search-charts" class="charts"></div>`;
    }
    const sel = m.selection;
    const key = sel.metric ? `${sel.split}/${sel.metric}` : null;
    const sched = summary.scheduler;
    this.el.querySelector("#search-what").textContent = `${summary.searcher} search${sched ? ` · ${String(sched.type).toUpperCase()} (min_epochs ${sched.min_epochs}, reduction factor ${sched.reduction_factor})` : ""}` +
      (key ? ` · score: best ${key} (${sel.mode === "min" ? "lower" : "higher"} is better)` : "");
    this.saved = computeSaved(summary, !!m.finished);
    const saved = this.el.querySelector("#compute-saved");
    saved.hidden = !this.saved;
    if (this.saved) {
      saved.innerHTML = `<b>Compute saved:</b> ${esc(this.saved.text)} <span class="muted small">(sum over trials of the epochs they reached, against every trial trained for its num_epochs)</span>`;
      Object.assign(saved.dataset, { trained: this.saved.trained, full: this.saved.full });
    }
    this.renderCounts(summary, key);
    this.renderCharts(summary, key);
  }

  /** Hyperparameters vs score without a search: only with swept hyperparameters and a selection metric. */
  renderGrid() {
    const m = this.model;
    const sel = m.selection;
    const grid = sel.metric && this.paths().length ? gridSummary(m) : null;
    this.saved = null;
    this.el.hidden = !grid || !grid.trials.length;
    if (this.el.hidden) return;
    const key = `${sel.split}/${sel.metric}`;
    if (!this.el.querySelector("#search-head") || this.el.dataset.mode !== "grid") {
      this.destroy();
      this.el.dataset.mode = "grid";
      this.el.innerHTML = `<div class="card-head"><h2>Hyperparameters vs score</h2><span class="muted" id="search-what"></span></div>
        <p id="search-counts" class="pad small"></p>
        <div class="legend small" id="search-legend">${["done", "other", "winner"].map((k) => `<span><i class="dot dot-${k}"></i>${esc(k === "winner" ? "best" : KINDS[k].label)}</span>`).join("")}</div>
        <div id="search-head"></div><div id="search-charts" class="charts"></div>`;
    }
    const cv = grid.perGridPoint;
    this.el.querySelector("#search-what").textContent = `${cv ? `mean over the folds of last-epoch ${key} per grid point` : `best ${key} per experiment`} (${sel.mode === "min" ? "lower" : "higher"} is better)`;
    const n = grid.trials.length;
    const scored = grid.trials.filter((e) => e.selectedScore != null).length;
    const best = [...grid.winners].map((w) => `<a class="mono" href="${this.linkOf(w)}">${esc(w.label)}</a> <b class="mono">${esc(num(w.selectedScore))}</b>`);
    this.el.querySelector("#search-counts").innerHTML = [
      `${n} ${cv ? "grid point" : "experiment"}${n === 1 ? "" : "s"}${cv && grid.outerFolds > 1 ? ` over ${grid.outerFolds} outer folds` : ""}`,
      scored < n ? `${n - scored} without a score yet (not drawn)` : "",
      best.length ? `best: ${best.join(", ")}` : "",
    ].filter(Boolean).join(" · ");
    this.renderCharts({ trials: grid.trials, winner: grid.winners }, key);
  }

  renderCounts(summary, key) {
    const n = summary.trials.length;
    const done = summary.trials.filter((e) => e.status === "done").length;
    const rungs = new Map();
    for (const e of summary.trials) {
      if (e.status !== "done" && e.searchDecision?.decision === "stopped") rungs.set(e.searchDecision.rung, (rungs.get(e.searchDecision.rung) || 0) + 1);
    }
    const stopped = [...rungs.values()].reduce((a, b) => a + b, 0);
    const at = [...rungs.entries()].sort((a, b) => a[0] - b[0]).map(([r, c]) => `${c} at rung ${r}`).join(", ");
    const w = summary.winner;
    const unscored = summary.trials.filter((e) => e.selectedScore == null).length;
    this.el.querySelector("#search-counts").innerHTML = [
      `${n} trial${n === 1 ? "" : "s"}`, `${done} trained to the end`,
      stopped ? `${stopped} stopped (${at})` : "",
      unscored ? `${unscored} without a score yet (not drawn)` : "",
      w ? `winner: <a class="mono" href="${this.linkOf(w)}">${w.trial != null ? `trial ${w.trial} · ` : ""}${esc(w.id)}</a> ${esc(key ?? "")} <b class="mono">${esc(num(w.selectedScore))}</b>` : "",
    ].filter(Boolean).join(" · ");
  }

  renderCharts(summary, key) {
    const holder = this.el.querySelector("#search-charts");
    const paths = this.paths();
    const scored = summary.trials.filter((e) => e.selectedScore != null);
    if (!paths.length || !key) {
      this.destroy();
      holder.innerHTML = `<p class="muted pad" id="no-search-charts">${paths.length ? "No trial has a selection score yet." : "No swept hyperparameter."}</p>`;
      return;
    }
    holder.querySelector("#no-search-charts")?.remove();
    for (const [path, c] of this.charts) if (!paths.includes(path)) { c.u.destroy(); c.card.remove(); this.charts.delete(path); }
    for (const path of paths) {
      const axis = axisOf(scored.map((e) => e.hp[path]));
      const { xs, series, points } = this.dataOf(path, axis, scored, summary.winner);
      const signature = JSON.stringify([axis.kind, axis.categories, key, this.model.selection.mode]);
      let c = this.charts.get(path);
      if (c && c.signature !== signature) { c.u.destroy(); c.card.remove(); this.charts.delete(path); c = null; }
      if (!c) {
        c = this.create(holder, path, axis, key);
        c.signature = signature;
        this.charts.set(path, c);
      }
      c.points = points;
      c.u.setData([xs, ...series]);
    }
  }

  /** Points sorted by x (uPlot's x must ascend); categorical values are spread a little around their position. */
  dataOf(path, axis, trials, winner) {
    const raw = trials.map((e) => {
      const value = e.hp[path];
      let x = value;
      if (axis.kind === "category") x = axis.categories.indexOf(num(value));
      return { exp: e, value, x, y: e.selectedScore, kind: kindOf(e, winner) };
    });
    if (axis.kind === "category") {
      const byCat = new Map();
      for (const p of raw) { if (!byCat.has(p.x)) byCat.set(p.x, []); byCat.get(p.x).push(p); }
      for (const group of byCat.values()) {
        const step = Math.min(0.08, 0.6 / Math.max(1, group.length));
        group.forEach((p, i) => { p.x += (i - (group.length - 1) / 2) * step; });
      }
    }
    raw.sort((a, b) => a.x - b.x || a.exp.index - b.exp.index);
    const xs = raw.map((p) => p.x);
    const series = ORDER.map((k) => raw.map((p) => (p.kind === k ? p.y : null)));
    return { xs, series, points: raw };
  }

  create(holder, path, axis, key) {
    const card = document.createElement("div");
    card.className = "chart-card search-chart";
    card.dataset.path = path;
    card.dataset.axis = axis.kind;
    card.innerHTML = `<div class="chart-title"><b>${esc(shortPath(path))}</b><span class="muted">${axis.kind === "log" ? "log scale" : axis.kind === "category" ? "categorical" : "linear"} · vs best ${esc(key)}</span></div>
      <div class="chart-body"><div class="tip" hidden></div></div>`;
    holder.appendChild(card);
    const body = card.querySelector(".chart-body");
    const tip = card.querySelector(".tip");
    const cat = axis.categories;
    const xScale = axis.kind === "log" ? { time: false, distr: 3, log: 10 }
      : axis.kind === "category" ? { time: false, range: () => [-0.5, cat.length - 0.5] }
        : { time: false, range: (u, lo, hi) => (lo === hi ? [lo - 1, hi + 1] : [lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05]) };
    const xAxis = { label: shortPath(path), labelSize: 22, stroke: "#5b6472", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#dfe3e8" },
      values: axisValues };
    if (axis.kind === "log") {  // grid lines and labels at the decades only
      const decades = (u, splits) => splits.map((v) => (Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9 ? v : null));
      Object.assign(xAxis, { filter: decades, grid: { ...xAxis.grid, filter: decades }, ticks: { ...xAxis.ticks, filter: decades } });
    }
    if (axis.kind === "category") {
      xAxis.splits = () => cat.map((_, i) => i);
      xAxis.values = (u, vals) => vals.map((v) => cat[Math.round(v)] ?? "");
    }
    const opts = {
      width: Math.max(280, body.clientWidth || 480),
      height: HEIGHT,
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: xScale, y: { range: (u, lo, hi) => (lo === hi ? [lo - 0.05, hi + 0.05] : [lo - (hi - lo) * 0.08, hi + (hi - lo) * 0.08]) } },
      axes: [xAxis, { size: 58, stroke: "#5b6472", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#dfe3e8" }, values: axisValues }],
      series: [{ label: path }, ...ORDER.map((k) => ({
        label: k, stroke: KINDS[k].stroke, width: 0, paths: () => null,
        points: { show: true, size: KINDS[k].size, fill: KINDS[k].fill, stroke: KINDS[k].stroke, width: KINDS[k].width },
      }))],
      hooks: { setCursor: [(u) => this.tooltip(u, tip, path)] },
    };
    const u = new uPlot(opts, [[], ...ORDER.map(() => [])], body);
    u.over.addEventListener("click", () => {
      const p = this.nearest(u, path);
      if (p) location.hash = this.linkOf(p.exp);
    });
    this.resizer.observe(card);
    return { u, card, points: [] };
  }

  /** The point nearest the cursor (within 12 px), or null. */
  nearest(u, path) {
    const c = this.charts.get(path);
    const { left, top } = u.cursor;
    if (!c || left == null || left < 0) return null;
    let best = null, dist = 144;
    for (const p of c.points) {
      const dx = u.valToPos(p.x, "x") - left, dy = u.valToPos(p.y, "y") - top;
      if (dx * dx + dy * dy <= dist) { dist = dx * dx + dy * dy; best = p; }
    }
    return best;
  }

  tooltip(u, tip, path) {
    const p = this.nearest(u, path);
    u.over.style.cursor = p ? "pointer" : "";
    if (!p) { tip.hidden = true; return; }
    const e = p.exp;
    tip.innerHTML = `${e.trial != null ? `trial ${e.trial} · ` : ""}<span class="mono">${esc(e.label ?? e.id)}</span> · ${esc(shortPath(path))} ${esc(num(p.value))} · <b>${esc(num(p.y))}</b> <span class="muted">${esc(e.searchStatus())}</span>`;
    tip.hidden = false;
  }

  resize() {
    for (const { u, card } of this.charts.values()) {
      const width = Math.max(280, card.querySelector(".chart-body").clientWidth);
      if (Math.abs(width - u.width) > 1) u.setSize({ width, height: HEIGHT });
    }
  }

  /** For tests: {path: {axis, scale, points: [{id, trial, value, x, y, kind}]}} as handed to uPlot. */
  pointsOf() {
    const out = {};
    for (const [path, c] of this.charts) {
      const data = c.u.data;
      const drawn = [];
      for (let s = 1; s < data.length; s++) {
        for (let i = 0; i < data[0].length; i++) {
          if (data[s][i] == null) continue;
          const p = c.points[i];
          drawn.push({ id: p.exp.id, trial: p.exp.trial, value: p.value ?? null, x: data[0][i], y: data[s][i], kind: ORDER[s - 1] });
        }
      }
      out[path] = { axis: c.card.dataset.axis, distr: c.u.scales.x.distr, points: drawn };
    }
    return out;
  }

  destroy() {
    this.resizer.disconnect();
    for (const { u, card } of this.charts.values()) { u.destroy(); card.remove(); }
    this.charts.clear();
  }
}

/**
 * The points of the hyperparameters-vs-score view of a grid without a search. Grid search: every `train` experiment
 * at its selected score. Cross-validation and nested CV: every (outer fold, grid point) at the mean over its done
 * folds of the selection key's last-epoch score (RunModel.cvStats), linked to its first fold. `winners`: the best
 * as RunModel.best() picks it (one per outer fold in nested CV).
 */
export function gridSummary(m) {
  const sel = m.selection;
  const best = m.best();
  const strategy = m.started?.strategy;
  if (strategy !== "cross_validation" && strategy !== "nested_cv") {
    const trials = m.list.filter((e) => e.role === "train");
    return { trials, winners: new Set(best.experiment ? [best.experiment] : []), perGridPoint: false, outerFolds: 1 };
  }
  const firstFold = new Map();
  for (const e of m.list) {
    const gk = JSON.stringify([e.fold?.outer ?? null, e.gridPointId]);
    if ((e.role === "cv_fold" || e.role === "inner") && !firstFold.has(gk)) firstFold.set(gk, e);
  }
  const winning = new Set(best.gridPoints.map((g) => JSON.stringify([g.outer, g.gridPointId])));
  const winners = new Set();
  const outers = new Set();
  const trials = m.cvStats(`${sel.split}/${sel.metric}`).map((g, index) => {
    const gk = JSON.stringify([g.outer, g.gridPointId]);
    const first = firstFold.get(gk);
    outers.add(g.outer);
    const point = {
      id: first.id, label: g.outer == null ? g.gridPointId : `outer ${g.outer} · ${g.gridPointId}`, index, trial: null,
      hp: g.hp, selectedScore: g.mean ?? null, status: g.done === g.folds ? "done" : "running", searchDecision: null,
      searchStatus: () => `mean of ${g.n} of ${g.folds} folds`,
    };
    if (winning.has(gk)) winners.add(point);
    return point;
  });
  return { trials, winners, perGridPoint: true, outerFolds: outers.size };
}
