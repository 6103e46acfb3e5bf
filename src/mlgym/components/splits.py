"""Splitters: divide a dataset into named subsets (train/val/test) by ratios, randomly or stratified by class."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from mlgym.registry import component

DEFAULT_RATIOS = {"train": 0.7, "val": 0.15, "test": 0.15}


def check_ratios(ratios: dict[str, float]) -> None:
    """Ratios must be positive and sum to 1."""
    if not ratios:
        raise ValueError("ratios must name at least one split, e.g. {train: 0.8, val: 0.2}")
    bad = {k: v for k, v in ratios.items() if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0}
    if bad:
        raise ValueError(f"every split ratio must be a number > 0; got {bad}")
    total = sum(ratios.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"split ratios must sum to 1, but {dict(ratios)} sum to {total:g}")


def split_sizes(n: int, ratios: dict[str, float]) -> list[int]:
    """Sizes from cumulative rounding, so they always add up to n; every split must get at least one item."""
    bounds = [0]
    cumulative = 0.0
    for r in ratios.values():
        cumulative += r
        bounds.append(min(n, round(cumulative * n)))
    bounds[-1] = n
    sizes = [b - a for a, b in zip(bounds, bounds[1:])]
    empty = [name for name, size in zip(ratios, sizes) if size == 0]
    if empty:
        raise ValueError(f"splits {empty} would be empty: {n} items with ratios {dict(ratios)}")
    return sizes


def dataset_targets(dataset: Dataset) -> np.ndarray:
    """The dataset's targets as a numpy array (its `.targets`, else read item by item)."""
    targets = getattr(dataset, "targets", None)
    if targets is None:
        targets = [dataset[i][1] for i in range(len(dataset))]
        targets = torch.stack([torch.as_tensor(t) for t in targets])
    return torch.as_tensor(targets).cpu().numpy()


def _subsets(dataset: Dataset, names: Sequence[str], parts: Sequence[np.ndarray]) -> dict[str, Subset]:
    return {name: Subset(dataset, sorted(int(i) for i in part)) for name, part in zip(names, parts)}


@component("splitter", "random")
def random_split(dataset: Dataset, ratios: dict[str, float] = DEFAULT_RATIOS, seed: int = 0) -> dict[str, Subset]:
    """A seeded random permutation cut into consecutive pieces by `ratios` (in their order)."""
    check_ratios(ratios)
    n = len(dataset)
    order = np.random.default_rng(seed).permutation(n)
    parts, start = [], 0
    for size in split_sizes(n, ratios):
        parts.append(order[start:start + size])
        start += size
    return _subsets(dataset, list(ratios), parts)


@component("splitter", "stratified")
def stratified_split(dataset: Dataset, ratios: dict[str, float] = DEFAULT_RATIOS,
                     seed: int = 0) -> dict[str, Subset]:
    """Like `random`, but each split keeps the class proportions (train_test_split with stratify, in sequence)."""
    from sklearn.model_selection import train_test_split

    check_ratios(ratios)
    if getattr(dataset, "task", "classification") != "classification":
        raise ValueError("the stratified splitter needs a classification dataset; use the random splitter")
    y = dataset_targets(dataset)
    sizes = split_sizes(len(y), ratios)
    remaining = np.arange(len(y))
    parts = []
    for name, size in zip(list(ratios)[:-1], sizes[:-1]):
        try:
            taken, remaining = train_test_split(remaining, train_size=size, stratify=y[remaining],
                                                random_state=seed)
        except ValueError as error:
            raise ValueError(f"cannot stratify split '{name}' ({size} of {len(remaining)} items): {error}; "
                             f"use larger ratios or the random splitter") from error
        parts.append(taken)
    parts.append(remaining)
    return _subsets(dataset, list(ratios), parts)


def splits_from_indices(dataset: Dataset, indices: dict[str, list[int]]) -> dict[str, Subset]:
    """Subsets from explicit index lists (cross-validation folds), in the order of `indices`."""
    n = len(dataset)
    result = {}
    for name, idx in indices.items():
        idx = [int(i) for i in idx]
        out_of_range = [i for i in idx if not 0 <= i < n]
        if out_of_range:
            raise ValueError(f"split '{name}' has indices outside 0..{n - 1}: {out_of_range[:5]}")
        result[name] = Subset(dataset, idx)
    return result
