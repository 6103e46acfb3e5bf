// A RunModel started from the board's columns (GET /api/grid_searches/<gs>/table) instead of a replay of the log:
// what a large grid search's page does (run_view.js, LARGE_ABOVE). The columns carry the state the read model's
// rules carry forward (latest / best of every key with their epochs, the selection's best, kinds, statuses), so
// the live events after `last_seq` are applied by the very rules of run_model.js; the per-epoch series are not
// carried (charts ask the board for them), so an experiment's `series` holds only the epochs evaluated since.
// No DOM here: Node imports this module in tests (tests/ml_board/test_table.py).
import { RunModel } from "./run_model.js";

/** A RunModel of `gs` as of `table.last_seq`; apply the events from `nextSeq()` on. */
export function seededModel(gs, table) {
  const m = new RunModel(gs);
  if (table.started) m.onStarted(table.started);
  m.finished = table.finished ?? null;
  for (const { key, kind } of table.keys) {
    const cut = key.indexOf("/");
    m.addKey({ key, split: key.slice(0, cut), name: key.slice(cut + 1), kind });
  }
  const c = table.experiments;
  const n = c.experiment_id.length;
  let maxEpoch = 0;
  for (let i = 0; i < n; i++) {
    const exp = m.experiment(c.experiment_id[i]);
    if (c.grid_point_id[i]) exp.gridPointId = c.grid_point_id[i];
    exp.role = c.role[i] || "train";
    exp.fold = c.fold[i] ?? null;
    exp.hp = c.hyperparameters[i] || {};
    if (c.score_directions[i]) exp.scoreDirections = c.score_directions[i];
    exp.status = c.status[i];
    exp.phase = c.status[i] === "paused" ? "paused" : c.phase[i] || "";
    exp.epoch = c.epoch[i];
    if (exp.epoch > maxEpoch) maxEpoch = exp.epoch;
    exp.numEpochs = c.num_epochs[i] ?? null;
    exp.error = c.error[i] ?? null;
    exp.trial = c.trial[i] ?? null;
    exp.searchDecision = c.search_decision[i] ?? null;
    exp.numAlerts = c.num_alerts[i];
    m.numAlerts += exp.numAlerts;
    if (c.last_alert[i]) exp.alerts = [c.last_alert[i]];
    if (c.step_progress[i]) exp.stepProgress = c.step_progress[i];
    exp.kinds = new Map(Object.entries(c.kinds[i] || {}));
    exp.firstMetric = new Map(Object.entries(c.first_metric[i] || {}));
    exp.bestSelected = c.selected_score[i] ?? null;
    exp.selectionEpoch = c.selection_epoch[i] ?? null;
    for (const { key, kind } of table.keys) {
      const latestEpoch = c.latest_epoch[key][i];
      if (latestEpoch == null) continue;  // never scored
      const cut = key.indexOf("/");
      const name = key.slice(cut + 1);
      // the grid search's kinds and first metrics hold for the experiment unless the columns said otherwise
      if (!c.kinds[i] && !exp.kinds.has(name)) exp.kinds.set(name, m.kinds.get(name) ?? kind);
      exp.latest[key] = c.latest[key][i];
      exp.latestEpoch.set(key, latestEpoch);
      if (c.best[key][i] != null) {
        exp.best[key] = c.best[key][i];
        exp.bestEpoch[key] = c.best_epoch[key][i];
      }
    }
    if (!c.first_metric[i]) {
      for (const [split, name] of m.firstMetric) {
        if (exp.latestEpoch.has(`${split}/${name}`)) exp.firstMetric.set(split, name);
      }
    }
  }
  if (n) m.growTo(maxEpoch);
  m.lastSeq = table.last_seq;
  m.applied = table.last_seq + 1;
  m.lastTs = table.last_ts ?? null;
  m.tableDirty = m.summaryDirty = true;
  return m;
}
