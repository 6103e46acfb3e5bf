"""Learning-rate schedulers, stepped by the trainer after every optimizer step (`interval: step`) or every epoch.

Every variant returns a `Schedule`: a torch scheduler with its `interval`. Schedules whose length is the whole
training (`warmup_cosine`, `linear`, `one_cycle` without an explicit `total`) are built when the trainer knows it:
`bind(steps_per_epoch, num_epochs)`, which the job calls before a checkpoint is restored, so the scheduler's
state round-trips through checkpoints (`state_dict` / `load_state_dict`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

import torch

from mlgym.registry import component
from mlgym.registry.constraints import NonNegative, Positive

Interval = Literal["step", "epoch"]
LRScheduler = torch.optim.lr_scheduler.LRScheduler


class NoScheduler:
    """Keeps the learning rate constant; has the scheduler interface so the trainer need not special-case it."""

    interval = "epoch"

    def bind(self, steps_per_epoch: int | None, num_epochs: int | None) -> None:
        pass

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


class Schedule:
    """A torch LR scheduler stepped every `interval`; built at once, or by `bind` when it needs the run's length.

    `make(total)` builds the scheduler for `total` intervals (steps or epochs); `total` is the configured one, else
    the whole training as `bind` learns it.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, make: Callable[[int | None], LRScheduler],
                 interval: Interval, total: int | None = None, needs_total: bool = False, name: str = "") -> None:
        self.optimizer = optimizer
        self.interval = interval
        self.total = total
        self.name = name
        self._make = make
        self._needs_total = needs_total
        self.scheduler: LRScheduler | None = None
        if total is not None or not needs_total:
            self.scheduler = make(total)

    def bind(self, steps_per_epoch: int | None, num_epochs: int | None) -> None:
        """Build a scheduler whose length is the run: num_epochs x optimizer steps per epoch (or epochs)."""
        if self.scheduler is not None:
            return
        per_epoch = 1 if self.interval == "epoch" else steps_per_epoch
        if per_epoch is None or num_epochs is None:
            raise ValueError(f"lr_scheduler {self.name} needs `total` (the number of {self.interval}s) when the "
                             f"training loader has no length")
        self.total = per_epoch * num_epochs
        self.scheduler = self._make(self.total)

    def _built(self) -> LRScheduler:
        if self.scheduler is None:
            raise RuntimeError(f"lr_scheduler {self.name} is used before the trainer bound it to the run's length")
        return self.scheduler

    def step(self) -> None:
        self._built().step()

    def get_last_lr(self) -> list[float]:
        return self._built().get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return self._built().state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._built().load_state_dict(state)

    def __repr__(self) -> str:
        return f"Schedule({self.name}, interval={self.interval}, total={self.total})"


def warmup_cosine_factor(t: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warmup from 0 over `warmup` intervals, then cosine down to `min_ratio` at `total` (as transformers'
    get_cosine_schedule_with_warmup)."""
    if t < warmup:
        return t / max(1, warmup)
    progress = min(1.0, (t - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_linear_factor(t: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warmup from 0 over `warmup` intervals, then linear decay to `min_ratio` at `total`."""
    if t < warmup:
        return t / max(1, warmup)
    progress = min(1.0, (t - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * (1.0 - progress)


def _check_warmup(warmup_steps: int, total: int | None, min_lr_ratio: float) -> None:
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
    if total is not None and total <= warmup_steps:
        raise ValueError(f"total ({total}) must be larger than warmup_steps ({warmup_steps})")
    if not 0.0 <= min_lr_ratio <= 1.0:
        raise ValueError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio}")


@component("lr_scheduler", "none")
def no_scheduler(optimizer: torch.optim.Optimizer) -> NoScheduler:
    """A constant learning rate."""
    return NoScheduler()


@component("lr_scheduler", "step")
def step_scheduler(optimizer: torch.optim.Optimizer, step_size: Annotated[int, Positive],
                   gamma: Annotated[float, Positive] = 0.1, interval: Interval = "epoch") -> Schedule:
    """Multiply the learning rate by `gamma` every `step_size` epochs (or optimizer steps: `interval: step`)."""
    if step_size <= 0:
        raise ValueError(f"step_size must be > 0, got {step_size}")
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    return Schedule(optimizer, lambda _: torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size,
                                                                         gamma=gamma), interval, name="step")


@component("lr_scheduler", "cosine")
def cosine_scheduler(optimizer: torch.optim.Optimizer, t_max: Annotated[int, Positive],
                     eta_min: Annotated[float, NonNegative] = 0.0, interval: Interval = "epoch") -> Schedule:
    """Cosine annealing from the optimizer's learning rate down to `eta_min` over `t_max` epochs (or steps)."""
    if t_max <= 0:
        raise ValueError(f"t_max must be > 0, got {t_max}")
    if eta_min < 0:
        raise ValueError(f"eta_min must be >= 0, got {eta_min}")
    return Schedule(optimizer, lambda _: torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max,
                                                                                    eta_min=eta_min),
                    interval, name="cosine")


@component("lr_scheduler", "warmup_cosine")
def warmup_cosine_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: Annotated[int, NonNegative] = 0,
                            total: Annotated[int, Positive] | None = None,
                            min_lr_ratio: Annotated[float, NonNegative] = 0.0,
                            interval: Interval = "step") -> Schedule:
    """Linear warmup from 0 over `warmup_steps`, then cosine down to `min_lr_ratio` x lr at `total` (default: the
    whole training); counted in optimizer steps, or epochs with `interval: epoch`."""
    _check_warmup(warmup_steps, total, min_lr_ratio)

    def make(n: int | None) -> LRScheduler:
        _check_warmup(warmup_steps, n, min_lr_ratio)
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda t: warmup_cosine_factor(t, warmup_steps, n, min_lr_ratio))
    return Schedule(optimizer, make, interval, total, needs_total=True, name="warmup_cosine")


@component("lr_scheduler", "linear")
def linear_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: Annotated[int, NonNegative] = 0,
                     total: Annotated[int, Positive] | None = None, min_lr_ratio: Annotated[float, NonNegative] = 0.0,
                     interval: Interval = "step") -> Schedule:
    """Linear warmup from 0 over `warmup_steps`, then linear decay to `min_lr_ratio` x lr at `total` (default: the
    whole training); counted in optimizer steps, or epochs with `interval: epoch`."""
    _check_warmup(warmup_steps, total, min_lr_ratio)

    def make(n: int | None) -> LRScheduler:
        _check_warmup(warmup_steps, n, min_lr_ratio)
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda t: warmup_linear_factor(t, warmup_steps, n, min_lr_ratio))
    return Schedule(optimizer, make, interval, total, needs_total=True, name="linear")


@component("lr_scheduler", "one_cycle")
def one_cycle_scheduler(optimizer: torch.optim.Optimizer, max_lr: Annotated[float, Positive],
                        total: Annotated[int, Positive] | None = None,
                        pct_start: Annotated[float, Positive] = 0.3,
                        anneal_strategy: Literal["cos", "linear"] = "cos",
                        div_factor: Annotated[float, Positive] = 25.0,
                        final_div_factor: Annotated[float, Positive] = 1e4,
                        interval: Interval = "step") -> Schedule:
    """torch's OneCycleLR: up from max_lr/div_factor to `max_lr` over `pct_start` of `total` (default: the whole
    training), then down to max_lr/div_factor/final_div_factor. Momentum is not cycled."""
    if not 0.0 < pct_start < 1.0:
        raise ValueError(f"pct_start must be in (0, 1), got {pct_start}")

    def make(n: int | None) -> LRScheduler:
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=n, pct_start=pct_start, anneal_strategy=anneal_strategy,
            div_factor=div_factor, final_div_factor=final_div_factor, cycle_momentum=False)
    return Schedule(optimizer, make, interval, total, needs_total=True, name="one_cycle")
