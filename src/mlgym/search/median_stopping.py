"""The median stopping rule (Golovin et al. 2017, Google Vizier): a trial stops when its best score so far is worse
than the median of the other trials' running averages at the same epoch.

Trials pause at decision epochs `min_epochs, min_epochs + interval, ...` (below `num_epochs`). When one pauses at
epoch e, the other trials that reached e (running or finished) are compared by their running average (the mean of
their scores at epochs 1..e). With at least `min_samples` of them, the trial stops if its best score up to e is
strictly worse than their median; otherwise, or with fewer, it goes on to the next decision epoch at once: unlike
ASHA, nobody waits for a decision.

Pure bookkeeping like `asha.Asha`: the same calls always give the same decisions (warm start replays them).
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlgym.search.asha import Decision


def decision_epochs(min_epochs: int, interval: int, num_epochs: int) -> list[int]:
    """The epochs trials pause at: min_epochs, min_epochs + interval, ... below num_epochs."""
    return list(range(min_epochs, num_epochs, interval))


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


@dataclass
class MedianStopping:
    """The decision epochs of one search, every trial's scores per epoch, and the rule; `mode` max or min."""

    min_epochs: int
    interval: int
    min_samples: int
    num_epochs: int
    mode: str
    metric: str
    rungs: list[int] = field(init=False)
    scores: dict[int, dict[int, float | None]] = field(init=False, default_factory=dict)  # trial -> epoch -> score
    _promotions: list[Decision] = field(init=False, default_factory=list)
    _stops: list[Decision] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.rungs = decision_epochs(self.min_epochs, self.interval, self.num_epochs)

    def stop_epoch(self, rung: int) -> int:
        return self.rungs[rung] if rung < len(self.rungs) else self.num_epochs

    def record(self, trial: int, history: Mapping[Any, Mapping[str, Any]]) -> None:
        """Keep `trial`'s scores by epoch (a finished trial's too: it is one of the others from now on)."""
        mine = self.scores.setdefault(trial, {})
        for epoch, values in history.items():
            mine[int(epoch)] = _finite((values or {}).get(self.metric))

    def running_average(self, trial: int, epoch: int) -> float | None:
        values = [v for e, v in self.scores.get(trial, {}).items() if e <= epoch and v is not None]
        return sum(values) / len(values) if values else None

    def best(self, trial: int, epoch: int) -> float | None:
        values = [v for e, v in self.scores.get(trial, {}).items() if e <= epoch and v is not None]
        if not values:
            return None
        return max(values) if self.mode == "max" else min(values)

    def median(self, trial: int, epoch: int) -> float | None:
        """The median of the running averages at `epoch` of the other trials that reached it (None: too few)."""
        averages = [self.running_average(other, epoch) for other, scores in self.scores.items()
                    if other != trial and scores and max(scores) >= epoch]
        averages = [a for a in averages if a is not None]
        return statistics.median(averages) if len(averages) >= self.min_samples else None

    def report(self, trial: int, epoch: int, score: float | None, history: Mapping[Any, Mapping[str, Any]]) -> None:
        """`trial` paused at decision epoch `epoch`: decide now whether it goes on."""
        self.record(trial, history)
        rung = self.rungs.index(epoch)
        best, median = self.best(trial, epoch), self.median(trial, epoch)
        decision = Decision(trial, rung, epoch, best, median)
        worse = median is not None and (best is None or (best < median if self.mode == "max" else best > median))
        (self._stops if worse else self._promotions).append(decision)

    def promotion(self) -> Decision | None:
        return self._promotions.pop(0) if self._promotions else None

    def stopped_now(self) -> list[Decision]:
        stops, self._stops = self._stops, []
        return stops

    def stop_waiting(self) -> list[Decision]:
        return []  # nobody waits: every pause is decided when it is reported
