"""Metrics accumulated batch by batch over a split, and the `metrics` component that selects them by name.

Every built-in metric streams: it keeps a torchmetrics state (a few counts per class, sums of errors) that each
batch updates, so evaluation memory does not grow with the split (`streaming_metrics.py`). The exception is exact
`auroc` (the default, `thresholds: null`), which needs every score; `{name: auroc, thresholds: 200}` bins them.

A metric is registered as kind `metric`, in one of two ways:

- **streaming** (preferred): a factory of an object with `update(outputs, targets)` and `compute()`, e.g. a
  torchmetrics `Metric` class, registered as it is or by a function declared `streaming=True`; its keyword
  parameters are the metric's options:

      component("metric", "mape", higher_is_better=False)(torchmetrics.MeanAbsolutePercentageError)

      @component("metric", "explained_variance", streaming=True)
      def explained_variance(multioutput: str = "uniform_average"):
          return torchmetrics.ExplainedVariance(multioutput=multioutput)

  `update` gets each batch's raw outputs and targets (on the model's device); `compute` returns a number.
- **whole split**: a plain function `(outputs, targets, **options) -> float`, called once on the split's
  concatenated outputs and targets. It needs the whole split, so while one is configured the evaluator keeps
  every output of the split in memory (on the CPU); only then.

A metric that is better when lower declares it: `@component("metric", "mae", higher_is_better=False)`; a
torchmetrics class's own `higher_is_better` is used when the registration does not say; otherwise a metric is
maximised. The direction travels in the event stream (`score_directions`), so model selection, early stopping,
checkpoint strategies, `mlgym report` and MLboard all use the same one.

`outputs` are the model's raw outputs: logits `(N, C)` for C classes, one logit `(N,)`/`(N, 1)` for binary
tasks (positive when > 0), or values for regression. A metric's display name is its name followed by the value
of each option that is not null, e.g. `f1` with `average: macro` reports `f1_macro`.
"""
from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

import torch

from mlgym.components.streaming_metrics import AUROC, ClassMetric, RegressionMetric, TopKAccuracy, TorchMetric
from mlgym.registry import component, registry
from mlgym.registry.constraints import Positive
from mlgym.registry.registry import normalize
from mlgym.registry.signature import ConfigProblem, type_hints, type_problem

Average = Literal["macro", "micro", "weighted"]


@component("metric", "accuracy", streaming=True)
def accuracy() -> ClassMetric:
    """Fraction of samples whose predicted class equals the target."""
    from torchmetrics.classification import MulticlassAccuracy
    return ClassMetric(lambda c: MulticlassAccuracy(num_classes=c, average="micro"))


@component("metric", "f1", streaming=True)
def f1(average: Average = "macro") -> ClassMetric:
    """F1 score; as scikit-learn's f1_score with zero_division=0 (macro: over the classes seen)."""
    from torchmetrics.classification import MulticlassF1Score
    return ClassMetric(lambda c: MulticlassF1Score(num_classes=c, average=average, zero_division=0))


@component("metric", "precision", streaming=True)
def precision(average: Average = "macro") -> ClassMetric:
    """Precision; as scikit-learn's precision_score with zero_division=0."""
    from torchmetrics.classification import MulticlassPrecision
    return ClassMetric(lambda c: MulticlassPrecision(num_classes=c, average=average, zero_division=0))


@component("metric", "recall", streaming=True)
def recall(average: Average = "macro") -> ClassMetric:
    """Recall; as scikit-learn's recall_score with zero_division=0."""
    from torchmetrics.classification import MulticlassRecall
    return ClassMetric(lambda c: MulticlassRecall(num_classes=c, average=average, zero_division=0))


@component("metric", "auroc", streaming=True)
def auroc(thresholds: Annotated[int, Positive] | None = None) -> AUROC:
    """Area under the ROC curve: binary (probability of class 1), or one-vs-rest macro over the classes.

    A class absent from the targets has no ROC curve and is left out of the macro average (scikit-learn
    refuses such inputs; a small validation split can lack a rare class). Exact by default, which keeps every
    score; `thresholds: N` bins the probabilities at N thresholds (constant memory, approximate).
    """
    return AUROC(thresholds)


@component("metric", "mae", higher_is_better=False, streaming=True)
def mae() -> RegressionMetric:
    """Mean absolute error of a regression output."""
    from torchmetrics.regression import MeanAbsoluteError
    return RegressionMetric(MeanAbsoluteError())


@component("metric", "rmse", higher_is_better=False, streaming=True)
def rmse() -> RegressionMetric:
    """Root mean squared error of a regression output."""
    from torchmetrics.regression import MeanSquaredError
    return RegressionMetric(MeanSquaredError(squared=False))


@component("metric", "top_k_accuracy", streaming=True)
def top_k_accuracy(k: Annotated[int, Positive] = 5) -> TopKAccuracy:
    """Fraction of samples whose target is among the `k` highest logits (every class when there are fewer)."""
    return TopKAccuracy(k)


def is_streaming(factory: Callable[..., Any], meta: dict[str, Any]) -> bool:
    """Declared `streaming=True`, or a torchmetrics Metric class (found by its bases, without importing it)."""
    if "streaming" in meta:
        return bool(meta["streaming"])
    return inspect.isclass(factory) and any(
        base.__name__ == "Metric" and base.__module__.startswith("torchmetrics") for base in factory.__mro__)


def option_names(factory: Callable[..., Any], streaming: bool) -> list[str]:
    """A metric's options: a streaming factory's keyword parameters, a function's parameters after
    (outputs, targets); never `*args` / `**kwargs`."""
    params = [p.name for p in inspect.signature(factory).parameters.values()
              if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    return params if streaming else params[2:]


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
    accepted = option_names(function, is_streaming(function, registry.meta("metric", name)))
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
    """One configured metric: a registered factory or function, its options and its display name."""

    def __init__(self, spec: str | dict[str, Any]) -> None:
        problems = metric_problems(spec)
        if problems:
            raise ValueError(problems[0][1])
        if isinstance(spec, str):
            spec = {"name": spec}
        name = normalize(spec["name"])
        self.function = registry.get("metric", name)
        meta = registry.meta("metric", name)
        self.streaming = is_streaming(self.function, meta)
        declared = meta.get("higher_is_better", getattr(self.function, "higher_is_better", None))
        self.higher_is_better = declared if isinstance(declared, bool) else True
        self.options = {k: v for k, v in spec.items() if k != "name"}
        params = inspect.signature(self.function).parameters
        resolved = {k: self.options.get(k, params[k].default) for k in option_names(self.function, self.streaming)}
        self.name = "_".join([name, *(str(v) for v in resolved.values() if v is not None)])

    def stream(self) -> Any:
        """A fresh state that `update(outputs, targets)` feeds batch by batch (streaming metrics only)."""
        return TorchMetric(self.function(**self.options))

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        """The metric on one whole split."""
        if not self.streaming:
            return float(self.function(outputs, targets, **self.options))
        state = self.stream()
        state.update(outputs, targets)
        return state.compute()


class SplitScores:
    """The metrics of one split, accumulated batch by batch: `update` per batch, then `compute` once.

    Streaming metrics update their own (constant-size) state; the outputs and targets are kept, on the CPU, only
    when a whole-split metric is configured, and each such metric is then called once on them.
    """

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics
        self.states = {m.name: m.stream() for m in metrics if m.streaming}
        self.whole_split = [m for m in metrics if not m.streaming]
        self.kept: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])
        self.count = 0

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        for state in self.states.values():
            state.update(outputs, targets)
        if self.whole_split:
            self.kept[0].append(outputs.detach().cpu())
            self.kept[1].append(targets.detach().cpu())
        self.count += len(targets)

    def compute(self) -> dict[str, float]:
        """Every metric's score, in the configured order."""
        if self.whole_split:
            outputs, targets = torch.cat(self.kept[0]), torch.cat(self.kept[1])
        scores = {}
        for metric in self.metrics:
            scores[metric.name] = (self.states[metric.name].compute() if metric.streaming
                                   else metric(outputs, targets))
        return scores


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

    @property
    def keeps_outputs(self) -> bool:
        """Whether a whole-split metric is configured, so evaluating a split keeps all of its outputs."""
        return any(not m.streaming for m in self.metrics)

    def split_scores(self) -> SplitScores:
        """A fresh accumulator for one split: `update(outputs, targets)` per batch, then `compute()`."""
        return SplitScores(self.metrics)

    def compute(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """Every metric on one split's outputs and targets given at once (the same code path as by batch)."""
        scores = self.split_scores()
        scores.update(outputs, targets)
        return scores.compute()
