"""What to run: the plain-data description of one experiment job, picklable to a worker process."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlgym.events.payloads import ExperimentConfig


@dataclass(frozen=True)
class ExperimentSpec:
    """One training job: a resolved config, its epochs and seed, and (for CV) the fold's sample indices."""

    grid_search_id: str
    experiment_id: str
    grid_point_id: str
    config: dict[str, Any]
    hyperparameters: dict[str, Any]
    num_epochs: int
    seed: int
    run_dir: str
    role: str = "train"
    fold: dict[str, int] | None = None
    split_indices: dict[str, list[int]] | None = None
    score_directions: dict[str, str] = field(default_factory=dict)  # score name -> "max" | "min"
    extra: dict[str, Any] = field(default_factory=dict)  # inner_scores and selection of a nested-CV refit
    checkpoint_root: str | None = None  # a folder every node sees (checkpoint_storage/<grid search>); None: run_dir
    # train only up to this epoch (an ASHA rung), then pause: `num_epochs` stays the schedule's length, and a
    # later task with a higher stop_at_epoch resumes from the checkpoint; None: train to num_epochs
    stop_at_epoch: int | None = None

    @property
    def checkpoint_base(self) -> str:
        """The folder that holds `checkpoints/<experiment_id>/`; checkpoint event paths are relative to it."""
        return self.checkpoint_root or self.run_dir

    def config_event(self) -> ExperimentConfig:
        """Payload of this experiment's `experiment_config` event."""
        return ExperimentConfig(config=self.config, grid_point_id=self.grid_point_id,
                                hyperparameters=self.hyperparameters, num_epochs=self.num_epochs, seed=self.seed,
                                role=self.role, fold=self.fold, score_directions=self.score_directions,
                                **self.extra)
