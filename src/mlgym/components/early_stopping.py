"""Early stopping: stop when a monitored score has not improved for `patience` epochs."""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from mlgym.registry import component
from mlgym.registry.constraints import NonNegative, Positive


def direction_of(metric: str, directions: dict[str, str], who: str) -> str:
    """The direction of a reported score name; an unknown name is an error naming what is reported."""
    if metric not in directions:
        raise ValueError(f"{who} monitors '{metric}', which the experiment does not report; scores: "
                         f"{', '.join(directions) or 'none'}")
    return directions[metric]


@component("early_stopping", "default")
class EarlyStopping:
    """Watches the score `<split>/<metric>` (a metric or a loss name, e.g. `val/accuracy`, `val/cross_entropy`).

    A score improves on the best so far when it beats it by more than `min_relative_improvement` times the
    best's magnitude (in the direction of `mode`; left out, the direction the metric declares, and `min` for a
    loss). `update` returns True once `patience` epochs in a row brought no improvement.
    """

    def __init__(self, split: str = "val", metric: str = "accuracy", mode: Literal["max", "min"] | None = None,
                 patience: Annotated[int, Positive] = 3,
                 min_relative_improvement: Annotated[float, NonNegative] = 0.0) -> None:
        if mode not in ("max", "min", None):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        if min_relative_improvement < 0:
            raise ValueError(f"min_relative_improvement must be >= 0, got {min_relative_improvement}")
        self.key = f"{split}/{metric}"
        self.metric = metric
        self.mode = mode
        self.patience = patience
        self.min_relative_improvement = min_relative_improvement
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self.epochs_without_improvement = 0

    def use_directions(self, directions: dict[str, str]) -> None:
        """Take the monitored score's direction from the experiment's score directions unless `mode` was given."""
        if self.mode is None:
            self.mode = direction_of(self.metric, directions, "early stopping")

    def improves(self, score: float) -> bool:
        """Whether `score` beats the best so far by more than the relative threshold."""
        if math.isnan(score):
            return False
        if self.best_score is None or math.isnan(self.best_score):
            return True
        margin = abs(self.best_score) * self.min_relative_improvement
        if self.mode is None:
            raise RuntimeError("EarlyStopping.use_directions must be called before update when mode is not given")
        if self.mode == "max":
            return score > self.best_score + margin
        return score < self.best_score - margin

    def update(self, epoch: int, scores: dict[str, float]) -> bool:
        """Record this epoch's scores; True when training should stop."""
        if self.key not in scores:
            raise ValueError(f"early stopping monitors '{self.key}', which is not among the scores: "
                             f"{', '.join(sorted(scores))}")
        score = float(scores[self.key])
        if self.improves(score):
            self.best_score, self.best_epoch = score, epoch
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch,
                "epochs_without_improvement": self.epochs_without_improvement}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_score = state["best_score"]
        self.best_epoch = state["best_epoch"]
        self.epochs_without_improvement = int(state["epochs_without_improvement"])
