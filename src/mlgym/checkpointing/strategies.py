"""Checkpointing strategies: which epochs (and steps) to save and which saved ones to keep (kind `checkpointing`).

Saved checkpoints are named by their `Position` (end of an epoch, or a step inside one), ordered by training time.
"""
from __future__ import annotations

import time
from typing import Annotated, Literal

from mlgym.checkpointing.position import Position
from mlgym.registry import component
from mlgym.registry.constraints import Positive


class CheckpointStrategy:
    """Decides after each epoch (and each optimizer step) whether to save, and which saved checkpoints may go."""

    reason = "none"

    def should_save(self, epoch: int, scores: dict[str, float], final: bool) -> bool:
        return False

    def should_save_step(self, epoch: int, step: int, global_step: int) -> bool:
        """Save a mid-epoch checkpoint now, `step` optimizer steps into `epoch`?"""
        return False

    def to_delete(self, saved: list[Position], current: Position) -> list[Position]:
        return []

    def use_directions(self, directions: dict[str, str]) -> None:
        """Learn the direction of each reported score name (only strategies that compare scores need it)."""


@component("checkpointing", "none")
class SaveNothing(CheckpointStrategy):
    """Never saves: a crashed experiment restarts from epoch 0."""


@component("checkpointing", "last")
class SaveLast(CheckpointStrategy):
    """Saves every epoch and keeps only the newest one."""

    reason = "last"

    def should_save(self, epoch: int, scores: dict[str, float], final: bool) -> bool:
        return True

    def to_delete(self, saved: list[Position], current: Position) -> list[Position]:
        return [p for p in saved if p != current]


@component("checkpointing", "every")
class SaveEvery(CheckpointStrategy):
    """Saves every `every_n_epochs`-th epoch (and the final one) and keeps them all."""

    reason = "every"

    def __init__(self, every_n_epochs: int = 1) -> None:
        if every_n_epochs < 1:
            raise ValueError("every_n_epochs must be >= 1")
        self.every_n_epochs = every_n_epochs

    def should_save(self, epoch: int, scores: dict[str, float], final: bool) -> bool:
        return final or epoch % self.every_n_epochs == 0


@component("checkpointing", "last_k")
class SaveLastK(CheckpointStrategy):
    """Saves every epoch and keeps the newest `k`."""

    reason = "last_k"

    def __init__(self, k: int = 3) -> None:
        if k < 1:
            raise ValueError("k must be >= 1")
        self.k = k

    def should_save(self, epoch: int, scores: dict[str, float], final: bool) -> bool:
        return True

    def to_delete(self, saved: list[Position], current: Position) -> list[Position]:
        return sorted(saved)[:-self.k]


@component("checkpointing", "best")
class SaveBest(CheckpointStrategy):
    """Keeps the best epoch by `split`/`metric` plus the newest epoch, which warm start resumes from.

    `mode` (max or min), left out, is the direction the metric declares (`min` for a loss).
    """

    reason = "best"

    def __init__(self, split: str = "val", metric: str = "accuracy",
                 mode: Literal["max", "min"] | None = None) -> None:
        self.key = f"{split}/{metric}"
        self.metric = metric
        self.mode = mode
        self.best_epoch: int | None = None
        self.best_score: float | None = None

    def use_directions(self, directions: dict[str, str]) -> None:
        if self.mode is None:
            if self.metric not in directions:
                raise ValueError(f"checkpointing: metric '{self.metric}' is not reported; scores: "
                                 f"{', '.join(directions) or 'none'}")
            self.mode = directions[self.metric]

    def should_save(self, epoch: int, scores: dict[str, float], final: bool) -> bool:
        if self.key not in scores:
            raise ValueError(f"checkpointing: metric '{self.key}' is not among the scores {sorted(scores)}")
        score = scores[self.key]
        better = self.best_score is None or (score > self.best_score if self.mode == "max"
                                             else score < self.best_score)
        if better:
            self.best_epoch, self.best_score = epoch, score
        return True

    def to_delete(self, saved: list[Position], current: Position) -> list[Position]:
        return [p for p in saved if p not in (current, Position(self.best_epoch))]

    def state_dict(self) -> dict[str, object]:
        return {"best_epoch": self.best_epoch, "best_score": self.best_score}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.best_epoch = state["best_epoch"]  # type: ignore[assignment]
        self.best_score = state["best_score"]  # type: ignore[assignment]


class _MidEpoch(CheckpointStrategy):
    """Saves inside epochs (when `_due` says so) and at the end of the last epoch; keeps the newest `keep`."""

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise ValueError("keep must be >= 1")
        self.keep = keep

    def should_save(self, epoch: int, scores: dict[str, float], final: bool) -> bool:
        # epoch ends in between are not saved: a crash then loses at most the steps since the last step checkpoint,
        # the bound the user chose, and the run saves half as often (bench/checkpoint.py)
        if final:
            self._saved_now()
        return final

    def should_save_step(self, epoch: int, step: int, global_step: int) -> bool:
        if not self._due(global_step):
            return False
        self._saved_now()
        return True

    def _due(self, global_step: int) -> bool:
        raise NotImplementedError

    def _saved_now(self) -> None:
        """A checkpoint is taken now (time-based strategies restart their clock)."""

    def to_delete(self, saved: list[Position], current: Position) -> list[Position]:
        return sorted(saved)[:-self.keep]


@component("checkpointing", "every_n_steps")
class SaveEveryNSteps(_MidEpoch):
    """Saves every `n` optimizer steps (counted over the whole run) and at the end of the last epoch; keeps the
    newest `keep`. A job killed mid-epoch resumes from its last step checkpoint."""

    reason = "every_n_steps"

    def __init__(self, n: Annotated[int, Positive], keep: Annotated[int, Positive] = 1) -> None:
        if n < 1:
            raise ValueError("n must be >= 1")
        super().__init__(keep)
        self.n = n

    def _due(self, global_step: int) -> bool:
        return global_step % self.n == 0


@component("checkpointing", "every_n_minutes")
class SaveEveryNMinutes(_MidEpoch):
    """Saves at the first optimizer step `minutes` after the previous checkpoint (of this process), and at the end
    of the last epoch; keeps the newest `keep`. Bounds the training time a crash can lose, whatever the step speed."""

    reason = "every_n_minutes"

    def __init__(self, minutes: Annotated[float, Positive], keep: Annotated[int, Positive] = 1) -> None:
        if minutes <= 0:
            raise ValueError("minutes must be > 0")
        super().__init__(keep)
        self.minutes = minutes
        self._last = time.monotonic()

    def _due(self, global_step: int) -> bool:
        return time.monotonic() - self._last >= self.minutes * 60

    def _saved_now(self) -> None:
        self._last = time.monotonic()
