"""What the read model knows of one experiment (one training job); `GridSearchProjection` feeds it events."""
from __future__ import annotations

import math
from array import array
from typing import Any

from mlgym.events.read_rules import ScoreTuple, declared, fallback_direction, improves

NOT_SCORED = math.nan  # an epoch without a (finite) score of a key in `ExperimentView.series`
STEP_FIELDS = ("epoch", "step", "num_steps", "global_step", "loss", "lr", "samples_per_s", "skipped_steps",
               "max_memory_allocated")
ALERT_FIELDS = ("epoch", "when", "action", "key", "value", "message")
MAX_ALERTS = 100


class ExperimentView:
    """Status, progress, and latest / best scores of one experiment, kept up to date event by event."""

    def __init__(self, experiment_id: str) -> None:
        self.experiment_id = experiment_id
        self.grid_point_id: str | None = None
        self.role = "train"
        self.fold: dict[str, int] | None = None
        self.hyperparameters: dict[str, Any] = {}
        # the config fields of its `experiment_config` (`config`, or `config_base` + `config_overrides`): the
        # projection rebuilds the config from them (`GridSearchProjection.config`)
        self.config_ref: dict[str, Any] | None = None
        self.score_directions: dict[str, Any] = {}  # this experiment's own `score_directions`
        self.status = "scheduled"
        self.train_status: str | None = None
        self.epoch = 0  # the highest evaluated epoch
        self.num_epochs: int | None = None
        self.latest: dict[str, float | None] = {}
        self.best: dict[str, float] = {}
        self.best_epochs: dict[str, int] = {}  # key -> epoch of `best[key]`
        self.best_epoch: int | None = None  # epoch of the best selection-key score
        self.error: str | None = None
        self.traceback: str | None = None
        self.status_history: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.kinds: dict[str, str] = {}  # score name -> "metric" | "loss", as first seen
        self.first_metric: dict[str, str] = {}  # split -> the first metric name scored on it
        self.series: dict[str, array] = {}  # key -> score per epoch (index = epoch), NaN where none
        self.step_progress: dict[str, Any] | None = None  # the last `training_progress` (STEP_FIELDS)
        self.alerts: list[dict[str, Any]] = []  # the last MAX_ALERTS `alert` events (ALERT_FIELDS + seq)
        self.num_alerts = 0
        self.trial: int | None = None  # an adaptive search's trial number (`trial_suggested`)
        self.search_decision: dict[str, Any] | None = None  # its last `trial_promoted` / `trial_stopped`
        self._best_selected: float | None = None
        self._direction_cache: dict[str, str] = {}  # name -> direction in effect (`add_scores`)

    @property
    def group_id(self) -> str:
        """The grid point this experiment belongs to (its id's first part when no config names it)."""
        return self.grid_point_id or self.experiment_id.split(".")[0]

    # -- rules -----------------------------------------------------------------------------------------------
    def direction(self, name: str, grid_directions: dict[str, Any]) -> str:
        """This experiment's `score_directions`, else the grid search's, else the loss/metric fallback."""
        return (declared(self.score_directions, name) or declared(grid_directions, name)
                or fallback_direction(self.kinds.get(name, "metric")))

    def directions(self, grid_directions: dict[str, Any]) -> dict[str, str]:
        """name -> direction in effect, for every name scored or declared."""
        names = [*self.kinds, *(n for n in grid_directions if n not in self.kinds),
                 *(n for n in self.score_directions if n not in self.kinds and n not in grid_directions)]
        return {name: self.direction(name, grid_directions) for name in names}

    def selection_key(self, selection: dict[str, Any]) -> str | None:
        """`<split>/<metric>` of the grid search's selection; no metric: the first one scored on that split."""
        split = selection["split"]
        metric = selection.get("metric") or self.first_metric.get(split)
        return None if metric is None else f"{split}/{metric}"

    @property
    def selected_score(self) -> float | None:
        """The best selection-key score (the one `best_epoch` points at); None while it was never scored finitely."""
        return self._best_selected

    @property
    def search_status(self) -> str:
        """Where an adaptive search left this trial: `stopped at rung k (epoch e)`, `promoted from rung k`
        (+ `, <status>` unless paused), or just the status (no decision yet, or done)."""
        decision = self.search_decision
        if decision is None or self.status == "done":
            return self.status
        if decision["decision"] == "stopped":
            return f"stopped at rung {decision['rung']} (epoch {decision['epoch']})"
        return f"promoted from rung {decision['rung']}" + (f", {self.status}" if self.status != "paused" else "")

    @property
    def progress(self) -> float:
        """Fraction of the planned training done, 0..1: done -> 1; else max(evaluated epochs, epochs before the
        last reported step + its fraction of that epoch's steps) / num_epochs; 0 without num_epochs."""
        if self.status == "done":
            return 1.0
        if not self.num_epochs:
            return 0.0
        done = float(self.epoch)
        sp = self.step_progress
        if sp is not None and _number(sp.get("epoch")) and _number(sp.get("step")) and _number(sp.get("num_steps")) \
                and sp["num_steps"] > 0:
            done = max(done, sp["epoch"] - 1 + min(sp["step"], sp["num_steps"]) / sp["num_steps"])
        return min(1.0, done / self.num_epochs)

    # -- applying --------------------------------------------------------------------------------------------
    def add_step_progress(self, payload: dict[str, Any]) -> None:
        self.step_progress = {k: payload.get(k) for k in STEP_FIELDS}
        if self.step_progress["skipped_steps"] is None:
            self.step_progress["skipped_steps"] = 0

    def add_alert(self, payload: dict[str, Any], seq: int) -> None:
        self.num_alerts += 1
        self.alerts.append({k: payload.get(k) for k in ALERT_FIELDS} | {"seq": seq})
        if len(self.alerts) > MAX_ALERTS:
            del self.alerts[:-MAX_ALERTS]

    def add_scores(self, scores: list[ScoreTuple], epoch: int, grid_directions: dict[str, Any],
                   selection: dict[str, Any]) -> None:
        """Apply one `evaluation_result`'s scores, in logged order, at `epoch`; `scores` are (key, split, name, kind,
        finite value or None), as `read_rules.score_tuples` gives them. The per-score rules (latest, best in the
        score's direction, best epoch by the selection) are those of docs/events.md; the directions in effect
        are remembered per name until `forget_directions` (called when a `score_directions` changes)."""
        kinds, series, latest, best, cache = self.kinds, self.series, self.latest, self.best, self._direction_cache
        selected = self.selection_key(selection)
        for key, split, name, kind, value in scores:
            ys = series.get(key)
            if ys is None:  # a key seen for the first time (so may be its name)
                ys = series[key] = array("d")
                if name not in kinds:
                    kinds[name] = kind
            if kind == "metric" and split not in self.first_metric:
                self.first_metric[split] = name
                selected = self.selection_key(selection)
            size = len(ys)  # 1 + the highest epoch this key was logged at so far
            if size == epoch:
                ys.append(NOT_SCORED if value is None else value)
            else:
                if size < epoch:
                    ys.extend([NOT_SCORED] * (epoch + 1 - size))
                ys[epoch] = NOT_SCORED if value is None else value
            if epoch >= size - 1:  # the latest epoch of the key (a None value too)
                latest[key] = value
            if value is None:
                continue
            direction = cache.get(name)
            if direction is None:
                direction = cache[name] = self.direction(name, grid_directions)
            old = best.get(key)
            if old is None or (value < old if direction == "min" else value > old):
                best[key] = value
                self.best_epochs[key] = epoch
            if key == selected:
                mode = selection.get("mode") or direction
                if improves(value, self._best_selected, mode):
                    self._best_selected = value
                    self.best_epoch = epoch

    def forget_directions(self) -> None:
        """Its own or the grid search's `score_directions` changed: work the directions out again."""
        self._direction_cache.clear()

    # -- reading ---------------------------------------------------------------------------------------------
    def scores_at(self, epoch: int | None) -> dict[str, float]:
        """The last finite score of every key at `epoch`."""
        if epoch is None:
            return {}
        return {key: ys[epoch] for key, ys in self.series.items() if epoch < len(ys) and not math.isnan(ys[epoch])}

    @property
    def scores_at_best(self) -> dict[str, float]:
        return self.scores_at(self.best_epoch)

    def history(self) -> dict[int, dict[str, float]]:
        """epoch -> {key: score} of every evaluated epoch (finite scores only)."""
        epochs = sorted({e for ys in self.series.values() for e in range(len(ys)) if not math.isnan(ys[e])})
        return {e: self.scores_at(e) for e in epochs}

    def row(self, grid_directions: dict[str, Any]) -> dict[str, Any]:
        return {"experiment_id": self.experiment_id, "grid_point_id": self.grid_point_id, "role": self.role,
                "fold": self.fold, "hyperparameters": self.hyperparameters, "status": self.status,
                "epoch": self.epoch, "num_epochs": self.num_epochs, "latest": self.latest, "best": self.best,
                "best_epoch": self.best_epoch, "scores_at_best": self.scores_at_best, "error": self.error,
                "directions": self.directions(grid_directions), "progress": self.progress,
                "step_progress": self.step_progress, "num_alerts": self.num_alerts, "trial": self.trial,
                "search_decision": self.search_decision, "search_status": self.search_status,
                "selected_score": self.selected_score}

    def detail(self, grid_directions: dict[str, Any]) -> dict[str, Any]:
        return {**self.row(grid_directions), "status_history": self.status_history,
                "traceback": self.traceback, "checkpoints": self.checkpoints, "train_status": self.train_status,
                "alerts": self.alerts}


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
