"""Alerts on scores: `{when: "val/cross_entropy > 10", action: warn | stop}`, parsed without eval.

A rule's `when` is `<split>/<name> <op> <number>` with op one of < <= > >= == !=. The trainer's `alerts` list is
checked when the config is validated (a malformed rule is a config error at its line); the job evaluates every rule
on each epoch's scores. A `warn` rule fires when its condition becomes true (again after it was false), a `stop`
rule stops the job.
"""
from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt}
ACTIONS = ("warn", "stop")
_WHEN = re.compile(r"^\s*(?P<key>[^\s/<>=!]+/[^\s<>=!]+)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<number>\S+)\s*$")
_EXAMPLE = 'e.g. {when: "val/cross_entropy > 10", action: stop}'


class AlertRuleError(ValueError):
    """A rule that cannot be parsed; `field` is `when`, `action` or None (the rule itself)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AlertRule:
    """`key op threshold`, and what to do when it holds."""

    when: str
    key: str
    op: str
    threshold: float
    action: str = "warn"

    def holds(self, value: float | None) -> bool:
        """Plain float comparison: NaN satisfies only `!=`, an infinite loss is `> 10`. No score: False."""
        return value is not None and OPERATORS[self.op](float(value), self.threshold)


def parse_when(when: Any) -> tuple[str, str, float]:
    """`"val/loss > 10"` -> ("val/loss", ">", 10.0); raises AlertRuleError saying what is wrong."""
    if not isinstance(when, str):
        raise AlertRuleError(f"'when' must be a string like \"val/cross_entropy > 10\", got {when!r}", "when")
    match = _WHEN.match(when)
    if match is None:
        raise AlertRuleError(f"cannot read when: {when!r}; expected '<split>/<name> <op> <number>' with op one of "
                             f"{' '.join(sorted(OPERATORS, key=len))}", "when")
    try:
        threshold = float(match["number"])
    except ValueError:
        raise AlertRuleError(f"cannot read when: {when!r}; {match['number']!r} is not a number", "when") from None
    if math.isnan(threshold):
        raise AlertRuleError(f"cannot read when: {when!r}; compare with a number, not NaN", "when")
    return match["key"], match["op"], threshold


def parse_rule(raw: Any) -> AlertRule:
    if not isinstance(raw, Mapping):
        raise AlertRuleError(f"an alert is a mapping {{when, action}}, got {raw!r}")
    unknown = sorted(set(raw) - {"when", "action"})
    if unknown:
        raise AlertRuleError(f"unknown key(s) {unknown} in an alert; allowed: ['action', 'when']")
    if "when" not in raw:
        raise AlertRuleError("an alert needs 'when'")
    action = raw.get("action", "warn")
    if action not in ACTIONS:
        raise AlertRuleError(f"action must be one of {list(ACTIONS)}, got {action!r}", "action")
    key, op, threshold = parse_when(raw["when"])
    return AlertRule(raw["when"], key, op, threshold, action)


def parse_rules(raw: Iterable[Any] | None) -> list[AlertRule]:
    return [parse_rule(r) for r in raw or []]


def alert_problems(raw: Any, path: str = "alerts") -> list[tuple[str, str, str | None]]:
    """Config problems `(key path, message, hint)` of an `alerts` list, for a component's `check_config`."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [(path, f"alerts must be a list of {{when, action}}, got {raw!r}", _EXAMPLE)]
    problems = []
    for i, item in enumerate(raw):
        try:
            parse_rule(item)
        except AlertRuleError as e:
            where = f"{path}.{i}.{e.field}" if e.field else f"{path}.{i}"
            problems.append((where, str(e), _EXAMPLE))
    return problems


@dataclass(frozen=True)
class Fired:
    """A rule whose condition became true on a score."""

    rule: AlertRule
    value: float | None  # as scored; may be NaN or infinite
    epoch: int

    @property
    def finite_value(self) -> float | None:
        return self.value if self.value is not None and math.isfinite(self.value) else None

    @property
    def message(self) -> str:
        value = "null" if self.value is None else f"{self.value:.6g}"
        return f"alert '{self.rule.when}' ({self.rule.action}): {self.rule.key} = {value} at epoch {self.epoch}"


class AlertMonitor:
    """Evaluates the rules on each epoch's scores; a rule fires when its condition turns true."""

    def __init__(self, rules: list[AlertRule]) -> None:
        self.rules = rules
        self._active: set[int] = set()

    def check(self, epoch: int, scores: Mapping[str, float | None]) -> list[Fired]:
        fired = []
        for i, rule in enumerate(self.rules):
            if rule.key not in scores:
                continue
            value = scores[rule.key]
            if not rule.holds(value):
                self._active.discard(i)
                continue
            if i in self._active and rule.action == "warn":
                continue
            self._active.add(i)
            fired.append(Fired(rule, None if value is None else float(value), epoch))
        return fired

    def state_dict(self) -> dict[str, list[int]]:
        """The rules whose condition holds now (checkpointed: a resumed job does not warn again for them)."""
        return {"active": sorted(self._active)}

    def load_state_dict(self, state: dict[str, list[int]]) -> None:
        self._active = set(state.get("active", []))
