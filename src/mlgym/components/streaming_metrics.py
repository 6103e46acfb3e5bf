"""torchmetrics metrics fed batch by batch: the built-in metrics' state, kept in constant memory per split.

A streaming metric is any object with `update(outputs, targets)` and `compute() -> float | 0-d tensor`; a
torchmetrics `Metric` is one. The built-in ones wrap a torchmetrics metric that is created at the first batch,
when the number of classes can be read from the outputs, and convert the model's raw outputs to what it expects:

- class metrics get the predicted class of each sample (argmax of logits `(N, C)`; 1 where one logit is > 0),
  so a batch of logits that happens to lie in [0, 1] is never mistaken for probabilities;
- `auroc` gets probabilities (softmax, or the sigmoid of one logit), `top_k_accuracy` the logits;
- regression metrics get flat float64 outputs and targets.

torchmetrics is imported when the first batch arrives, so validating a config does not pay for it.
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Literal

import torch

Inputs = Literal["labels", "logits"]


@contextlib.contextmanager
def native_bincount() -> Iterator[None]:
    """Deterministic-algorithms mode off for a metric update (jobs run with it on).

    In that mode torchmetrics replaces `torch.bincount` by a comparison of every element with every bin: a
    [elements x bins] tensor per batch (binned AUROC on a batch of 100 x 7 classes x 500 thresholds asked for
    39 GB). Counting integers is exact in any order, so the native bincount gives the same counts.
    """
    if not torch.are_deterministic_algorithms_enabled():
        yield
        return
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(True, warn_only=warn_only)


def predicted_classes(outputs: torch.Tensor) -> torch.Tensor:
    """Argmax of logits `(N, C)`; for one logit per sample, 1 where it is > 0."""
    outputs = outputs.detach()
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(dim=1)
    return (outputs.reshape(-1) > 0).long()


def class_probabilities(outputs: torch.Tensor) -> torch.Tensor:
    """Softmax of logits `(N, C)` (float64), or `(N, 2)` [1 - p, p] from one logit per sample via the sigmoid."""
    outputs = outputs.detach().double()
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return torch.softmax(outputs, dim=1)
    p = torch.sigmoid(outputs.reshape(-1))
    return torch.stack([1 - p, p], dim=1)


def num_classes(outputs: torch.Tensor) -> int:
    """C for logits `(N, C)`; 2 for one logit per sample."""
    return int(outputs.shape[1]) if outputs.ndim == 2 and outputs.shape[1] > 1 else 2


def labels(targets: torch.Tensor) -> torch.Tensor:
    return targets.detach().reshape(-1).long()


class ClassMetric:
    """A torchmetrics classification metric, built for C classes at the first batch; `inputs` says what it gets."""

    def __init__(self, build: Callable[[int], Any], inputs: Inputs = "labels") -> None:
        self.build = build
        self.inputs = inputs
        self.metric: Any = None

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        if self.metric is None:
            self.metric = self.build(num_classes(outputs)).to(outputs.device)
        preds = predicted_classes(outputs) if self.inputs == "labels" else outputs.detach()
        with native_bincount():
            self.metric.update(preds, labels(targets).to(preds.device))

    def compute(self) -> float:
        if self.metric is None:
            raise ValueError("no samples were seen")
        return float(self.metric.compute())


class TopKAccuracy:
    """Fraction of samples whose target is among the `k` highest logits (k capped at the number of classes).

    Each batch's hits (`topk` of the logits) are averaged by torchmetrics' `MeanMetric`: torchmetrics'
    `MulticlassAccuracy(top_k=k)` gives the same score but refines one-hot predictions, ~100x slower
    (150 ms per batch of 10,000 x 100 classes on one core).
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self.metric: Any = None

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        from torchmetrics.aggregation import MeanMetric

        if outputs.ndim != 2 or outputs.shape[1] < 2:
            raise ValueError(f"top_k_accuracy needs logits (N, C) for C >= 2 classes, got shape "
                             f"{tuple(outputs.shape)}")
        if self.metric is None:
            self.metric = MeanMetric().set_dtype(torch.float64).to(outputs.device)
        top = outputs.detach().topk(min(self.k, outputs.shape[1]), dim=1).indices
        with native_bincount():
            self.metric.update((top == labels(targets).to(top.device)[:, None]).any(dim=1).double())

    def compute(self) -> float:
        if self.metric is None:
            raise ValueError("no samples were seen")
        return float(self.metric.compute())


class AUROC:
    """ROC AUC: binary (probability of class 1) or one-vs-rest macro over the classes present in the targets.

    `thresholds=None` is exact and keeps every sample's probabilities (memory grows with the split); an int bins
    the scores at that many thresholds in [0, 1] (constant memory, approximate).
    """

    def __init__(self, thresholds: int | None = None) -> None:
        self.thresholds = thresholds
        self.metric: Any = None
        self.counts: torch.Tensor | None = None

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        from torchmetrics.classification import BinaryAUROC, MulticlassAUROC

        probs, y = class_probabilities(outputs), labels(targets).to(outputs.device)
        c = probs.shape[1]
        if self.metric is None:
            self.metric = (BinaryAUROC(thresholds=self.thresholds) if c == 2 else
                           MulticlassAUROC(num_classes=c, average=None, thresholds=self.thresholds))
            self.metric = self.metric.to(outputs.device)
            self.counts = torch.zeros(c, dtype=torch.int64, device=outputs.device)
        self.counts += torch.bincount(y, minlength=c)[:c]
        with native_bincount():
            self.metric.update(probs[:, 1] if c == 2 else probs, y)

    def compute(self) -> float:
        if self.metric is None or self.counts is None:
            raise ValueError("no samples were seen")
        present = (self.counts > 0) & (self.counts < self.counts.sum())
        if len(self.counts) == 2 and not bool(present.all()):
            raise ValueError("auroc needs targets of both classes; this split has only one")
        if not bool(present.any()):
            raise ValueError("auroc needs targets of at least two classes; this split has only one")
        with warnings.catch_warnings():  # a class absent from the targets has no curve; it is left out below
            warnings.simplefilter("ignore", UserWarning)
            scores = self.metric.compute()
        if len(self.counts) == 2:
            return float(scores)
        return float(scores[present].double().mean())


class RegressionMetric:
    """A torchmetrics regression metric on flat float64 outputs and targets."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric.set_dtype(torch.float64)
        self.moved = False

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        if not self.moved:
            self.metric, self.moved = self.metric.to(outputs.device), True
        with native_bincount():
            self.metric.update(outputs.detach().reshape(-1).double(), targets.detach().reshape(-1).double()
                               .to(outputs.device))

    def compute(self) -> float:
        return float(self.metric.compute())


class TorchMetric:
    """A user's torchmetrics `Metric` fed the raw batch outputs and targets, moved to their device once."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.moved = False

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        if not self.moved and hasattr(self.metric, "to"):
            self.metric, self.moved = self.metric.to(outputs.device), True
        with native_bincount():
            self.metric.update(outputs.detach(), targets.detach().to(outputs.device))

    def compute(self) -> float:
        value = self.metric.compute()
        return float(value.item() if isinstance(value, torch.Tensor) else value)
