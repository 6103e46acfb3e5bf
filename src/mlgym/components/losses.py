"""Losses: callables `loss(outputs, targets) -> scalar tensor` with a `.name` used in reported scores."""
from __future__ import annotations

from typing import Annotated

import torch
from torch.nn import functional as F

from mlgym.registry import component
from mlgym.registry.constraints import NonNegative


@component("loss", "cross_entropy")
class CrossEntropy:
    """Cross-entropy of logits `(N, C)` against class indices `(N,)`."""

    name = "cross_entropy"

    def __init__(self, label_smoothing: Annotated[float, NonNegative] = 0.0) -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets.long(), label_smoothing=self.label_smoothing)


def _one_column_squeezed(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """`(N, 1)` outputs against `(N,)` targets become `(N,)`; anything else is returned as it is."""
    if outputs.ndim == targets.ndim + 1 and outputs.shape[-1] == 1:
        return outputs.squeeze(-1)
    return outputs


@component("loss", "mse")
class MeanSquaredError:
    """Mean squared error; a single output column `(N, 1)` is compared with targets `(N,)`."""

    name = "mse"

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        outputs = _one_column_squeezed(outputs, targets)
        return F.mse_loss(outputs, targets.to(outputs.dtype))


@component("loss", "bce_with_logits")
class BinaryCrossEntropyWithLogits:
    """Binary cross-entropy of one logit per sample; targets are cast to float, `(N, 1)` outputs squeezed."""

    name = "bce_with_logits"

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        outputs = _one_column_squeezed(outputs, targets)
        return F.binary_cross_entropy_with_logits(outputs, targets.to(outputs.dtype))
