"""Optimizers over a model's parameters: sgd, adam, adamw, or any `torch.optim` class by name."""
from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable
from typing import Annotated, Any

import torch
from torch import nn

from mlgym.registry import component
from mlgym.registry.constraints import NonNegative, Positive


def parameters_of(model: nn.Module | Iterable[torch.nn.Parameter]) -> list[torch.nn.Parameter]:
    params = list(model.parameters() if isinstance(model, nn.Module) else model)
    if not params:
        raise ValueError("the model has no parameters to optimize")
    return params


def _check_lr(lr: float) -> None:
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")


def _betas(betas: list[float]) -> tuple[float, float]:
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {list(betas)}")
    return float(betas[0]), float(betas[1])


@component("optimizer", "sgd")
def sgd(model: nn.Module, lr: Annotated[float, Positive], momentum: Annotated[float, NonNegative] = 0.0,
        weight_decay: Annotated[float, NonNegative] = 0.0, nesterov: bool = False) -> torch.optim.SGD:
    """Stochastic gradient descent (torch.optim.SGD)."""
    _check_lr(lr)
    if nesterov and momentum <= 0:
        raise ValueError("nesterov needs momentum > 0")
    return torch.optim.SGD(parameters_of(model), lr=lr, momentum=momentum, weight_decay=weight_decay,
                           nesterov=nesterov)


@component("optimizer", "adam")
def adam(model: nn.Module, lr: Annotated[float, Positive] = 1e-3, betas: list[float] = [0.9, 0.999],
         weight_decay: Annotated[float, NonNegative] = 0.0) -> torch.optim.Adam:
    """Adam (torch.optim.Adam); weight_decay is added to the gradient (L2)."""
    _check_lr(lr)
    return torch.optim.Adam(parameters_of(model), lr=lr, betas=_betas(betas), weight_decay=weight_decay)


@component("optimizer", "adamw")
def adamw(model: nn.Module, lr: Annotated[float, Positive] = 1e-3, betas: list[float] = [0.9, 0.999],
          weight_decay: Annotated[float, NonNegative] = 0.01) -> torch.optim.AdamW:
    """AdamW (torch.optim.AdamW), with decoupled weight decay."""
    _check_lr(lr)
    return torch.optim.AdamW(parameters_of(model), lr=lr, betas=_betas(betas), weight_decay=weight_decay)


def optimizer_classes() -> dict[str, type[torch.optim.Optimizer]]:
    """Every optimizer class exported by torch.optim, by its name."""
    return {name: obj for name, obj in vars(torch.optim).items()
            if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer) and obj is not torch.optim.Optimizer}


def optimizer_class(name: str) -> type[torch.optim.Optimizer]:
    """A torch.optim class by name, case-insensitively; a miss suggests the nearest name."""
    classes = optimizer_classes()
    by_lower = {n.lower(): n for n in classes}
    if name.lower() in by_lower:
        return classes[by_lower[name.lower()]]
    near = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.5)
    hint = f"; did you mean '{by_lower[near[0]]}'?" if near else ""
    raise ValueError(f"torch.optim has no optimizer '{name}'{hint} known: {', '.join(sorted(classes))}")


@component("optimizer", "torch")
def torch_optimizer(model: nn.Module, name: str, **kwargs: Any) -> torch.optim.Optimizer:
    """Any torch.optim optimizer by class name, e.g. `{name: RMSprop, lr: 0.01, alpha: 0.9}`."""
    cls = optimizer_class(name)
    accepted = [p for p in inspect.signature(cls).parameters if p != "params"]
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        raise ValueError(f"torch.optim.{cls.__name__} does not accept {unknown}; accepted: {', '.join(accepted)}")
    if "lr" in kwargs:
        _check_lr(kwargs["lr"])
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return cls(parameters_of(model), **kwargs)
