"""Learning-rate schedulers, stepped once per epoch by the trainer."""
from __future__ import annotations

from typing import Annotated, Any

import torch

from mlgym.registry import component
from mlgym.registry.constraints import NonNegative, Positive


class NoScheduler:
    """Keeps the learning rate constant; has the scheduler interface so the trainer need not special-case it."""

    def step(self) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NoScheduler()"


@component("lr_scheduler", "none")
def no_scheduler(optimizer: torch.optim.Optimizer) -> NoScheduler:
    """A constant learning rate."""
    return NoScheduler()


@component("lr_scheduler", "step")
def step_scheduler(optimizer: torch.optim.Optimizer, step_size: Annotated[int, Positive],
                   gamma: Annotated[float, Positive] = 0.1) -> torch.optim.lr_scheduler.StepLR:
    """Multiply the learning rate by `gamma` every `step_size` epochs."""
    if step_size <= 0:
        raise ValueError(f"step_size must be > 0, got {step_size}")
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)


@component("lr_scheduler", "cosine")
def cosine_scheduler(optimizer: torch.optim.Optimizer, t_max: Annotated[int, Positive],
                     eta_min: Annotated[float, NonNegative] = 0.0) -> torch.optim.lr_scheduler.CosineAnnealingLR:
    """Cosine annealing from the optimizer's learning rate down to `eta_min` over `t_max` epochs."""
    if t_max <= 0:
        raise ValueError(f"t_max must be > 0, got {t_max}")
    if eta_min < 0:
        raise ValueError(f"eta_min must be >= 0, got {eta_min}")
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=eta_min)
