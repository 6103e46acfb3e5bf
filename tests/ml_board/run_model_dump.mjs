// Feeds an event log (JSONL) to the dashboard's read model and prints what it concluded, as JSON, for
// test_read_model_parity.py.  Usage: node run_model_dump.mjs <event_storage.log>
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseEventLine } from "../../src/ml_board/static/event_json.js";
import { RunModel } from "../../src/ml_board/static/run_model.js";

/** What `model` concluded, in the shape test_read_model_parity.py compares (`ok`: every event was applied). */
export function dump(model, ok) {
  const experiments = {};
  for (const exp of model.list) {
    experiments[exp.id] = {
      status: exp.status, epoch: exp.epoch, num_epochs: exp.numEpochs, latest: exp.latest, best: exp.best,
      best_epochs: exp.bestEpoch, best_epoch: exp.selectionEpoch, scores_at_best: exp.scoresAtBest(),
      directions: exp.directions(model.scoreDirections), progress: exp.progress(),
      step_progress: exp.stepProgress, num_alerts: exp.numAlerts, alerts: exp.alerts,
      trial: exp.trial, search_decision: exp.searchDecision, search_status: exp.searchStatus(),
      selected_score: exp.selectedScore, shown_status: model.shownStatus(exp),
    };
  }
  const cv = {};
  for (const key of model.keys.keys()) {
    cv[key] = model.cvStats(key).map((s) => ({ outer: s.outer, grid_point_id: s.gridPointId, hyperparameters: s.hp,
      folds: s.folds, done: s.done, n: s.n, mean: s.mean, std: s.std }));
  }
  const s = model.searchSummary();
  const search = s && { searcher: s.searcher, scheduler: s.scheduler, trials: s.trials.map((e) => e.id),
    epochs_trained: s.epochsTrained, epochs_full: s.epochsFull, winner: s.winner ? s.winner.id : null };
  const b = model.best();
  const best = { experiment: b.experiment ? b.experiment.id : null,
    grid_points: b.gridPoints.map((g) => ({ outer: g.outer, grid_point_id: g.gridPointId })) };
  return { applied_all: ok, best, status: model.status(), last_seq: model.lastSeq, selection: model.selection,
    keys: [...model.keys.keys()], experiments, cv, search };
}

/** Every event of a log (JSONL) parsed; the text after the last newline (empty, or a torn write) skipped. */
export function readLog(path) {
  const lines = readFileSync(path, "utf8").split("\n");
  lines.pop();
  return lines.filter((line) => line.trim()).map(parseEventLine);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const model = new RunModel("parity");
  const ok = model.apply(readLog(process.argv[2]));
  process.stdout.write(JSON.stringify(dump(model, ok)));
}
