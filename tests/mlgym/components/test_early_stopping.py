"""Early stopping: improvement, plateau, relative threshold, min mode, missing key, state."""
from __future__ import annotations

import pytest

from mlgym.components.early_stopping import EarlyStopping


DIRECTIONS = {"accuracy": "max", "mae": "min", "cross_entropy": "min"}


def run(stopper: EarlyStopping, values: list[float], key: str = "val/accuracy") -> list[bool]:
    stopper.use_directions(DIRECTIONS)
    return [stopper.update(epoch, {key: v, "train/accuracy": 1.0}) for epoch, v in enumerate(values, start=1)]


def test_keeps_going_while_improving() -> None:
    stopper = EarlyStopping(patience=2)
    assert run(stopper, [0.5, 0.6, 0.7, 0.8]) == [False] * 4
    assert (stopper.best_epoch, stopper.best_score) == (4, 0.8)


def test_stops_after_patience_epochs_without_improvement() -> None:
    stopper = EarlyStopping(patience=2)
    assert run(stopper, [0.5, 0.7, 0.7, 0.6]) == [False, False, False, True]
    assert (stopper.best_epoch, stopper.best_score) == (2, 0.7)


def test_improvement_resets_the_count() -> None:
    assert run(EarlyStopping(patience=2), [0.5, 0.4, 0.6, 0.5, 0.4]) == [False, False, False, False, True]


def test_relative_threshold() -> None:
    stopper = EarlyStopping(patience=2, min_relative_improvement=0.1)
    # 0.54 is +8% over 0.5: not enough; 0.56 is +12%: counts.
    assert run(stopper, [0.5, 0.54, 0.56, 0.6, 0.61]) == [False, False, False, False, True]
    assert (stopper.best_epoch, stopper.best_score) == (3, 0.56)


def test_min_mode_on_a_loss() -> None:
    stopper = EarlyStopping(metric="cross_entropy", mode="min", patience=1)
    assert run(stopper, [1.0, 0.8, 0.9], key="val/cross_entropy") == [False, False, True]
    assert stopper.best_score == 0.8


@pytest.mark.parametrize("metric", ["mae", "cross_entropy"])
def test_without_mode_the_direction_the_metric_declares_is_used(metric: str) -> None:
    stopper = EarlyStopping(metric=metric, patience=1)
    assert run(stopper, [1.0, 0.8, 0.9], key=f"val/{metric}") == [False, False, True]
    assert (stopper.mode, stopper.best_score) == ("min", 0.8)


def test_an_explicit_mode_wins_over_the_declared_direction() -> None:
    stopper = EarlyStopping(metric="mae", mode="max", patience=1)
    assert run(stopper, [1.0, 0.8], key="val/mae") == [False, True]


def test_a_metric_the_experiment_does_not_report_has_no_direction() -> None:
    with pytest.raises(ValueError, match="early stopping monitors 'f1_macro', which the experiment does not "
                                         "report; scores: accuracy, mae, cross_entropy"):
        EarlyStopping(metric="f1_macro").use_directions(DIRECTIONS)


def test_nan_never_improves() -> None:
    stopper = EarlyStopping(patience=2)
    assert run(stopper, [float("nan"), 0.5, float("nan"), float("nan")]) == [False, False, False, True]
    assert stopper.best_epoch == 2


def test_missing_key_lists_the_available_ones() -> None:
    with pytest.raises(ValueError, match="monitors 'val/f1_macro', which is not among the scores: "
                                         "train/accuracy, val/accuracy"):
        EarlyStopping(metric="f1_macro", mode="max").update(1, {"val/accuracy": 0.5, "train/accuracy": 0.4})


def test_state_round_trip_continues_the_count() -> None:
    first = EarlyStopping(patience=3)
    run(first, [0.5, 0.9, 0.8, 0.8])
    resumed = EarlyStopping(patience=3, mode="max")
    resumed.load_state_dict(first.state_dict())
    assert resumed.update(5, {"val/accuracy": 0.85}) is True
    assert resumed.best_epoch == 2


@pytest.mark.parametrize("kwargs, message", [
    pytest.param({"patience": 0}, "patience must be >= 1, got 0", id="patience"),
    pytest.param({"min_relative_improvement": -0.1}, "min_relative_improvement must be >= 0", id="threshold"),
])
def test_bad_arguments(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**kwargs)
