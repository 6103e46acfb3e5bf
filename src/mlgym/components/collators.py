"""Collators: turn a list of `(x, y)` samples into one batch."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from mlgym.registry import component


@component("collator", "default")
class DefaultCollator:
    """Stacks the samples' inputs and targets: `[(x, y), ...] -> (stack(xs), stack(ys))`."""

    def __call__(self, batch: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = zip(*batch)
        return torch.stack([torch.as_tensor(x) for x in xs]), torch.stack([torch.as_tensor(y) for y in ys])

    def __repr__(self) -> str:
        return "DefaultCollator()"
