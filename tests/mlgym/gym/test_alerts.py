"""Alert rules: `when` is read without eval, malformed rules are config problems, warnings fire on a change."""
from __future__ import annotations

import math

import pytest

from mlgym.gym.alerts import AlertMonitor, alert_problems, parse_rules, parse_when


@pytest.mark.parametrize("when, expected", [
    pytest.param("val/loss > 10", ("val/loss", ">", 10.0), id="gt"),
    pytest.param("  train/cross_entropy>=1e6 ", ("train/cross_entropy", ">=", 1e6), id="no_spaces_exponent"),
    pytest.param("val/f1_macro < -0.5", ("val/f1_macro", "<", -0.5), id="negative"),
    pytest.param("test/accuracy != 1", ("test/accuracy", "!=", 1.0), id="ne"),
    pytest.param("val/mse == inf", ("val/mse", "==", math.inf), id="inf"),
])
def test_when_is_read(when: str, expected: tuple) -> None:
    assert parse_when(when) == expected


@pytest.mark.parametrize("raw, where, message", [
    pytest.param({"when": "val/loss >> 10"}, "alerts.0.when", "cannot read when: 'val/loss >> 10'", id="bad_op"),
    pytest.param({"when": "loss > 10"}, "alerts.0.when", "cannot read when: 'loss > 10'", id="no_split"),
    pytest.param({"when": "val/loss > ten"}, "alerts.0.when", "'ten' is not a number", id="not_a_number"),
    pytest.param({"when": "__import__('os') > 1"}, "alerts.0.when", "cannot read when", id="code"),
    pytest.param({"when": 3}, "alerts.0.when", "'when' must be a string", id="not_a_string"),
    pytest.param({"when": "val/loss > 1", "action": "panic"}, "alerts.0.action",
                 "action must be one of ['warn', 'stop'], got 'panic'", id="bad_action"),
    pytest.param({"when": "val/loss > 1", "then": "stop"}, "alerts.0", "unknown key(s) ['then']", id="unknown_key"),
    pytest.param("val/loss > 1", "alerts.0", "an alert is a mapping", id="not_a_mapping"),
])
def test_malformed_rules_are_config_problems(raw: object, where: str, message: str) -> None:
    [(path, text, hint)] = alert_problems([raw])
    assert path == where and message in text and "val/cross_entropy > 10" in hint


def test_warn_fires_when_the_condition_becomes_true_stop_every_time() -> None:
    monitor = AlertMonitor(parse_rules([{"when": "val/loss > 1"}, {"when": "val/acc < 0.5", "action": "stop"}]))
    assert monitor.check(1, {"val/loss": 2.0}) and monitor.check(2, {"val/loss": 3.0}) == []
    assert monitor.check(3, {"val/loss": 0.5}) == []
    [again] = monitor.check(4, {"val/loss": math.inf})
    assert again.finite_value is None and again.message == "alert 'val/loss > 1' (warn): val/loss = inf at epoch 4"
    assert monitor.check(5, {"val/loss": math.nan}) == []  # NaN satisfies no comparison but !=
    [stop] = monitor.check(6, {"val/acc": 0.25, "val/loss": 0.1})
    assert stop.rule.action == "stop" and stop.value == 0.25


def test_a_monitor_restored_from_its_state_does_not_warn_again_for_a_condition_that_still_holds() -> None:
    rules = parse_rules([{"when": "val/loss > 1"}])
    monitor = AlertMonitor(rules)
    assert monitor.check(1, {"val/loss": 2.0})
    resumed = AlertMonitor(rules)
    resumed.load_state_dict(monitor.state_dict())
    assert resumed.check(2, {"val/loss": 3.0}) == []
    assert AlertMonitor(rules).check(2, {"val/loss": 3.0}), "a fresh monitor warns: the state is what prevents it"
