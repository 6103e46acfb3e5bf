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


# Streaming: every built-in metric, fed batch by batch, equals scikit-learn on the whole split (to 1e-6).
def _random_split(n: int = 600, classes: int = 7, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, classes - 1, (n,), generator=g)  # the last class never occurs in the targets
    logits = torch.randn(n, classes, generator=g) + 1.5 * torch.nn.functional.one_hot(targets, classes)
    return logits, targets


def _by_batches(metric_set: MetricSet, outputs: torch.Tensor, targets: torch.Tensor, batch: int) -> dict:
    scores = metric_set.split_scores()
    for start in range(0, len(targets), batch):
        scores.update(outputs[start:start + batch], targets[start:start + batch])
    return scores.compute()


CLASS_SPECS = ["accuracy", {"name": "f1", "average": "macro"}, {"name": "f1", "average": "micro"},
               {"name": "f1", "average": "weighted"}, {"name": "precision", "average": "macro"},
               {"name": "precision", "average": "weighted"}, {"name": "recall", "average": "macro"},
               {"name": "recall", "average": "weighted"}, "auroc", {"name": "top_k_accuracy", "k": 3}]


@pytest.mark.parametrize("batch", [1, 64, 600], ids=["batch_1", "batch_64", "whole_split"])
def test_streamed_class_metrics_equal_sklearn_on_the_whole_split(batch: int) -> None:
    logits, targets = _random_split()
    y, pred = targets.numpy(), logits.argmax(1).numpy()
    probs = torch.softmax(logits.double(), 1).numpy()
    expected = {"accuracy": sk.accuracy_score(y, pred), "top_k_accuracy_3": sk.top_k_accuracy_score(
        y, logits.numpy(), k=3, labels=range(7)),
        "auroc": np.mean([sk.roc_auc_score(y == c, probs[:, c]) for c in range(6)])}
    for name, function in (("f1", sk.f1_score), ("precision", sk.precision_score), ("recall", sk.recall_score)):
        for average in ("macro", "micro", "weighted"):
            expected[f"{name}_{average}"] = function(y, pred, average=average, zero_division=0)
    scores = _by_batches(MetricSet(CLASS_SPECS), logits, targets, batch)
    assert scores == pytest.approx({k: expected[k] for k in scores}, abs=1e-6)


def test_streamed_binary_and_regression_metrics_equal_the_whole_split() -> None:
    g = torch.Generator().manual_seed(1)
    targets = torch.randint(0, 2, (300,), generator=g)
    logit = torch.randn(300, 1, generator=g) + targets[:, None] - 0.5
    y, score = targets.numpy(), logit[:, 0].numpy()
    scores = _by_batches(MetricSet(["accuracy", "auroc", "f1"]), logit, targets, 32)
    assert scores == pytest.approx({"accuracy": sk.accuracy_score(y, score > 0), "auroc": sk.roc_auc_score(y, score),
                                    "f1_macro": sk.f1_score(y, score > 0, average="macro")}, abs=1e-6)
    values = torch.randn(300, 1, generator=g)
    truth = torch.randn(300, generator=g)
    scores = _by_batches(MetricSet(["mae", "rmse"]), values, truth, 32)
    assert scores == pytest.approx({"mae": sk.mean_absolute_error(truth, values[:, 0]),
                                    "rmse": np.sqrt(sk.mean_squared_error(truth, values[:, 0]))}, abs=1e-6)


def test_binned_auroc_has_its_own_name_and_approximates_the_exact_one() -> None:
    logits, targets = _random_split()
    metric_set = MetricSet(["auroc", {"name": "auroc", "thresholds": 500}])
    assert metric_set.names == ["auroc", "auroc_500"]
    scores = _by_batches(metric_set, logits, targets, 100)
    assert scores["auroc_500"] == pytest.approx(scores["auroc"], abs=5e-3)


def test_streaming_metrics_keep_no_outputs_and_whole_split_ones_do() -> None:
    logits, targets = _random_split()
    streaming = MetricSet(CLASS_SPECS[:-2])
    assert not streaming.keeps_outputs
    scores = streaming.split_scores()
    scores.update(logits, targets)
    assert scores.kept == ([], [])
    if "top2_accuracy" not in registry.variants("metric"):
        test_a_user_metric_is_one_decorated_function()
    mixed = MetricSet(["accuracy", "top2_accuracy"])
    assert mixed.keeps_outputs
    result = _by_batches(mixed, logits, targets, 50)
    assert result["top2_accuracy"] == pytest.approx(sk.top_k_accuracy_score(targets, logits, k=2, labels=range(7)))


def test_a_torchmetrics_class_registers_as_a_streaming_metric() -> None:
    import torchmetrics

    if "explained_variance" not in registry.variants("metric"):
        component("metric", "explained_variance")(torchmetrics.ExplainedVariance)
        component("metric", "msle", streaming=True)(lambda: torchmetrics.MeanSquaredLogError())
    metric_set = MetricSet([{"name": "explained_variance", "multioutput": "uniform_average"}, "msle"])
    assert metric_set.names == ["explained_variance_uniform_average", "msle"]
    assert metric_set.directions() == {"explained_variance_uniform_average": "max", "msle": "max"}
    assert MetricSet.check_config({"metrics": [{"name": "explained_variance", "multioutpt": "raw_values"}]})[0][:2] \
        == ("metrics.0.multioutpt", "metric 'explained_variance' has no option 'multioutpt'; accepted: multioutput")
    values, truth = torch.rand(100), torch.rand(100)
    scores = _by_batches(metric_set, values, truth, 30)
    assert scores == pytest.approx({"explained_variance_uniform_average": sk.explained_variance_score(truth, values),
                                    "msle": sk.mean_squared_log_error(truth, values)}, abs=1e-6)


def test_metrics_count_natively_when_deterministic_algorithms_are_on() -> None:
    """Jobs run with deterministic algorithms on, where torchmetrics' bincount fallback would need an [elements x
    bins] tensor per batch (39 GB for this binned AUROC); the counts are the same either way."""
    logits, targets = _random_split()
    specs = ["accuracy", {"name": "f1", "average": "macro"}, {"name": "auroc", "thresholds": 500}]
    expected = _by_batches(MetricSet(specs), logits, targets, 100)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        scores = _by_batches(MetricSet(specs), logits, targets, 100)
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
    assert scores == expected
