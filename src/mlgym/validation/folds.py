"""Fold indices from scikit-learn's KFold / StratifiedKFold."""
from __future__ import annotations

import numpy as np


def make_folds(targets: np.ndarray, indices: np.ndarray, k: int, stratified: bool, shuffle: bool,
               seed: int) -> list[tuple[list[int], list[int]]]:
    """k (train, held-out) pairs over `indices` (positions into the dataset), stratified by `targets[indices]`."""
    from sklearn.model_selection import KFold, StratifiedKFold  # ~1 s of imports, only when a plan has folds

    splitter = (StratifiedKFold if stratified else KFold)(n_splits=k, shuffle=shuffle,
                                                           random_state=seed if shuffle else None)
    labels = targets[indices] if stratified else None
    return [(indices[tr].tolist(), indices[te].tolist())
            for tr, te in splitter.split(np.zeros(len(indices)), labels)]
