"""An incremental read model of one grid search, built by applying its events in order.

Used by MLboard (kept up to date as events are stored, never re-reading the log), by `mlgym report`, the results
tables, the terminal progress and warm start. It is the only Python reader of events; its rules are written down in
docs/events.md ("Read model") and the dashboard's run_model.js follows the same ones. Pure Python: no torch, no
pandas.
"""
from __future__ import annotations

import math
import time
from typing import Any

from mlgym.events.config_overrides import resolved_config
from mlgym.events.experiment_view import ExperimentView
from mlgym.events.read_rules import (DIRECTIONS, ScoreTuple, declared, fallback_direction, improves, mean_std,
                                     score_tuples)

ACTIVE = {"scheduled", "running"}
STALE_AFTER_HEARTBEATS = 3  # a running grid search with no event for this many heartbeats is `stale`
CV_ROLES = ("cv_fold", "inner")
_JOB_STATUS = {"running": "running", "retrying": "running", "done": "done", "failed": "failed"}

__all__ = ["ACTIVE", "ExperimentView", "GridSearchProjection"]


class GridSearchProjection:
    """Summaries of one grid search kept up to date event by event."""

    def __init__(self, grid_search_id: str) -> None:
        self.grid_search_id = grid_search_id
        self.start_ts: float | None = None
        self.strategy: str | None = None
        self.status = "running"
        self.num_experiments = 0
        self.last_seq = -1
        self.last_ts: float | None = None  # the newest event's creation_ts (every event is written by the main process)
        self.heartbeat_s: float | None = None  # grid_search_started's; None (older logs): never stale
        self.started: dict[str, Any] = {}
        self.finished: dict[str, Any] | None = None
        self.score_directions: dict[str, Any] = {}  # the grid search's `score_directions`
        self._selection: dict[str, Any] = {"split": "val", "metric": None, "mode": None}
        self._kinds: dict[str, str] = {}  # score name -> "metric" | "loss", as first seen in the grid search
        self._keys: dict[str, str] = {}  # score key -> kind, in order of appearance
        self._first_metric: dict[str, str] = {}  # split -> first metric name scored on it by any experiment
        self._experiments: dict[str, ExperimentView] = {}
        self._config_bases: dict[str, dict[str, Any]] = {}  # config id -> the config of a `config_base` event

    # -- applying events -------------------------------------------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        self.last_seq = max(self.last_seq, event["seq"])
        ts = event.get("creation_ts")
        if isinstance(ts, (int, float)) and (self.last_ts is None or ts > self.last_ts):
            self.last_ts = float(ts)
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
        beat = p.get("heartbeat_s")
        self.heartbeat_s = float(beat) if isinstance(beat, (int, float)) and beat > 0 else None
        if isinstance(p.get("score_directions"), dict):
            self.score_directions = p["score_directions"]
            for exp in self._experiments.values():
                exp.forget_directions()
        selection = p.get("selection")
        if isinstance(selection, dict):
            self._selection = {"split": selection.get("split") or "val", "metric": selection.get("metric"),
                               "mode": selection.get("mode") if selection.get("mode") in DIRECTIONS else None}

    def _on_grid_search_finished(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        self.finished = p
        self.status = p.get("status", "done")

    def _on_config_base(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        if isinstance(p.get("config_id"), str) and isinstance(p.get("config"), dict):
            self._config_bases[p["config_id"]] = p["config"]

    def _on_experiment_config(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is None:
            return
        # schema 2: a base's id and the overrides (the config is rebuilt when asked for); schema 1: the config
        exp.config_ref = {key: p[key] for key in ("config", "config_base", "config_overrides")
                          if p.get(key) is not None}
        exp.grid_point_id = p.get("grid_point_id")
        exp.hyperparameters = p.get("hyperparameters") or {}
        if p.get("num_epochs") is not None:
            exp.num_epochs = p["num_epochs"]
        exp.role = p.get("role") or "train"
        exp.fold = p.get("fold")
        if isinstance(p.get("score_directions"), dict):
            exp.score_directions = p["score_directions"]
            exp.forget_directions()

    def _on_job_scheduled(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is not None and exp.status != "done":
            exp.status = "scheduled"
            self._record(exp, event, "scheduled")

    def _on_job_status(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        status = p.get("status")
        if exp is None or status not in _JOB_STATUS:
            return
        # a job that ended at an ASHA rung (its experiment_status said "paused") is paused, not done
        exp.status = "paused" if status == "done" and exp.train_status == "paused" else _JOB_STATUS[status]
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
        if p.get("num_epochs") is not None:
            exp.num_epochs = p["num_epochs"]
        if p.get("status") == "training" and exp.status == "scheduled":
            exp.status = "running"
        if p.get("status") in ("done", "early_stopped", "paused"):
            self._record(exp, event, p["status"])

    def _on_trial_suggested(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is not None:
            exp.trial = p.get("trial")

    def _on_trial_promoted(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is not None:
            exp.search_decision = {"decision": "promoted", **p}

    def _on_trial_stopped(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is not None:
            exp.search_decision = {"decision": "stopped", **p}

    def _on_evaluation_result(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        epoch = p.get("epoch")
        if exp is None or not _is_epoch(epoch):
            return
        self._add_scores(exp, int(epoch), score_tuples(p))

    def apply_scores(self, seq: int, creation_ts: float, experiment_id: str | None, epoch: int,
                     scores: list[ScoreTuple]) -> None:
        """What `apply` does with an `evaluation_result` of `experiment_id` at `epoch` (an int) whose scores are
        `scores` (`read_rules.score_tuples`): the fast path of a replay (`events/replay.py`), no dicts built."""
        if seq > self.last_seq:
            self.last_seq = seq
        if self.last_ts is None or creation_ts > self.last_ts:
            self.last_ts = creation_ts
        if experiment_id is None:
            return
        exp = self._experiments.get(experiment_id)
        if exp is None:
            exp = self._experiments[experiment_id] = ExperimentView(experiment_id)
        if epoch >= 0:
            self._add_scores(exp, epoch, scores)

    def _add_scores(self, exp: ExperimentView, epoch: int, scores: list[ScoreTuple]) -> None:
        if exp.status == "scheduled":
            exp.status = "running"
        if epoch > exp.epoch:
            exp.epoch = epoch
        keys = self._keys
        for key, split, name, kind, _ in scores:
            if keys.get(key) != kind:  # else the key was seen as this kind: its name and split are known too
                keys.setdefault(key, kind)
                self._kinds.setdefault(name, kind)
                if kind == "metric":
                    self._first_metric.setdefault(split, name)
        exp.add_scores(scores, epoch, self.score_directions, self._selection)

    def _on_training_progress(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is None:
            return
        if exp.status == "scheduled":
            exp.status = "running"
        exp.add_step_progress(p)

    def _on_alert(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is not None:
            exp.add_alert(p, event["seq"])

    def _on_checkpoint(self, event: dict[str, Any], p: dict[str, Any]) -> None:
        exp = self._exp(event)
        if exp is None:
            return
        exp.checkpoints.append({k: p.get(k) for k in ("action", "epoch", "step", "path", "bytes", "sha256",
                                                      "reason", "error", "checkpoint_seq")} | {"seq": event["seq"]})
        if len(exp.checkpoints) > 1000:
            del exp.checkpoints[:-1000]

    # -- rules -----------------------------------------------------------------------------------------------
    def direction(self, name: str) -> str:
        """The grid search's direction of `name`: its `score_directions`, else the loss/metric fallback."""
        return declared(self.score_directions, name) or fallback_direction(self._kinds.get(name, "metric"))

    @property
    def selection(self) -> dict[str, Any]:
        """{split, metric, mode} resolved: no metric -> the first metric scored on the split; no mode -> its
        direction. `metric` and `mode` stay None until a metric of that split was scored."""
        split, metric, mode = self._selection["split"], self._selection["metric"], self._selection["mode"]
        metric = metric or self._first_metric.get(split)
        return {"split": split, "metric": metric, "mode": mode or (self.direction(metric) if metric else None)}

    # -- reading ---------------------------------------------------------------------------------------------
    def is_stale(self, now: float | None = None) -> bool:
        """Running without `grid_search_finished`, and silent for more than 3 heartbeats: its process is gone."""
        return _is_stale(self.status, self.heartbeat_s, self.last_ts, now)

    def live_status(self, now: float | None = None) -> str:
        return "stale" if self.is_stale(now) else self.status

    def shown_status(self, exp: ExperimentView, now: float | None = None) -> str:
        """An experiment's status as readers show it: a scheduled or running one of a stale run is `interrupted`."""
        return "interrupted" if exp.status in ACTIVE and self.is_stale(now) else exp.status

    def counts(self, stale: bool | None = None) -> dict[str, int]:
        """Done, failed and running experiments; `stale` (default: whether it is now) shows active ones as
        interrupted."""
        stale = self.is_stale() if stale is None else stale
        statuses = [e.status for e in self._experiments.values()]
        return {"num_done": statuses.count("done"), "num_failed": statuses.count("failed"),
                "num_running": 0 if stale else statuses.count("running")}

    def list_state(self) -> dict[str, Any]:
        """What `list_summary` needs, small enough to keep for every grid search of a board (its list index)."""
        return {"start_ts": self.start_ts, "strategy": self.strategy, "status": self.status,
                "num_experiments": max(self.num_experiments, len(self._experiments)), "last_seq": self.last_seq,
                "last_ts": self.last_ts, "heartbeat_s": self.heartbeat_s, "counts": self.counts(stale=False)}

    def summary(self) -> dict[str, Any]:
        return list_summary(self.grid_search_id, self.list_state())

    def info(self) -> dict[str, Any]:
        s = self.started
        return {**self.summary(), "gs_config": s.get("gs_config"), "run_config": s.get("run_config"),
                "validation_config": s.get("validation_config"), "environment": s.get("environment"),
                "sweep_paths": s.get("sweep_paths", []), "selection": self.selection,
                "score_directions": self.score_directions, "finished": self.finished,
                "search": self.search_summary()}

    def experiments(self) -> list[dict[str, Any]]:
        stale = self.is_stale()
        return [self._shown(e.row(self.score_directions), e, stale) for e in self._experiments.values()]

    def experiment(self, experiment_id: str) -> dict[str, Any] | None:
        exp = self._experiments.get(experiment_id)
        if exp is None:
            return None
        return self._shown({**exp.detail(self.score_directions), "config": self.config(exp)}, exp, self.is_stale())

    def config(self, exp: ExperimentView) -> dict[str, Any] | None:
        """The experiment's resolved config (None before its `experiment_config`, or when its base is missing)."""
        return resolved_config(exp.config_ref, self._config_bases) if exp.config_ref else None

    @staticmethod
    def _shown(row: dict[str, Any], exp: ExperimentView, stale: bool) -> dict[str, Any]:
        if stale and exp.status in ACTIVE:
            row["status"] = "interrupted"
            if row.get("search_status") in ACTIVE:
                row["search_status"] = "interrupted"
        return row

    def views(self) -> dict[str, ExperimentView]:
        return self._experiments

    def score_keys(self) -> dict[str, str]:
        """Every score key scored so far -> "metric" | "loss", in order of appearance."""
        return dict(self._keys)

    def cv_stats(self, key: str) -> list[dict[str, Any]]:
        """Per (outer fold or None, grid point), over its fold experiments (roles cv_fold and inner): `latest[key]`
        of the members that are done and scored it finitely -> n, mean and sample std (ddof=1, None when n < 2)."""
        groups: dict[tuple[Any, str], dict[str, Any]] = {}
        for exp in self._experiments.values():
            if exp.role not in CV_ROLES:
                continue
            outer = (exp.fold or {}).get("outer")
            group = groups.get((outer, exp.group_id))
            if group is None:
                group = groups[(outer, exp.group_id)] = {"outer": outer, "grid_point_id": exp.group_id,
                                                         "hyperparameters": exp.hyperparameters, "folds": 0,
                                                         "done": 0, "values": []}
            group["folds"] += 1
            if exp.status == "done":
                group["done"] += 1
                value = exp.latest.get(key)
                if value is not None and math.isfinite(value):
                    group["values"].append(value)
        return [_with_stats(group) for group in groups.values()]

    def search_summary(self) -> dict[str, Any] | None:
        """A search's trials and what they cost (docs/events.md, "Read model"): None for a grid search.

        `trials`: the experiments with a trial number (`trial_suggested`), by trial number; a random search without
        a scheduler logs none, so there every `train` experiment, in order of appearance. `epochs_trained` sums
        their highest evaluated epochs, `epochs_full` their `num_epochs` (the grid search's when an experiment has
        none). `winner`: the trial with the best selection score (`selected_score`, by the selection's mode); a tie
        keeps the earlier trial; None until one was scored."""
        search = self.started.get("search") if isinstance(self.started.get("search"), dict) else {}
        views = list(self._experiments.values())
        trials = sorted((v for v in views if v.trial is not None), key=lambda v: v.trial)
        if not trials and search.get("searcher", "grid") != "grid":
            trials = [v for v in views if v.role == "train"]
        if not trials and not search.get("scheduler") and search.get("searcher", "grid") == "grid":
            return None
        full = self.started.get("num_epochs")
        mode, winner, best = self.selection["mode"], None, None
        for v in trials:
            score = v.selected_score
            if score is not None and mode is not None and improves(score, best, mode):
                winner, best = v.experiment_id, score
        return {"searcher": search.get("searcher", "grid"), "scheduler": search.get("scheduler"),
                "trials": [v.experiment_id for v in trials], "epochs_trained": sum(v.epoch for v in trials),
                "epochs_full": sum(v.num_epochs if v.num_epochs is not None else (full or 0) for v in trials),
                "winner": winner}

    def refit_stats(self, key: str) -> dict[str, Any]:
        """Over the outer folds of nested CV: `latest[key]` of the refits that are done -> n, mean, std (ddof=1)."""
        values = [exp.latest[key] for exp in self.refits() if exp.status == "done" and exp.latest.get(key) is not None]
        stats = mean_std(values)
        return {"n": stats.n, "mean": stats.mean, "std": stats.std}

    def refits(self) -> list[ExperimentView]:
        """The nested-CV refits, by outer fold."""
        return sorted((e for e in self._experiments.values() if e.role == "refit"),
                      key=lambda e: (e.fold or {}).get("outer") or 0)


def _is_stale(status: str, heartbeat_s: float | None, last_ts: float | None, now: float | None = None) -> bool:
    if status != "running" or heartbeat_s is None or last_ts is None:
        return False
    now = time.time() if now is None else now
    return now - last_ts > STALE_AFTER_HEARTBEATS * heartbeat_s


def list_summary(grid_search_id: str, state: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """A grid search's summary row from its `list_state()`, with status and counts as of `now`."""
    stale = _is_stale(state["status"], state["heartbeat_s"], state["last_ts"], now)
    return {"grid_search_id": grid_search_id, "start_ts": state["start_ts"], "strategy": state["strategy"],
            "status": "stale" if stale else state["status"], "num_experiments": state["num_experiments"],
            **state["counts"], **({"num_running": 0} if stale else {}), "last_seq": state["last_seq"],
            "last_event_ts": state["last_ts"]}


def _is_epoch(value: Any) -> bool:
    """A whole number >= 0 (`2.0` counts, as it does for JavaScript)."""
    return (not isinstance(value, bool) and isinstance(value, (int, float)) and float(value).is_integer()
            and value >= 0)


def _with_stats(group: dict[str, Any]) -> dict[str, Any]:
    values = group.pop("values")
    stats = mean_std(values)
    return {**group, "n": stats.n, "mean": stats.mean, "std": stats.std}
