"""Collators: turn a list of `(x, y)` samples into one batch."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import get_worker_info

from mlgym.registry import component


def stack(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """`torch.stack`, into shared memory when called in a DataLoader worker (as torch's `default_collate` does):
    the batch then reaches the training process without being copied into shared memory on the way."""
    out = None
    if get_worker_info() is not None:
        first = tensors[0]
        storage = first._typed_storage()._new_shared(sum(t.numel() for t in tensors), device=first.device)
        out = first.new(storage).resize_(len(tensors), *first.shape)
    return torch.stack(list(tensors), 0, out=out)


@component("collator", "default")
class DefaultCollator:
    """Stacks the samples' inputs and targets: `[(x, y), ...] -> (stack(xs), stack(ys))`."""

    def __call__(self, batch: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = zip(*batch)
        return stack([torch.as_tensor(x) for x in xs]), stack([torch.as_tensor(y) for y in ys])

    def __repr__(self) -> str:
        return "DefaultCollator()"
