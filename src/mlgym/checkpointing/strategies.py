"""Checkpointing strategies: which epochs to save and which saved ones to keep (component kind `checkpointing`)."""
from __future__ import annotations

from typing import Literal

from mlgym.registry import component


class CheckpointStrategy:
    """Decides after each epoch whether to save, and which saved epochs may be deleted."""

    reason = "none"

    def should_save(self, epoch: int, scores: dict[str, float], final: bool) -> bool:
        return False

    def to_delete(self, saved: list[int], epoch: int) -> list[int]:
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

    def to_delete(self, saved: list[int], epoch: int) -> list[int]:
        return [e for e in saved if e != epoch]


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

    def to_delete(self, saved: list[int], epoch: int) -> list[int]:
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

    def to_delete(self, saved: list[int], epoch: int) -> list[int]:
        return [e for e in saved if e not in (epoch, self.best_epoch)]

    def state_dict(self) -> dict[str, object]:
        return {"best_epoch": self.best_epoch, "best_score": self.best_score}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.best_epoch = state["best_epoch"]  # type: ignore[assignment]
        self.best_score = state["best_score"]  # type: ignore[assignment]
