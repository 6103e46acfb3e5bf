"""Asynchronous successive halving (ASHA, Li et al. 2020): which paused trial goes on, and which stop.

Rungs are at `min_epochs * reduction_factor**k` epochs, below `num_epochs` (the last milestone, not a rung). A trial
trains to its rung and pauses there with its score recorded. When a worker is free, the top rung down, the first
trial in the top `1/reduction_factor` of its rung's recorded scores (`floor(n / reduction_factor)` of the n so far)
that was not promoted yet is promoted to the next milestone; if none is, a new trial starts (when samples remain).
When no trial runs, no promotion is possible and no sample remains, the trials still waiting are stopped.

Pure bookkeeping: no clock, no threads, and the same calls always give the same decisions.
"""
from __future__ import annotations

from dataclasses import dataclass, field


def rung_epochs(min_epochs: int, reduction_factor: int, num_epochs: int) -> list[int]:
    """The epochs trials pause at: min_epochs * reduction_factor**k below num_epochs (1, 3, 9 of 10 epochs)."""
    epochs, epoch = [], min_epochs
    while epoch < num_epochs:
        epochs.append(epoch)
        epoch *= reduction_factor
    return epochs


@dataclass(frozen=True)
class Decision:
    """Promote `trial` from rung `rung` (or stop it there): it reached the rung at `epoch` with `score`; `cut`
    is the worst score in the rung's top 1/reduction_factor when decided (None: the top is empty)."""

    trial: int
    rung: int
    epoch: int
    score: float | None
    cut: float | None


@dataclass
class Asha:
    """The rungs of one search, their recorded scores, and the promotion rule; `mode` max or min."""

    min_epochs: int
    reduction_factor: int
    num_epochs: int
    mode: str
    rungs: list[int] = field(init=False)
    recorded: list[dict[int, float | None]] = field(init=False)  # per rung: trial -> score, in arrival order
    promoted: list[set[int]] = field(init=False)
    stopped: set[int] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.rungs = rung_epochs(self.min_epochs, self.reduction_factor, self.num_epochs)
        self.recorded = [{} for _ in self.rungs]
        self.promoted = [set() for _ in self.rungs]

    def stop_epoch(self, rung: int) -> int:
        """Where a trial trains to from rung `rung - 1`: rung `rung`'s epoch, or num_epochs past the last rung."""
        return self.rungs[rung] if rung < len(self.rungs) else self.num_epochs

    def report(self, trial: int, epoch: int, score: float | None, history: object = None) -> None:
        """`trial` paused at rung epoch `epoch` with `score` (None: not a finite number, ranked last)."""
        self.recorded[self.rungs.index(epoch)][trial] = score

    def record(self, trial: int, history: object) -> None:
        """A trial finished (ASHA ranks rung scores only)."""

    def stopped_now(self) -> list[Decision]:
        return []  # ASHA stops only the trials still waiting when the search has nothing left to run

    def ranked(self, rung: int) -> list[tuple[int, float | None]]:
        """The rung's (trial, score), best first; a tie goes to the earlier trial, None scores last."""
        sign = -1.0 if self.mode == "max" else 1.0
        return sorted(self.recorded[rung].items(),
                      key=lambda ts: (ts[1] is None, 0.0 if ts[1] is None else sign * ts[1], ts[0]))

    def cut(self, rung: int) -> float | None:
        ranked = self.ranked(rung)
        top = len(ranked) // self.reduction_factor
        return ranked[top - 1][1] if top else None

    def promotion(self) -> Decision | None:
        """The next trial to promote (marked promoted), the top rung first; None when none may go on."""
        for rung in reversed(range(len(self.rungs))):
            ranked = self.ranked(rung)
            top = len(ranked) // self.reduction_factor
            for trial, score in ranked[:top]:
                if trial not in self.promoted[rung] and score is not None:
                    self.promoted[rung].add(trial)
                    return Decision(trial, rung, self.rungs[rung], score, ranked[top - 1][1])
        return None

    def stop_waiting(self) -> list[Decision]:
        """Stop every trial that waits at a rung (lowest rung first, then by trial); marked stopped."""
        stops = []
        for rung, scores in enumerate(self.recorded):
            for trial in sorted(scores):
                if trial not in self.promoted[rung] and trial not in self.stopped:
                    self.stopped.add(trial)
                    stops.append(Decision(trial, rung, self.rungs[rung], scores[trial], self.cut(rung)))
        return stops
