"""Metrics equal scikit-learn's on known inputs; names, options and errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from mlgym.components.metrics import MetricSet
from mlgym.registry import component, registry

# 3 classes, deliberately imbalanced so macro, micro and weighted averages differ.
TARGETS = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 2, 2])
LOGITS = torch.tensor([[3.0, 0, 0], [2, 1, 0], [0, 2, 0], [1, 0, 0], [2, 0, 1], [0, 0, 3],
                       [0, 2, 1], [1, 0, 0.5], [0, 1, 2], [0, 0.2, 0.1]])
PRED = LOGITS.argmax(1).numpy()


def test_accuracy_and_averaged_scores_equal_sklearn() -> None:
    specs = ["accuracy", {"name": "f1", "average": "macro"}, {"name": "f1", "average": "micro"},
             {"name": "f1", "average": "weighted"}, {"name": "precision", "average": "macro"},
             {"name": "recall", "average": "micro"}]
    scores = MetricSet(specs).compute(LOGITS, TARGETS)
    y = TARGETS.numpy()
    expected = {
        "accuracy": sk.accuracy_score(y, PRED),
        "f1_macro": sk.f1_score(y, PRED, average="macro"),
        "f1_micro": sk.f1_score(y, PRED, average="micro"),
        "f1_weighted": sk.f1_score(y, PRED, average="weighted"),
        "precision_macro": sk.precision_score(y, PRED, average="macro"),
        "recall_micro": sk.recall_score(y, PRED, average="micro"),
    }
    assert scores == pytest.approx(expected)
    assert scores["f1_macro"] != pytest.approx(scores["f1_micro"])


def test_f1_defaults_to_macro() -> None:
    assert MetricSet(["f1", "precision", "recall"]).names == ["f1_macro", "precision_macro", "recall_macro"]


def test_multiclass_auroc_is_one_vs_rest_macro() -> None:
    probs = torch.softmax(LOGITS.double(), 1).numpy()
    expected = sk.roc_auc_score(TARGETS.numpy(), probs, multi_class="ovr", average="macro")
    assert MetricSet(["auroc"]).compute(LOGITS, TARGETS) == {"auroc": pytest.approx(expected)}


def test_multiclass_auroc_skips_a_class_absent_from_the_targets() -> None:
    targets, logits = TARGETS[:8], LOGITS[:8]  # no class 2
    probs = torch.softmax(logits.double(), 1).numpy()
    y = targets.numpy()
    expected = np.mean([sk.roc_auc_score(y == c, probs[:, c]) for c in (0, 1)])
    assert MetricSet(["auroc"]).compute(logits, targets)["auroc"] == pytest.approx(expected)


@pytest.mark.parametrize("logits", [
    pytest.param(torch.tensor([[0.0, 2], [1, 0], [0, 0.5], [2, 1], [0, 3], [1, 1.5]]), id="two_logits"),
    pytest.param(torch.tensor([[2.0], [-1], [0.5], [-1], [3], [0.4]]), id="one_logit"),
])
def test_binary_auroc_and_accuracy(logits) -> None:
    targets = torch.tensor([1, 0, 0, 0, 1, 1])
    score = logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits[:, 0]
    result = MetricSet(["auroc", "accuracy"]).compute(logits, targets)
    assert result["auroc"] == pytest.approx(sk.roc_auc_score(targets.numpy(), score.numpy()))
    assert result["accuracy"] == pytest.approx(sk.accuracy_score(targets.numpy(), (score > 0).long().numpy()))


def test_regression_metrics() -> None:
    out, y = torch.tensor([[1.0], [2.0], [4.0]]), torch.tensor([1.0, 3.0, 2.0])
    scores = MetricSet(["mae", "rmse"]).compute(out, y)
    assert scores == pytest.approx({"mae": 1.0, "rmse": np.sqrt(5 / 3)})


def test_unknown_metric_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown metric 'acuracy'; known metrics: accuracy, auroc, f1, "):
        MetricSet(["acuracy"])


@pytest.mark.parametrize("spec, message", [
    pytest.param({"name": "f1", "avg": "macro"}, r"metric 'f1' has no option 'avg'; accepted: average",
                 id="unknown_option"),
    pytest.param({"name": "f1", "average": "mean"},
                 r"metric 'f1': option 'average': expected one of \['macro', 'micro', 'weighted'\], got 'mean'",
                 id="bad_choice"),
    pytest.param({"average": "macro"}, "a metric is a name or a mapping with a 'name' key", id="no_name"),
    pytest.param({"name": "accuracy", "average": "macro"}, "accepted: none", id="no_options"),
])
def test_bad_metric_specs(spec, message) -> None:
    with pytest.raises(ValueError, match=message):
        MetricSet([spec])


# What `mlgym validate` reports (via parse_nodes): (key path below the node's config, message, hint).
@pytest.mark.parametrize("metrics, problem", [
    pytest.param(["accuracy", {"name": "f1x"}],
                 ("metrics.1.name", "unknown metric 'f1x'; known metrics: accuracy, auroc, f1, mae, precision, "
                  "recall, rmse, top_k_accuracy", "did you mean 'f1'?"), id="unknown_name_in_mapping"),
    pytest.param(["acuracy"], ("metrics.0", "unknown metric 'acuracy'; known metrics: accuracy, auroc, f1, mae, "
                               "precision, recall, rmse, top_k_accuracy", "did you mean 'accuracy'?"),
                 id="unknown_name"),
    pytest.param([{"name": "f1", "average": "macrox"}],
                 ("metrics.0.average", "metric 'f1': option 'average': expected one of ['macro', 'micro', "
                  "'weighted'], got 'macrox'", "did you mean 'macro'?"), id="bad_choice"),
    pytest.param([{"name": "f1", "avrage": "macro"}],
                 ("metrics.0.avrage", "metric 'f1' has no option 'avrage'; accepted: average",
                  "did you mean 'average'?"), id="unknown_option"),
    pytest.param(["f1", {"name": "top_k_accuracy", "k": "two"}],
                 ("metrics.1.k", "metric 'top_k_accuracy': option 'k': expected an integer, got 'two'", None),
                 id="option_of_wrong_type"),
    pytest.param([{"name": "top_k_accuracy", "k": 0}],
                 ("metrics.0.k", "metric 'top_k_accuracy': option 'k': expected a number > 0, got 0", None),
                 id="option_constraint"),
    pytest.param([3], ("metrics.0", "a metric is a name or a mapping with a 'name' key, got 3",
                       "e.g. accuracy, or {name: f1, average: macro}"), id="not_a_metric"),
    pytest.param(["f1", {"name": "f1", "average": "macro"}],
                 ("metrics.1", "metric 'f1_macro' is listed twice (also item 0)",
                  "remove one, or give it different options"), id="duplicate"),
])
def test_check_config_reports_each_problem_with_its_key_path(metrics, problem) -> None:
    assert MetricSet.check_config({"metrics": metrics}) == [problem]


def test_check_config_accepts_valid_lists_and_the_default() -> None:
    assert MetricSet.check_config({"metrics": ["accuracy", {"name": "f1", "average": "micro"},
                                               {"name": "top_k_accuracy", "k": 2}]}) == []
    assert MetricSet.check_config({}) == []


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy_equals_sklearn(k: int) -> None:
    logits = torch.randn(40, 4, generator=torch.Generator().manual_seed(0))  # no ties
    targets = torch.arange(40) % 4
    result = MetricSet([{"name": "top_k_accuracy", "k": k}]).compute(logits, targets)
    expected = sk.top_k_accuracy_score(targets.numpy(), logits.numpy(), k=k)
    assert result == {f"top_k_accuracy_{k}": pytest.approx(expected)}


def test_top_k_accuracy_with_k_above_the_class_count_counts_every_sample() -> None:
    assert MetricSet(["top_k_accuracy"]).compute(LOGITS, TARGETS) == {"top_k_accuracy_5": 1.0}


def test_duplicate_metric_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"metric 'f1_macro' is listed twice \(also item 0\)"):
        MetricSet(["f1", {"name": "f1", "average": "macro"}])


def test_a_user_metric_is_one_decorated_function() -> None:
    if ("metric", "top2_accuracy") not in {(k, v) for k in registry.kinds() for v in registry.variants(k)}:
        @component("metric", "top2_accuracy")
        def top2_accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
            top2 = outputs.topk(2, dim=1).indices
            return float((top2 == targets[:, None]).any(1).float().mean())
    scores = MetricSet(["top2_accuracy"]).compute(LOGITS, TARGETS)
    top2 = np.argsort(-LOGITS.numpy(), axis=1, kind="stable")[:, :2]
    assert scores == {"top2_accuracy": pytest.approx(np.mean([t in row for t, row in zip(TARGETS.tolist(), top2)]))}
