"""Standardisation fitted on the training split only, then applied to the batches of every split.

The scaler is fitted where the splits are final: in the data loaders, which receive the splitter's output, or,
under cross-validation and nested CV, the fold's (the job replaces the splitter by the fold's indices). So every
fold fits its own scaler on its own training rows, and no validation or test row shapes the scaling.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class Standardizer:
    """`(x - mean) / std` per feature, with the statistics of the rows it was fitted on (population std).

    A constant feature (std 0) is only centred. The statistics are float64; a batch keeps its own dtype.
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, count: int) -> None:
        self.mean = mean
        self.std = std
        self.count = count
        self._scale = torch.where(std > 0, std, torch.ones_like(std))
        self._cast: dict[torch.dtype, tuple[torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def fit(cls, chunks: Iterable[torch.Tensor]) -> Standardizer:
        """Mean and std per feature over every row of `chunks` (row blocks), merged chunk by chunk (Chan et al.)."""
        count, mean, m2 = 0, None, None
        for chunk in chunks:
            block = chunk.detach().to(torch.float64).reshape(len(chunk), *chunk.shape[1:])
            n = len(block)
            if n == 0:
                continue
            block_mean = block.mean(dim=0)
            block_m2 = ((block - block_mean) ** 2).sum(dim=0)
            if mean is None:
                count, mean, m2 = n, block_mean, block_m2
                continue
            delta = block_mean - mean
            total = count + n
            mean = mean + delta * (n / total)
            m2 = m2 + block_m2 + delta * delta * (count * n / total)
            count = total
        if mean is None or m2 is None:
            raise ValueError("cannot fit the standardizer: the training split has no rows")
        return cls(mean, torch.sqrt(m2 / count), count)

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        if features.dtype not in self._cast:
            dtype = features.dtype if features.is_floating_point() else torch.float32
            self._cast[features.dtype] = (self.mean.to(dtype), self._scale.to(dtype))
        mean, scale = self._cast[features.dtype]
        return (features - mean.to(features.device)) / scale.to(features.device)

    def __getstate__(self) -> dict[str, Any]:  # sent to loader workers: the casts are rebuilt there
        return {**self.__dict__, "_cast": {}}

    def __repr__(self) -> str:
        return f"Standardizer(features={tuple(self.mean.shape)}, fitted_on={self.count} rows)"


class ScaledBatches:
    """A collate function followed by the standardizer on the batch's inputs: `(x, y) -> (scaler(x), y)`."""

    def __init__(self, collate: Any, scaler: Standardizer) -> None:
        self.collate = collate
        self.scaler = scaler

    def __call__(self, batch: Any) -> tuple[torch.Tensor, Any]:
        x, y = self.collate(batch)
        return self.scaler(x), y
