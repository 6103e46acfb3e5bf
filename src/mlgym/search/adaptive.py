"""An adaptive search: a searcher that suggests configs, optionally ASHA deciding how long each trains, and the
rule that keeps `max_concurrent` trials running. It only decides: the run layer (`mlgym.run.search_run`) turns
its actions into tasks and events, and warm start replays the logged results into a fresh one to rebuild it.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlgym.config.sweep import GridPoint
from mlgym.search.asha import Asha, Decision
from mlgym.search.median_stopping import MedianStopping

TrialScheduler = Asha | MedianStopping


class Searcher(ABC):
    """Suggests trial configs; told how each trial went (Optuna learns from it; a fixed list ignores it)."""

    @abstractmethod
    def suggest(self, trial: int, params: Mapping[str, Any] | None = None) -> GridPoint | None:
        """Trial `trial`'s config, or None when the searcher has no more. `params`, when given (a replay of a
        logged suggestion), are the trial's values: the searcher records them instead of drawing."""

    def report(self, trial: int, epoch: int, score: float | None) -> None:
        """An intermediate score (the trial paused at a rung)."""

    def finish(self, trial: int, state: str, score: float | None) -> None:
        """The trial ended: `complete` (with its final score), `pruned` (stopped by the scheduler) or `failed`."""


class PointList(Searcher):
    """A list planned in advance (every grid point, or a random search's draws), suggested in order."""

    def __init__(self, points: list[GridPoint]) -> None:
        self.points = points

    def suggest(self, trial: int, params: Mapping[str, Any] | None = None) -> GridPoint | None:
        return self.points[trial] if trial < len(self.points) else None


@dataclass(frozen=True)
class Start:
    """Start trial `trial` with `point`, training to epoch `stop_at` (None: to the end)."""

    trial: int
    point: GridPoint
    stop_at: int | None


@dataclass(frozen=True)
class Promote:
    """Resume a paused trial (ASHA promoted it) up to epoch `stop_at` (None: to the end)."""

    decision: Decision
    stop_at: int | None


@dataclass(frozen=True)
class Stop:
    """The trial waits at its rung for good."""

    decision: Decision


Action = Start | Promote | Stop


def score_at(history: Mapping[Any, Mapping[str, Any]], epoch: int, metric: str) -> float | None:
    """The finite score `metric` of `epoch` in a job's history (keys may be ints or, from JSON, strings)."""
    scores = history.get(epoch, history.get(str(epoch), {}))
    value = scores.get(metric) if scores else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


class AdaptiveSearch:
    """Keeps `max_concurrent` trials running: the scheduler's promotions first (ASHA, median stopping), else a
    new suggestion while fewer than `num_samples` were made; ASHA's waiting trials stop once nothing runs and
    nothing can start. `completed` holds the finished trials' final scores (not the stopped ones)."""

    def __init__(self, searcher: Searcher, num_samples: int, max_concurrent: int, num_epochs: int, metric: str,
                 asha: TrialScheduler | None = None) -> None:
        self.searcher = searcher
        self.num_samples = num_samples
        self.max_concurrent = max(1, max_concurrent)
        self.num_epochs = num_epochs
        self.metric = metric
        self.asha = asha
        self.next_trial = 0
        self.running: set[int] = set()
        self.replay: dict[int, Mapping[str, Any]] = {}  # trial -> logged params (warm start)
        self.completed: dict[int, float | None] = {}

    def start(self) -> list[Action]:
        return self._fill()

    def on_result(self, trial: int, ok: bool, history: Mapping[Any, Mapping[str, Any]], last_epoch: int,
                  stopped_early: bool = False) -> list[Action]:
        """A task of `trial` ended; the actions that follow."""
        self.running.discard(trial)
        score = score_at(history, last_epoch, self.metric) if ok else None
        if not ok:
            self.searcher.finish(trial, "failed", None)
        elif self.asha is not None and not stopped_early and last_epoch in self.asha.rungs:
            self.asha.report(trial, last_epoch, score, history)
            self.searcher.report(trial, last_epoch, score)
        else:
            if self.asha is not None:
                self.asha.record(trial, history)
            self.completed[trial] = score
            self.searcher.finish(trial, "complete", score)
        return self._fill()

    @property
    def finished(self) -> bool:
        """Nothing runs and nothing more will start."""
        return not self.running and self.next_trial >= self.num_samples

    def _first_stop(self) -> int | None:
        if self.asha is None or not self.asha.rungs:
            return None
        return self.asha.stop_epoch(0)

    def _fill(self) -> list[Action]:
        actions: list[Action] = []
        if self.asha is not None:
            for stop in self.asha.stopped_now():  # median stopping decides at once
                self.searcher.finish(stop.trial, "pruned", stop.score)
                actions.append(Stop(stop))
        while len(self.running) < self.max_concurrent:
            promotion = self.asha.promotion() if self.asha is not None else None
            if promotion is not None:
                stop_at = self.asha.stop_epoch(promotion.rung + 1)  # type: ignore[union-attr]
                self.running.add(promotion.trial)
                actions.append(Promote(promotion, None if stop_at >= self.num_epochs else stop_at))
                continue
            if self.next_trial >= self.num_samples:
                break
            point = self.searcher.suggest(self.next_trial, self.replay.get(self.next_trial))
            if point is None:  # the searcher has no more (a grid smaller than num_samples)
                self.num_samples = self.next_trial
                break
            self.running.add(self.next_trial)
            actions.append(Start(self.next_trial, point, self._first_stop()))
            self.next_trial += 1
        if not self.running and self.asha is not None:
            for stop in self.asha.stop_waiting():
                self.searcher.finish(stop.trial, "pruned", stop.score)
                actions.append(Stop(stop))
        return actions
