"""An incremental read model of one grid search, built by applying its events in order.

Used by MLboard (kept up to date as events are stored, never re-reading the log) and by `mlgym report` and warm
start (replaying the log once). Pure Python: no torch, no pandas.
"""
from __future__ import annotations

from typing import Any

ACTIVE = {"scheduled", "running"}


def _better(score: float, best: float | None, mode: str) -> bool:
    return best is None or (score > best if mode == "max" else score < best)


class ExperimentView:
    """What is known of one experiment: status, progress, latest and best scores, checkpoints."""

    def __init__(self, experiment_id: str) -> None:
        self.experiment_id = experiment_id
        self.grid_point_id: str | None = None
        self.role = "train"
        self.fold: dict[str, int] | None = None
        self.hyperparameters: dict[str, Any] = {}
        self.config: dict[str, Any] | None = None
        self.status = "scheduled"
        self.train_status: str | None = None
        self.epoch = 0
        self.num_epochs: int | None = None
        self.latest: dict[str, float] = {}
        self.best: dict[str, float] = {}
        self.best_epoch: int | None = None
        self.best_scores: dict[str, float] = {}
        self.error: str | None = None
        self.traceback: str | None = None
        self.status_history: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []
        self._epoch_seen = 0
        self._epoch_scores: dict[str, float] = {}
        self.history: dict[int, dict[str, float]] = {}

    def row(self) -> dict[str, Any]:
        return {"experiment_id": self.experiment_id, "grid_point_id": self.grid_point_id, "role": self.role,
                "fold": self.fold, "hyperparameters": self.hyperparameters, "status": self.status,
                "epoch": self.epoch, "num_epochs": self.num_epochs, "latest": self.latest, "best": self.best,
                "best_epoch": self.best_epoch, "scores_at_best": self.best_scores, "error": self.error}

    def detail(self) -> dict[str, Any]:
        return {**self.row(), "config": self.config, "status_history": self.status_history,
                "traceback": self.traceback, "checkpoints": self.checkpoints, "train_status": self.train_status}


class GridSearchProjection:
    """Summaries of one grid search kept up to date event by event; `keep_history` also keeps per-epoch scores."""

    def __init__(self, grid_search_id: str, keep_history: bool = False) -> None:
        self.grid_search_id = grid_search_id
        self.keep_history = keep_history
        self.start_ts: float | None = None
        self.strategy: str | None = None
        self.status = "running"
        self.num_experiments = 0
        self.last_seq = -1
        self.started: dict[str, Any] = {}
        self.finished: dict[str, Any] | None = None
        self.selection: dict[str, Any] = {"split": "val", "metric": None, "mode": "max"}
        self._experiments: dict[str, ExperimentView] = {}

    # -- applying events -------------------------------------------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        self.last_seq = max(self.last_seq, event["seq"])
        handler = getattr(self, f"_on_{event['event_type']}", None)
        if handler is not None:
            handler(event, event.get("payload") or {})

    def _exp(self, event: dict[str, Any]) -> ExperimentView | None:
        eid = event.get("experiment_id")
        if eid is None:
            return None
        if eid not in self._experiments:
            self._experiments[eid] = ExperimentView(eid)
        return self._experiments[eid]

    def _record(self, exp: ExperimentView, event: dict[str, Any], status: str) -> None:
        exp.status_history.append({"seq": event["seq"], "ts": event["creation_ts"], "status": status,
                                   "event_type": event["event_type"]})

    def _on_grid_search_started(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        if self.start_ts is None:
            self.start_ts = event["creation_ts"]
        self.strategy = p.get("strategy", self.strategy)
        self.num_experiments = p.get("num_experiments", self.num_experiments)
        self.started = p
        self.status = "running"
        self.finished = None
        self.selection = {**self.selection, **(p.get("selection") or {})}

    def _on_grid_search_finished(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        self.finished = p
        self.status = p.get("status", "done")

    def _on_experiment_config(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is None:
            return
        exp.config = p.get("config")
        exp.grid_point_id = p.get("grid_point_id")
        exp.hyperparameters = p.get("hyperparameters") or {}
        exp.num_epochs = p.get("num_epochs")
        exp.role = p.get("role", "train")
        exp.fold = p.get("fold")

    def _on_job_scheduled(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is not None and exp.status not in ("done",):
            exp.status = "scheduled"
            self._record(exp, event, "scheduled")

    def _on_job_status(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is None:
            return
        status = p.get("status", "running")
        exp.status = "running" if status == "retrying" else status
        if status == "failed":
            exp.error, exp.traceback = p.get("error"), p.get("traceback")
        elif status in ("running", "done"):
            exp.error = exp.traceback = None
        self._record(exp, event, status)

    def _on_experiment_status(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is None:
            return
        exp.train_status = p.get("status")
        exp.num_epochs = p.get("num_epochs", exp.num_epochs)
        if p.get("status") in ("done", "early_stopped"):
            exp.epoch = p.get("epoch", exp.epoch)
            self._record(exp, event, p["status"])

    def _on_evaluation_result(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is None:
            return
        epoch = int(p.get("epoch", 0))
        if epoch != exp._epoch_seen:
            exp._epoch_seen = epoch
            exp._epoch_scores = {}
        scores = {f"{s['split']}/{s['metric']}": s["score"] for s in p.get("metric_scores", [])}
        losses = {f"{s['split']}/{s['loss']}": s["score"] for s in p.get("loss_scores", [])}
        exp._epoch_scores.update(scores)
        exp._epoch_scores.update(losses)
        exp.epoch = epoch
        exp.latest.update(scores)
        exp.latest.update(losses)
        for key, score in scores.items():
            if _better(score, exp.best.get(key), "max"):
                exp.best[key] = score
        for key, score in losses.items():
            if _better(score, exp.best.get(key), "min"):
                exp.best[key] = score
        if self.keep_history:
            exp.history.setdefault(epoch, {}).update(exp._epoch_scores)
        key = self._selection_key(exp._epoch_scores)
        if key is not None and key in scores | losses:
            best = exp.best_scores.get(key) if exp.best_epoch != epoch else None
            if exp.best_epoch == epoch or _better(exp._epoch_scores[key], best, self.selection["mode"]):
                exp.best_epoch = epoch
                exp.best_scores = exp._epoch_scores
        elif exp.best_epoch == epoch:
            exp.best_scores = exp._epoch_scores

    def _selection_key(self, scores: dict[str, float]) -> str | None:
        split, metric = self.selection["split"], self.selection.get("metric")
        if metric:
            return f"{split}/{metric}"
        for key in scores:
            if key.startswith(f"{split}/"):
                self.selection = {**self.selection, "metric": key.split("/", 1)[1]}
                return key
        return None

    def _on_checkpoint(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is None:
            return
        exp.checkpoints.append({k: p.get(k) for k in ("action", "epoch", "path", "bytes", "sha256", "reason",
                                                      "error")} | {"seq": event["seq"]})
        if len(exp.checkpoints) > 1000:
            del exp.checkpoints[:-1000]

    # -- reading ---------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        statuses = [e.status for e in self._experiments.values()]
        return {"num_done": statuses.count("done"), "num_failed": statuses.count("failed"),
                "num_running": statuses.count("running")}

    def summary(self) -> dict[str, Any]:
        return {"grid_search_id": self.grid_search_id, "start_ts": self.start_ts, "strategy": self.strategy,
                "status": self.status, "num_experiments": max(self.num_experiments, len(self._experiments)),
                **self.counts(), "last_seq": self.last_seq}

    def info(self) -> dict[str, Any]:
        s = self.started
        return {**self.summary(), "gs_config": s.get("gs_config"), "run_config": s.get("run_config"),
                "validation_config": s.get("validation_config"), "environment": s.get("environment"),
                "sweep_paths": s.get("sweep_paths", []), "selection": self.selection,
                "finished": self.finished}

    def experiments(self) -> list[dict[str, Any]]:
        return [e.row() for e in self._experiments.values()]

    def experiment(self, experiment_id: str) -> dict[str, Any] | None:
        exp = self._experiments.get(experiment_id)
        return exp.detail() if exp else None

    def views(self) -> dict[str, ExperimentView]:
        return self._experiments
