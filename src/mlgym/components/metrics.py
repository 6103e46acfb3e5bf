"""Metrics computed on a whole split's outputs, and the `metrics` component that selects them by name.

A metric is a function `(outputs, targets, **options) -> float` registered as kind `metric`:

    @component("metric", "balanced_accuracy")
    def balanced_accuracy(outputs, targets): ...

A metric that is better when lower declares it: `@component("metric", "mae", higher_is_better=False)`; without
the declaration a metric is maximised. The direction travels in the event stream (`score_directions`), so model
selection, early stopping, checkpoint strategies, `mlgym report` and MLboard all use the same one.

`outputs` are the model's raw outputs: logits `(N, C)` for C classes, one logit `(N,)`/`(N, 1)` for binary
tasks (positive when > 0), or values for regression. A metric's display name is its name followed by the value
of each option, e.g. `f1` with `average: macro` reports `f1_macro`.
"""
from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch

from mlgym.registry import component, registry

Average = Literal["macro", "micro", "weighted"]


def predicted_classes(outputs: torch.Tensor) -> np.ndarray:
    """Argmax of logits `(N, C)`; for one logit per sample, 1 where it is > 0."""
    outputs = outputs.detach()
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(dim=1).cpu().numpy()
    return (outputs.reshape(-1) > 0).long().cpu().numpy()


def class_probabilities(outputs: torch.Tensor) -> np.ndarray:
    """Softmax of logits `(N, C)`, or `(N, 2)` [1 - p, p] from one logit per sample via the sigmoid."""
    outputs = outputs.detach().double()
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return torch.softmax(outputs, dim=1).cpu().numpy()
    p = torch.sigmoid(outputs.reshape(-1)).cpu().numpy()
    return np.stack([1 - p, p], axis=1)


def _labels(targets: torch.Tensor) -> np.ndarray:
    return targets.detach().reshape(-1).long().cpu().numpy()


@component("metric", "accuracy")
def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of samples whose predicted class equals the target."""
    return float(np.mean(predicted_classes(outputs) == _labels(targets)))


@component("metric", "f1")
def f1(outputs: torch.Tensor, targets: torch.Tensor, average: Average = "macro") -> float:
    """F1 score (scikit-learn's f1_score, zero_division=0)."""
    from sklearn.metrics import f1_score
    return float(f1_score(_labels(targets), predicted_classes(outputs), average=average, zero_division=0))


@component("metric", "precision")
def precision(outputs: torch.Tensor, targets: torch.Tensor, average: Average = "macro") -> float:
    """Precision (scikit-learn's precision_score, zero_division=0)."""
    from sklearn.metrics import precision_score
    return float(precision_score(_labels(targets), predicted_classes(outputs), average=average, zero_division=0))


@component("metric", "recall")
def recall(outputs: torch.Tensor, targets: torch.Tensor, average: Average = "macro") -> float:
    """Recall (scikit-learn's recall_score, zero_division=0)."""
    from sklearn.metrics import recall_score
    return float(recall_score(_labels(targets), predicted_classes(outputs), average=average, zero_division=0))


@component("metric", "auroc")
def auroc(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Area under the ROC curve: binary (probability of class 1), or one-vs-rest macro over the classes.

    A class absent from the targets has no ROC curve and is left out of the macro average (scikit-learn
    refuses such inputs; a small validation split can lack a rare class).
    """
    from sklearn.metrics import roc_auc_score
    probs, y = class_probabilities(outputs), _labels(targets)
    if probs.shape[1] == 2:
        if len(np.unique(y)) < 2:
            raise ValueError("auroc needs targets of both classes; this split has only one")
        return float(roc_auc_score(y, probs[:, 1]))
    scores = [roc_auc_score(y == c, probs[:, c]) for c in range(probs.shape[1]) if 0 < np.sum(y == c) < len(y)]
    if not scores:
        raise ValueError("auroc needs targets of at least two classes; this split has only one")
    return float(np.mean(scores))


@component("metric", "mae", higher_is_better=False)
def mae(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean absolute error of a regression output."""
    return float(torch.mean(torch.abs(outputs.detach().reshape(-1) - targets.detach().reshape(-1).float())))


@component("metric", "rmse", higher_is_better=False)
def rmse(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Root mean squared error of a regression output."""
    diff = outputs.detach().reshape(-1) - targets.detach().reshape(-1).float()
    return float(torch.sqrt(torch.mean(diff * diff)))


def option_names(function: Callable[..., Any]) -> list[str]:
    """The keyword options of a metric function: its parameters after (outputs, targets)."""
    return list(inspect.signature(function).parameters)[2:]


class Metric:
    """One configured metric: a registered function, its options and its display name."""

    def __init__(self, spec: str | dict[str, Any]) -> None:
        if isinstance(spec, str):
            spec = {"name": spec}
        if not isinstance(spec, dict) or "name" not in spec:
            raise ValueError(f"a metric is a name or a mapping with a 'name' key, got {spec!r}")
        name = str(spec["name"]).strip().lower()
        known = registry.variants("metric")
        if name not in known:
            raise ValueError(f"unknown metric '{spec['name']}'; known metrics: {', '.join(known)}")
        self.function = registry.get("metric", name)
        self.higher_is_better = bool(registry.meta("metric", name).get("higher_is_better", True))
        options = {k: v for k, v in spec.items() if k != "name"}
        accepted = option_names(self.function)
        unknown = [k for k in options if k not in accepted]
        if unknown:
            raise ValueError(f"metric '{name}' has no option(s) {unknown}; accepted: {', '.join(accepted) or 'none'}")
        params = inspect.signature(self.function).parameters
        hints = _type_hints(self.function)
        for key, value in options.items():
            allowed = typing.get_args(hints[key]) if typing.get_origin(hints.get(key)) is Literal else ()
            if allowed and value not in allowed:
                raise ValueError(f"metric '{name}': {key} must be one of {list(allowed)}, got {value!r}")
        resolved = {k: options.get(k, params[k].default) for k in accepted}
        self.options = options
        self.name = "_".join([name, *(str(v) for v in resolved.values())])

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        return float(self.function(outputs, targets, **self.options))


def _type_hints(function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function)
    except Exception:  # unresolvable annotations in a user's metric: skip the choice check
        return {}


@component("metrics", "default")
class MetricSet:
    """The metrics reported for every evaluated split, e.g. `[accuracy, {name: f1, average: macro}]`."""

    def __init__(self, metrics: list[str | dict] = ["accuracy"]) -> None:
        self.metrics = [Metric(spec) for spec in metrics]
        names = [m.name for m in self.metrics]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"metrics listed twice: {duplicates}")
        self.names: list[str] = names

    def directions(self) -> dict[str, str]:
        """Each metric's name -> "max" (higher is better) or "min"."""
        return {m.name: "max" if m.higher_is_better else "min" for m in self.metrics}

    def compute(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """Every metric on one split's concatenated outputs and targets."""
        return {m.name: m(outputs, targets) for m in self.metrics}
