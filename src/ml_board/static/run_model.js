// The dashboard's projection of one grid search: applies events in seq order and keeps experiments and
// per-epoch series in plain arrays, so charts can hand them to uPlot without copying.

const LOWER_IS_BETTER = /loss|error|mse|mae|rmse|perplexity|entropy/i;

/** One experiment (one training job) as the table and charts need it. */
class Experiment {
  constructor(id, index) {
    this.id = id;
    this.index = index;            // order of appearance: fixes its colour and its series index in charts
    this.gridPointId = id.split(".")[0];
    this.role = "train";
    this.fold = null;
    this.hp = {};
    this.status = "scheduled";     // scheduled | running | done | failed
    this.phase = "";               // training | evaluating | retrying | early_stopped | …
    this.epoch = 0;                // highest evaluated epoch
    this.numEpochs = null;
    this.batchFraction = 0;        // progress inside the current epoch while training
    this.latest = {};              // key "split/name" -> score at the highest epoch
    this.best = {};                // key -> best score
    this.bestEpoch = {};           // key -> epoch of the best score
    this.error = null;
    this.series = new Map();       // key -> array indexed by epoch (null where not evaluated)
  }

  /** Fraction of the planned epochs done, 0..1. */
  progress() {
    if (this.status === "done") return 1;
    if (!this.numEpochs) return 0;
    return Math.min(1, (this.epoch + this.batchFraction) / this.numEpochs);
  }
}

/** Applies the events of one grid search and records what changed since the views last looked. */
export class RunModel {
  constructor(gridSearchId, selection = null) {
    this.gridSearchId = gridSearchId;
    this.selection = selection;    // {split, metric, mode} of the validation strategy, if known
    this.lastSeq = -1;
    this.applied = 0;
    this.duplicates = 0;
    this.gaps = 0;
    this.started = null;
    this.finished = null;
    this.experiments = new Map();
    this.list = [];                // experiments in order of appearance
    this.keys = new Map();         // "split/name" -> {split, name, kind: "metric" | "loss"}
    this.splits = new Set();
    this.xs = [0];                 // shared x values (epochs 0..maxEpoch) of every series
    this.minEpoch = Infinity;
    this.lastTs = null;
    this.structureVersion = 0;     // bumped when experiments or keys appear: charts must be rebuilt
    this.dirtyKeys = new Set();    // keys with new points since the charts last drew
    this.tableDirty = true;
    this.summaryDirty = true;
  }

  nextSeq() {
    return this.lastSeq + 1;
  }

  /**
   * Apply events in seq order. Events already applied are dropped; returns false when an event after a gap was
   * seen (it and everything after it in the batch are not applied: the caller asks again from `nextSeq()`).
   */
  apply(events) {
    for (const ev of events) {
      if (ev.seq <= this.lastSeq) { this.duplicates++; continue; }
      if (ev.seq !== this.lastSeq + 1) { this.gaps++; return false; }
      this.lastSeq = ev.seq;
      this.applied++;
      this.lastTs = ev.creation_ts;
      this.applyOne(ev);
    }
    return true;
  }

  applyOne(ev) {
    const p = ev.payload || {};
    switch (ev.event_type) {
      case "grid_search_started":
        if (!this.started || !p.warm_start) this.started = p;
        this.finished = null;
        this.summaryDirty = true;
        break;
      case "grid_search_finished":
        this.finished = p;
        this.summaryDirty = true;
        break;
      case "job_scheduled":
        this.experiment(ev.experiment_id || p.job_id);
        break;
      case "experiment_config": this.onConfig(this.experiment(ev.experiment_id), p); break;
      case "job_status": this.onJobStatus(this.experiment(ev.experiment_id), p); break;
      case "experiment_status": this.onExperimentStatus(this.experiment(ev.experiment_id), p); break;
      case "evaluation_result": this.onEvaluation(this.experiment(ev.experiment_id), p); break;
      default: break;
    }
  }

  experiment(id) {
    let exp = this.experiments.get(id);
    if (!exp) {
      exp = new Experiment(String(id), this.list.length);
      this.experiments.set(exp.id, exp);
      this.list.push(exp);
      this.structureVersion++;
      this.summaryDirty = true;
    }
    this.tableDirty = true;
    return exp;
  }

  onConfig(exp, p) {
    exp.hp = p.hyperparameters || {};
    if (p.grid_point_id) exp.gridPointId = p.grid_point_id;
    if (p.role) exp.role = p.role;
    exp.fold = p.fold ?? null;
    if (p.num_epochs != null) exp.numEpochs = p.num_epochs;
  }

  onJobStatus(exp, p) {
    const s = p.status;
    if (s === "running") { exp.status = "running"; exp.phase = ""; }
    else if (s === "retrying") { exp.status = "running"; exp.phase = "retrying"; }
    else if (s === "done") { exp.status = "done"; exp.batchFraction = 0; }
    else if (s === "failed") { exp.status = "failed"; exp.error = p.error || exp.error; }
    this.summaryDirty = true;
  }

  onExperimentStatus(exp, p) {
    const s = p.status;
    if (p.num_epochs != null) exp.numEpochs = p.num_epochs;
    exp.phase = s;
    if (s === "failed") exp.status = "failed";
    else if (s === "done" || s === "early_stopped") { exp.status = "done"; exp.batchFraction = 0; }
    else if (exp.status === "scheduled") exp.status = "running";
    exp.batchFraction = s === "training" && p.num_batches ? (p.batch || 0) / p.num_batches : 0;
    this.summaryDirty = true;
  }

  onEvaluation(exp, p) {
    const epoch = p.epoch;
    if (typeof epoch !== "number") return;
    this.growTo(epoch);
    if (exp.status === "scheduled") exp.status = "running";
    if (epoch >= exp.epoch) { exp.epoch = epoch; exp.batchFraction = 0; }
    for (const s of p.metric_scores || []) this.addPoint(exp, s.split ?? p.split, s.metric, "metric", epoch, s.score);
    for (const s of p.loss_scores || []) this.addPoint(exp, s.split ?? p.split, s.loss, "loss", epoch, s.score);
  }

  growTo(epoch) {
    if (epoch < this.minEpoch) this.minEpoch = epoch;
    const xs = this.xs;
    while (xs.length <= epoch) xs.push(xs.length);
  }

  addPoint(exp, split, name, kind, epoch, score) {
    if (split == null || name == null) return;
    const key = `${split}/${name}`;
    if (!this.keys.has(key)) {
      this.keys.set(key, { key, split, name, kind });
      this.splits.add(split);
      this.structureVersion++;
    }
    let ys = exp.series.get(key);
    if (!ys) { ys = []; exp.series.set(key, ys); }
    while (ys.length <= epoch) ys.push(null);
    const value = typeof score === "number" ? score : null;
    ys[epoch] = value;
    if (epoch >= (exp.latestEpoch?.[key] ?? -Infinity)) {
      exp.latest[key] = value;
      (exp.latestEpoch ??= {})[key] = epoch;
    }
    if (value != null && Number.isFinite(value)) {
      const better = this.isBetter(key, value, exp.best[key]);
      if (better) { exp.best[key] = value; exp.bestEpoch[key] = epoch; }
    }
    this.dirtyKeys.add(key);
  }

  /** "max" or "min": the selection's mode for its metric, else min for losses and error-like names. */
  modeOf(key) {
    const info = this.keys.get(key);
    const sel = this.selection;
    if (sel && info && sel.metric === info.name && sel.mode) return sel.mode;
    if (!info) return "max";
    return info.kind === "loss" || LOWER_IS_BETTER.test(info.name) ? "min" : "max";
  }

  isBetter(key, value, current) {
    if (current == null) return true;
    return this.modeOf(key) === "min" ? value < current : value > current;
  }

  /** The series of `key` of every experiment, padded to the current epochs (uPlot wants equal lengths). */
  seriesOf(key) {
    const n = this.xs.length;
    return this.list.map((exp) => {
      let ys = exp.series.get(key);
      if (!ys) { ys = []; exp.series.set(key, ys); }
      while (ys.length < n) ys.push(null);
      return ys;
    });
  }

  status() {
    if (this.finished) return this.finished.status || "done";
    return "running";
  }

  counts() {
    const c = { scheduled: 0, running: 0, done: 0, failed: 0 };
    for (const exp of this.list) c[exp.status] = (c[exp.status] || 0) + 1;
    return c;
  }

  /** The default metric key of the table: the selection's, else the first validation metric, else any. */
  defaultKey() {
    const sel = this.selection;
    if (sel && this.keys.has(`${sel.split}/${sel.metric}`)) return `${sel.split}/${sel.metric}`;
    const keys = [...this.keys.values()];
    const pick = keys.find((k) => k.split === "val" && k.kind === "metric") || keys.find((k) => k.kind === "metric") || keys[0];
    return pick ? pick.key : null;
  }
}
