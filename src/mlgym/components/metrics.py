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

import difflib
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

import numpy as np
import torch

from mlgym.registry import component, registry
from mlgym.registry.constraints import Positive
from mlgym.registry.registry import normalize
from mlgym.registry.signature import ConfigProblem, type_hints, type_problem

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


@component("metric", "top_k_accuracy")
def top_k_accuracy(outputs: torch.Tensor, targets: torch.Tensor, k: Annotated[int, Positive] = 5) -> float:
    """Fraction of samples whose target is among the `k` highest logits (every class when there are fewer)."""
    outputs = outputs.detach()
    if outputs.ndim != 2 or outputs.shape[1] < 2:
        raise ValueError(f"top_k_accuracy needs logits (N, C) for C >= 2 classes, got shape {tuple(outputs.shape)}")
    top = outputs.topk(min(k, outputs.shape[1]), dim=1).indices
    return float((top == targets.detach().reshape(-1, 1).long().to(top.device)).any(dim=1).double().mean())


def option_names(function: Callable[..., Any]) -> list[str]:
    """The keyword options of a metric function: its parameters after (outputs, targets)."""
    return list(inspect.signature(function).parameters)[2:]


def _nearest(value: Any, candidates: list[str]) -> str | None:
    near = difflib.get_close_matches(str(value), candidates, n=1, cutoff=0.5)
    return f"did you mean '{near[0]}'?" if near else None


def metric_problems(spec: Any) -> list[ConfigProblem]:
    """What is wrong with one entry of the metrics list, as (key path below the entry, message, hint).

    Checked before anything runs (`MetricSet.check_config`) against the metric registry and each metric
    function's signature: the name, unknown options and each option's type hint.
    """
    if isinstance(spec, str):
        spec = {"name": spec}
        name_path = ""
    else:
        name_path = "name"
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        return [("", f"a metric is a name or a mapping with a 'name' key, got {spec!r}",
                 "e.g. accuracy, or {name: f1, average: macro}")]
    name = normalize(spec["name"])
    known = registry.variants("metric")
    if name not in known:
        return [(name_path, f"unknown metric '{spec['name']}'; known metrics: {', '.join(known)}",
                 _nearest(name, known))]
    function = registry.get("metric", name)
    accepted = option_names(function)
    hints = type_hints(function)
    problems: list[ConfigProblem] = []
    for key, value in spec.items():
        if key == "name":
            continue
        if key not in accepted:
            problems.append((str(key), f"metric '{name}' has no option '{key}'; accepted: "
                                       f"{', '.join(accepted) or 'none'}", _nearest(key, accepted)))
            continue
        hint = hints.get(key, Any)
        problem = type_problem(value, hint)
        if problem:
            choices = [c for c in typing.get_args(hint) if isinstance(c, str)] \
                if typing.get_origin(hint) is Literal else []
            problems.append((str(key), f"metric '{name}': option '{key}': {problem}", _nearest(value, choices)))
    return problems


class Metric:
    """One configured metric: a registered function, its options and its display name."""

    def __init__(self, spec: str | dict[str, Any]) -> None:
        problems = metric_problems(spec)
        if problems:
            raise ValueError(problems[0][1])
        if isinstance(spec, str):
            spec = {"name": spec}
        name = normalize(spec["name"])
        self.function = registry.get("metric", name)
        self.higher_is_better = bool(registry.meta("metric", name).get("higher_is_better", True))
        self.options = {k: v for k, v in spec.items() if k != "name"}
        params = inspect.signature(self.function).parameters
        resolved = {k: self.options.get(k, params[k].default) for k in option_names(self.function)}
        self.name = "_".join([name, *(str(v) for v in resolved.values())])

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        return float(self.function(outputs, targets, **self.options))


@component("metrics", "default")
class MetricSet:
    """The metrics reported for every evaluated split, e.g. `[accuracy, {name: f1, average: macro}]`."""

    def __init__(self, metrics: list[str | dict] = ["accuracy"]) -> None:
        problems = MetricSet.check_config({"metrics": metrics})
        if problems:
            raise ValueError(problems[0][1])
        self.metrics = [Metric(spec) for spec in metrics]
        self.names: list[str] = [m.name for m in self.metrics]

    @staticmethod
    def check_config(config: dict[str, Any]) -> list[ConfigProblem]:
        """Problems of the `metrics` list (unknown names, bad options, duplicates), found by `mlgym validate`."""
        specs = config.get("metrics", [])
        if not isinstance(specs, list):
            return []  # the signature check reports the type
        problems: list[ConfigProblem] = []
        first_of: dict[str, int] = {}
        for i, spec in enumerate(specs):
            found = metric_problems(spec)
            problems += [(f"metrics.{i}.{path}" if path else f"metrics.{i}", message, hint)
                         for path, message, hint in found]
            if found:
                continue
            name = Metric(spec).name
            if name in first_of:
                problems.append((f"metrics.{i}", f"metric '{name}' is listed twice (also item {first_of[name]})",
                                 "remove one, or give it different options"))
            first_of.setdefault(name, i)
        return problems

    def directions(self) -> dict[str, str]:
        """Each metric's name -> "max" (higher is better) or "min"."""
        return {m.name: "max" if m.higher_is_better else "min" for m in self.metrics}

    def compute(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """Every metric on one split's concatenated outputs and targets."""
        return {m.name: m(outputs, targets) for m in self.metrics}
