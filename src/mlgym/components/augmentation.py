"""Random per-sample augmentation whose draws are a pure function of (seed, epoch, position in the split).

A dataset opts in with two methods:

    augments(split: str) -> bool                          # whether the split named `split` is augmented
    augmented_item(index: int, generator: torch.Generator)  # item `index`, drawing randomness only from generator

For an augmented split the loader's sampler tags every index with the epoch's seed, and the item is built with a
generator seeded from (that seed, the index). So a sample's flips and crops do not depend on which loader worker
builds it, on how many workers there are, or on persistent workers living across epochs: `num_workers: 2` yields
exactly the batches of `num_workers: 0`, and a resumed run sees the same augmentations.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler, Subset


def item_seed(epoch_seed: int, index: int) -> int:
    return int(np.random.SeedSequence([int(epoch_seed) & 0xFFFFFFFF, int(index) & 0xFFFFFFFF])
               .generate_state(1)[0])


def base_rows(split: Dataset) -> tuple[Dataset, list[int]]:
    """The dataset under zero or more Subsets, and the row of it that each position of `split` is."""
    rows = list(range(len(split)))
    while isinstance(split, Subset):
        rows = [int(split.indices[i]) for i in rows]
        split = split.dataset
    return split, rows


def augmented_base(split: Dataset, split_name: str) -> Dataset | None:
    """The dataset under `split` when it augments the split named `split_name`, else None."""
    base, _ = base_rows(split) if isinstance(split, Subset) else (split, None)
    augments = getattr(base, "augments", None)
    return base if callable(augments) and augments(split_name) and hasattr(base, "augmented_item") else None


class SeededSamples(Dataset):
    """`split` whose items are fetched by `(epoch seed, position)` keys and built with a generator seeded from them."""

    def __init__(self, split: Dataset) -> None:
        self.base, self.rows = base_rows(split)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch_seed, i = key
        generator = torch.Generator().manual_seed(item_seed(epoch_seed, i))
        return self.base.augmented_item(self.rows[i], generator)


class TaggedSampler(Sampler):
    """Yields `(tag, i)` for every index `i` of the wrapped sampler; the loader sets `tag` to the epoch's seed."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler
        self.tag = 0

    def __iter__(self) -> Iterator[tuple[int, int]]:
        tag = self.tag
        return ((tag, int(i)) for i in self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)
