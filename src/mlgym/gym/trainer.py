"""The default trainer: one epoch of mini-batch gradient descent over the train split."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from mlgym.gym.device import to_device
from mlgym.registry import component


@component("trainer", "default")
class Trainer:
    """Trains `model` on `data_loaders[train_split]` with `optimizer` and `loss`; steps `lr_scheduler` per epoch."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: Callable[..., Any],
                 data_loaders: Mapping[str, Any], lr_scheduler: Any = None, train_split: str = "train",
                 grad_clip_norm: float | None = None) -> None:
        if train_split not in data_loaders:
            raise ValueError(f"train_split '{train_split}' is not among the data loaders' splits "
                             f"{list(data_loaders)}")
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.data_loaders = data_loaders
        self.lr_scheduler = lr_scheduler
        self.train_split = train_split
        self.grad_clip_norm = grad_clip_norm

    def train_epoch(self, epoch: int, device: torch.device) -> float:
        """Run one epoch; returns the mean training loss."""
        if hasattr(self.data_loaders, "set_epoch"):
            self.data_loaders.set_epoch(epoch)
        self.model.train()
        total, count = 0.0, 0
        for inputs, targets in self.data_loaders[self.train_split]:
            inputs, targets = to_device(inputs, device), to_device(targets, device)
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(inputs), targets)
            loss.backward()
            if self.grad_clip_norm:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip_norm)
            self.optimizer.step()
            total += loss.detach() * len(targets)
            count += len(targets)
        if self.lr_scheduler is not None and hasattr(self.lr_scheduler, "step"):
            self.lr_scheduler.step()
        return float(total / max(count, 1))
