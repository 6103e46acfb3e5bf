// The dashboard's read model of one grid search: applies events in seq order and keeps experiments and per-epoch
// series in plain arrays, so charts can hand them to uPlot without copying. It follows the rules of the Python
// read model (src/mlgym/events/projection.py; docs/events.md, "Read model"); the parity test holds them equal.
// No DOM here: Node imports this module in tests.
import { declared, fallbackDirection, improves, meanStd, objectOrNull, scoresOf } from "./read_rules.js";

/** The major version of the event contract this dashboard reads (docs/events.md). */
export const SCHEMA_VERSION = 2;  // 2: experiment_config overrides a config_base (the model reads neither config)
export const STALE_AFTER_HEARTBEATS = 3;  // as mlgym.events.projection

/** An event written with a newer major event schema: the dashboard says so instead of drawing a wrong picture. */
export class NewerSchemaError extends Error {
  constructor(version) {
    super(`This grid search was written with event schema ${version}, newer than the ${SCHEMA_VERSION} this dashboard reads: upgrade ml_board to view it.`);
    this.name = "NewerSchemaError";
  }
}

const JOB_STATUS = { running: "running", retrying: "running", done: "done", failed: "failed" };
const CV_ROLES = ["cv_fold", "inner"];
const STEP_FIELDS = ["epoch", "step", "num_steps", "global_step", "loss", "lr", "samples_per_s", "skipped_steps",
  "max_memory_allocated"];
const ALERT_FIELDS = ["epoch", "when", "action", "key", "value", "message"];
const MAX_ALERTS = 100;

const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

/** One experiment (one training job) as the table and charts need it. */
export class Experiment {
  constructor(id, index) {
    this.id = id;
    this.index = index;            // order of appearance: fixes its colour and its series index in charts
    this.gridPointId = id.split(".")[0];
    this.role = "train";
    this.fold = null;
    this.hp = {};
    this.scoreDirections = {};     // this experiment's own `score_directions`
    this.status = "scheduled";     // scheduled | running | done | failed | paused (at an ASHA rung)
    this.phase = "";               // training | retrying | done | early_stopped | …
    this.epoch = 0;                // highest evaluated epoch
    this.numEpochs = null;
    this.latest = {};              // key "split/name" -> score at the highest epoch (null: not a finite number)
    this.latestEpoch = new Map();  // key -> epoch of latest[key]
    this.best = {};                // key -> best finite score by the name's direction
    this.bestEpoch = {};           // key -> epoch of best[key]
    this.selectionEpoch = null;    // epoch of the best selection-key score (the Python side's best_epoch)
    this.bestSelected = null;
    this.kinds = new Map();        // score name -> "metric" | "loss", as first seen
    this.firstMetric = new Map();  // split -> the first metric name scored on it
    this.error = null;
    this.series = new Map();       // key -> array indexed by epoch (null where not evaluated or not finite)
    this.stepProgress = null;      // the last training_progress (STEP_FIELDS)
    this.alerts = [];              // the last MAX_ALERTS alert events (ALERT_FIELDS + seq)
    this.numAlerts = 0;
    this.steps = { x: [], loss: [] };  // global_step -> running mean training loss, every training_progress
    this.trial = null;             // an adaptive search's trial number (trial_suggested)
    this.searchDecision = null;    // its last trial_promoted / trial_stopped: {decision, trial, rung, epoch, score, cut}
  }

  /** The best selection-key score (the one `selectionEpoch` points at); null while never scored finitely. */
  get selectedScore() {
    return this.bestSelected;
  }

  /**
   * Where an adaptive search left this trial: "stopped at rung k (epoch e)", "promoted from rung k" (+ ", <status>"
   * unless paused), or just the status (no decision yet, or done).
   */
  searchStatus() {
    const d = this.searchDecision;
    if (d == null || this.status === "done") return this.status;
    if (d.decision === "stopped") return `stopped at rung ${d.rung} (epoch ${d.epoch})`;
    return `promoted from rung ${d.rung}` + (this.status !== "paused" ? `, ${this.status}` : "");
  }

  /**
   * Fraction of the planned training done, 0..1: done -> 1; else max(evaluated epochs, epochs before the last
   * reported step + its fraction of that epoch's steps) / num_epochs; 0 without num_epochs.
   */
  progress() {
    if (this.status === "done") return 1;
    if (!this.numEpochs) return 0;
    let done = this.epoch;
    const sp = this.stepProgress;
    if (sp && isNumber(sp.epoch) && isNumber(sp.step) && isNumber(sp.num_steps) && sp.num_steps > 0) {
      done = Math.max(done, sp.epoch - 1 + Math.min(sp.step, sp.num_steps) / sp.num_steps);
    }
    return Math.min(1, done / this.numEpochs);
  }

  addStepProgress(p) {
    const sp = {};
    for (const k of STEP_FIELDS) sp[k] = p[k] ?? null;
    if (sp.skipped_steps == null) sp.skipped_steps = 0;
    this.stepProgress = sp;
    // the step curve keeps x increasing: steps re-trained after a resume replace the ones logged before
    const g = sp.global_step;
    if (!isNumber(g)) return;
    const { x, loss } = this.steps;
    let n = x.length;
    while (n > 0 && x[n - 1] >= g) n--;
    if (n < x.length) { x.length = n; loss.length = n; }
    x.push(g);
    loss.push(isNumber(sp.loss) ? sp.loss : null);
  }

  addAlert(p, seq) {
    this.numAlerts++;
    const a = { seq };
    for (const k of ALERT_FIELDS) a[k] = p[k] ?? null;
    this.alerts.push(a);
    if (this.alerts.length > MAX_ALERTS) this.alerts.splice(0, this.alerts.length - MAX_ALERTS);
  }

  /** This experiment's `score_directions`, else the grid search's, else the loss/metric fallback. */
  direction(name, gridDirections) {
    return declared(this.scoreDirections, name) || declared(gridDirections, name)
      || fallbackDirection(this.kinds.get(name) || "metric");
  }

  /** name -> direction in effect, for every name scored or declared. */
  directions(gridDirections) {
    const names = [...this.kinds.keys(), ...Object.keys(gridDirections), ...Object.keys(this.scoreDirections)];
    const out = {};
    for (const name of names) if (!Object.hasOwn(out, name)) out[name] = this.direction(name, gridDirections);
    return out;
  }

  /** `<split>/<metric>` of the selection; no metric: the first metric scored on that split (null until then). */
  selectionKey(selection) {
    const metric = selection.metric || this.firstMetric.get(selection.split);
    return metric == null ? null : `${selection.split}/${metric}`;
  }

  addScore(score, epoch, gridDirections, selection) {
    const { key, name, value } = score;
    if (!this.kinds.has(name)) this.kinds.set(name, score.kind);
    if (score.kind === "metric" && !this.firstMetric.has(score.split)) this.firstMetric.set(score.split, name);
    let ys = this.series.get(key);
    if (!ys) { ys = []; this.series.set(key, ys); }
    while (ys.length <= epoch) ys.push(null);
    ys[epoch] = value;
    if (epoch >= (this.latestEpoch.get(key) ?? -1)) {
      this.latest[key] = value;
      this.latestEpoch.set(key, epoch);
    }
    if (value == null) return;
    if (improves(value, this.best[key], this.direction(name, gridDirections))) {
      this.best[key] = value;
      this.bestEpoch[key] = epoch;
    }
    if (key === this.selectionKey(selection)) {
      const mode = selection.mode || this.direction(name, gridDirections);
      if (improves(value, this.bestSelected, mode)) {
        this.bestSelected = value;
        this.selectionEpoch = epoch;
      }
    }
  }

  /** The last finite score of every key at `epoch`. */
  scoresAt(epoch) {
    const out = {};
    if (epoch == null) return out;
    for (const [key, ys] of this.series) if (epoch < ys.length && ys[epoch] != null) out[key] = ys[epoch];
    return out;
  }

  scoresAtBest() {
    return this.scoresAt(this.selectionEpoch);
  }
}

/** Applies the events of one grid search and records what changed since the views last looked. */
export class RunModel {
  constructor(gridSearchId) {
    this.gridSearchId = gridSearchId;
    this.givenSelection = { split: "val", metric: null, mode: null };  // grid_search_started's `selection`
    this.scoreDirections = {};     // grid_search_started's `score_directions`
    this.lastSeq = -1;
    this.applied = 0;
    this.duplicates = 0;
    this.gaps = 0;
    this.started = null;
    this.finished = null;
    this.experiments = new Map();
    this.list = [];                // experiments in order of appearance
    this.keys = new Map();         // "split/name" -> {key, split, name, kind: "metric" | "loss"}
    this.kinds = new Map();        // score name -> kind, as first seen in the grid search
    this.firstMetric = new Map();  // split -> the first metric name scored on it by any experiment
    this.splits = new Set();
    this.xs = [0];                 // shared x values (epochs 0..maxEpoch) of every series
    this.minEpoch = Infinity;
    this.lastTs = null;
    this.heartbeatS = null;                // grid_search_started's heartbeat_s; null (older logs): never stale
    this.structureVersion = 0;     // bumped when experiments or keys appear: charts must be rebuilt
    this.dirtyKeys = new Set();    // keys with new points since the charts last drew
    this.stepsDirty = false;       // a step-level loss point arrived since the step chart last drew
    this.numAlerts = 0;            // alert events of the grid search
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
      if ((ev.schema_version ?? 1) > SCHEMA_VERSION) throw new NewerSchemaError(ev.schema_version);
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
      case "grid_search_started": this.onStarted(p); return;
      case "grid_search_finished":
        this.finished = p;
        this.summaryDirty = true;
        return;
      default: break;
    }
    if (ev.experiment_id == null) return;
    switch (ev.event_type) {
      case "job_scheduled": this.onScheduled(this.experiment(ev.experiment_id)); break;
      case "experiment_config": this.onConfig(this.experiment(ev.experiment_id), p); break;
      case "job_status": this.onJobStatus(this.experiment(ev.experiment_id), p); break;
      case "experiment_status": this.onExperimentStatus(this.experiment(ev.experiment_id), p); break;
      case "evaluation_result": this.onEvaluation(this.experiment(ev.experiment_id), p); break;
      case "training_progress": this.onTrainingProgress(this.experiment(ev.experiment_id), p); break;
      case "alert": this.onAlert(this.experiment(ev.experiment_id), p, ev.seq); break;
      case "checkpoint": this.experiment(ev.experiment_id); break;
      case "trial_suggested": this.experiment(ev.experiment_id).trial = p.trial ?? null; this.summaryDirty = true; break;
      case "trial_promoted": this.onDecision(this.experiment(ev.experiment_id), "promoted", p); break;
      case "trial_stopped": this.onDecision(this.experiment(ev.experiment_id), "stopped", p); break;
      default: break;
    }
  }

  onStarted(p) {
    if (!this.started || !p.warm_start) this.started = p;
    this.finished = null;
    this.heartbeatS = typeof p.heartbeat_s === "number" && p.heartbeat_s > 0 ? p.heartbeat_s : null;
    const directions = objectOrNull(p.score_directions);
    if (directions) this.scoreDirections = directions;
    const sel = objectOrNull(p.selection);
    if (sel) {
      this.givenSelection = { split: sel.split || "val", metric: sel.metric ?? null,
        mode: sel.mode === "max" || sel.mode === "min" ? sel.mode : null };
    }
    this.summaryDirty = true;
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

  onScheduled(exp) {
    if (exp.status !== "done") exp.status = "scheduled";
  }

  onConfig(exp, p) {
    exp.hp = p.hyperparameters || {};
    if (p.grid_point_id) exp.gridPointId = p.grid_point_id;
    exp.role = p.role || "train";
    exp.fold = p.fold ?? null;
    if (p.num_epochs != null) exp.numEpochs = p.num_epochs;
    const directions = objectOrNull(p.score_directions);
    if (directions) exp.scoreDirections = directions;
  }

  onJobStatus(exp, p) {
    const status = JOB_STATUS[p.status];
    if (!status || !Object.hasOwn(JOB_STATUS, p.status)) return;
    const paused = p.status === "done" && exp.phase === "paused";  // ended at an ASHA rung: paused, not done
    exp.status = paused ? "paused" : status;
    exp.phase = p.status === "retrying" ? "retrying" : paused ? "paused" : "";
    if (p.status === "failed") exp.error = p.error ?? null;
    else if (p.status === "running" || p.status === "done") exp.error = null;
    this.summaryDirty = true;
  }

  onExperimentStatus(exp, p) {
    if (p.num_epochs != null) exp.numEpochs = p.num_epochs;
    exp.phase = p.status || "";
    if (p.status === "training" && exp.status === "scheduled") exp.status = "running";
    this.summaryDirty = true;
  }

  onEvaluation(exp, p) {
    const epoch = p.epoch;
    if (!Number.isInteger(epoch) || epoch < 0) return;
    this.growTo(epoch);
    if (exp.status === "scheduled") exp.status = "running";
    if (epoch > exp.epoch) exp.epoch = epoch;
    for (const score of scoresOf(p)) {
      this.addKey(score);
      exp.addScore(score, epoch, this.scoreDirections, this.givenSelection);
      this.dirtyKeys.add(score.key);
    }
  }

  onDecision(exp, decision, p) {
    exp.searchDecision = { decision, ...p };
    this.summaryDirty = true;
  }

  onTrainingProgress(exp, p) {
    if (exp.status === "scheduled") exp.status = "running";
    exp.addStepProgress(p);
    this.stepsDirty = true;
  }

  onAlert(exp, p, seq) {
    exp.addAlert(p, seq);
    this.numAlerts++;
    this.summaryDirty = true;
  }

  growTo(epoch) {
    if (epoch < this.minEpoch) this.minEpoch = epoch;
    const xs = this.xs;
    while (xs.length <= epoch) xs.push(xs.length);
  }

  addKey({ key, split, name, kind }) {
    if (!this.kinds.has(name)) this.kinds.set(name, kind);
    if (kind === "metric" && !this.firstMetric.has(split)) this.firstMetric.set(split, name);
    if (this.keys.has(key)) return;
    this.keys.set(key, { key, split, name, kind });
    this.splits.add(split);
    this.structureVersion++;
  }

  /** The grid search's direction of a name: its `score_directions`, else the loss/metric fallback. */
  direction(name) {
    return declared(this.scoreDirections, name) || fallbackDirection(this.kinds.get(name) || "metric");
  }

  /** "max" or "min" of a key's name for the grid search (an experiment may declare its own: Experiment.direction). */
  modeOf(key) {
    const info = this.keys.get(key);
    return info ? this.direction(info.name) : "max";
  }

  /** {split, metric, mode} resolved: no metric -> the first metric scored on the split; no mode -> its direction. */
  get selection() {
    const { split, metric: given, mode } = this.givenSelection;
    const metric = given || this.firstMetric.get(split) || null;
    return { split, metric, mode: mode || (metric ? this.direction(metric) : null) };
  }

  /**
   * Per (outer fold or null, grid point), over its fold experiments (roles cv_fold and inner): `latest[key]` of the
   * members that are done and scored it finitely -> {outer, gridPointId, hp, folds, done, n, mean, std (ddof=1)}.
   */
  cvStats(key) {
    const groups = new Map();
    for (const exp of this.list) {
      if (!CV_ROLES.includes(exp.role)) continue;
      const outer = exp.fold?.outer ?? null;
      const gk = JSON.stringify([outer, exp.gridPointId]);
      let g = groups.get(gk);
      if (!g) {
        g = { outer, gridPointId: exp.gridPointId, hp: exp.hp, folds: 0, done: 0, values: [] };
        groups.set(gk, g);
      }
      g.folds++;
      if (exp.status !== "done") continue;
      g.done++;
      const v = exp.latest[key];
      if (v != null) g.values.push(v);
    }
    return [...groups.values()].map(({ values, ...g }) => ({ ...g, ...meanStd(values) }));
  }

  /**
   * A search's trials and what they cost (docs/events.md, "Read model"); null for a grid search. `trials`: the
   * experiments with a trial number, by trial number; a random search without a scheduler logs none, so there every
   * `train` experiment. `epochsTrained` sums their highest evaluated epochs, `epochsFull` their num_epochs (the grid
   * search's when missing). `winner`: the best selection score by the selection's mode (a tie keeps the earlier).
   */
  searchSummary() {
    const search = objectOrNull(this.started?.search) || {};
    const searcher = search.searcher ?? "grid";
    let trials = this.list.filter((e) => e.trial != null).sort((a, b) => a.trial - b.trial);
    if (!trials.length && searcher !== "grid") trials = this.list.filter((e) => e.role === "train");
    if (!trials.length && searcher === "grid" && !search.scheduler) return null;
    const full = this.started?.num_epochs;
    const mode = this.selection.mode;
    let winner = null, best = null;
    for (const e of trials) {
      const score = e.selectedScore;
      if (score != null && mode != null && improves(score, best, mode)) { winner = e; best = score; }
    }
    let trained = 0, total = 0;
    for (const e of trials) { trained += e.epoch; total += e.numEpochs ?? full ?? 0; }
    return { searcher, scheduler: search.scheduler ?? null, trials, epochsTrained: trained, epochsFull: total, winner };
  }

  /**
   * The best of the grid search by its selection, the rule the report marks with ★ (mlgym/events/results.py,
   * `results_table`) and nested CV's model selection (mlgym/validation/selection.py) use. Grid search (and a search's
   * trials): the done experiment with the best selected score. Cross-validation: the grid point with the best mean
   * of the selection key's last-epoch scores over its folds, once all of them are done; nested CV: that per outer
   * fold. Ties keep the earlier. Returns {experiment, gridPoints: [{outer, gridPointId, mean}], ids: the experiments
   * drawn as best (the winning grid points' folds, and the refit of each outer fold that chose one)}.
   */
  best() {
    const sel = this.selection;
    const out = { experiment: null, gridPoints: [], ids: new Set() };
    if (!sel.metric || !sel.mode) return out;
    const key = `${sel.split}/${sel.metric}`;
    const strategy = this.started?.strategy;
    if (strategy !== "cross_validation" && strategy !== "nested_cv") {
      let best = null;
      for (const e of this.list) {
        const score = e.selectedScore;
        if (e.status === "done" && score != null && improves(score, best, sel.mode)) { out.experiment = e; best = score; }
      }
      if (out.experiment) out.ids.add(out.experiment.id);
      return out;
    }
    const byOuter = new Map();
    for (const g of this.cvStats(key)) {
      if (g.done !== g.folds || g.mean == null) continue;
      const b = byOuter.get(g.outer);
      if (!b || improves(g.mean, b.mean, sel.mode)) byOuter.set(g.outer, g);
    }
    out.gridPoints = [...byOuter.values()].map((g) => ({ outer: g.outer, gridPointId: g.gridPointId, mean: g.mean }));
    for (const e of this.list) {
      const g = byOuter.get(e.fold?.outer ?? null);
      if (g && g.gridPointId === e.gridPointId && (CV_ROLES.includes(e.role) || e.role === "refit")) out.ids.add(e.id);
    }
    return out;
  }

  /** The series of `key` of every experiment, padded to the current epochs (uPlot wants equal lengths). */
  seriesOf(key) {
    return this.list.map((exp) => this.ysOf(exp, key));
  }

  /** One experiment's series of `key`, padded to the current epochs; the array the model keeps (no copy). */
  ysOf(exp, key) {
    const n = this.xs.length;
    let ys = exp.series.get(key);
    if (!ys) { ys = []; exp.series.set(key, ys); }
    while (ys.length < n) ys.push(null);
    return ys;
  }

  status(now = Date.now() / 1000) {
    if (this.finished) return this.finished.status || "done";
    return this.isStale(now) ? "stale" : "running";
  }

  /** Running without grid_search_finished and silent for more than 3 heartbeats: its process is gone. */
  isStale(now = Date.now() / 1000) {
    if (this.finished || this.heartbeatS == null || this.lastTs == null) return false;
    return now - this.lastTs > STALE_AFTER_HEARTBEATS * this.heartbeatS;
  }

  /** An experiment's status as shown: a scheduled or running one of a stale run is "interrupted". */
  shownStatus(exp) {
    return (exp.status === "running" || exp.status === "scheduled") && this.isStale() ? "interrupted" : exp.status;
  }

  counts() {
    const c = { scheduled: 0, running: 0, done: 0, failed: 0 };
    for (const exp of this.list) c[exp.status] = (c[exp.status] || 0) + 1;
    return c;
  }

  /** The default metric key of the table: the selection's, else the first validation metric, else any. */
  defaultKey() {
    const sel = this.selection;
    if (sel.metric && this.keys.has(`${sel.split}/${sel.metric}`)) return `${sel.split}/${sel.metric}`;
    const keys = [...this.keys.values()];
    const pick = keys.find((k) => k.split === "val" && k.kind === "metric") || keys.find((k) => k.kind === "metric") || keys[0];
    return pick ? pick.key : null;
  }
}
