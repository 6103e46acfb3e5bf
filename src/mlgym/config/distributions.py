"""Sweep nodes as distributions: `{sweep: <kind>, ...}` parsed and checked into an object that lists its values
(finite kinds, for the grid) and draws one (every kind, for random search).

Finite kinds: absolute, choice, range, linspace, logspace, int, logint. Continuous: uniform, loguniform.
"""
from __future__ import annotations

import copy
import difflib
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from mlgym.config.loader import SourceMap
from mlgym.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np


class Distribution(ABC):
    """What one sweep may take: its values when there are finitely many, and a way to draw one."""

    kind: ClassVar[str]

    def finite_values(self) -> list[Any] | None:
        """Every value, in order (a grid axis); None for a continuous distribution."""
        return None

    @abstractmethod
    def sample(self, rng: "np.random.Generator") -> Any:
        """One value drawn with `rng` (plain Python types, so configs stay JSON)."""


class FiniteDistribution(Distribution):
    """Finitely many values, drawn uniformly by random search; counted and indexed without being listed."""

    @abstractmethod
    def size(self) -> int: ...

    @abstractmethod
    def value_at(self, index: int) -> Any: ...

    def finite_values(self) -> list[Any]:
        return [self.value_at(i) for i in range(self.size())]

    def sample(self, rng: "np.random.Generator") -> Any:
        return self.value_at(int(rng.integers(self.size())))


@dataclass(frozen=True)
class Values(FiniteDistribution):
    """`absolute` and `choice`: the listed values (the same thing under both names)."""

    values: tuple[Any, ...]
    kind: str = "absolute"  # type: ignore[misc]

    def size(self) -> int:
        return len(self.values)

    def value_at(self, index: int) -> Any:
        return copy.deepcopy(self.values[index])


@dataclass(frozen=True)
class Range(FiniteDistribution):
    """Python's `range(start, stop, step)` (stop excluded); with a float among them, the same counted in decimal
    arithmetic on the numbers as written, so `0.1, 0.5, 0.1` gives 0.1, 0.2, 0.3, 0.4 exactly."""

    start: int | float
    stop: int | float
    step: int | float
    kind: ClassVar[str] = "range"

    @property
    def _integral(self) -> bool:
        return all(type(v) is int for v in (self.start, self.stop, self.step))

    def size(self) -> int:
        if self._integral:
            return len(range(self.start, self.stop, self.step))
        start, stop, step = (_decimal(v) for v in (self.start, self.stop, self.step))
        count = ((stop - start) / step).to_integral_value(rounding=ROUND_CEILING)
        return max(0, int(count))

    def value_at(self, index: int) -> int | float:
        if self._integral:
            return self.start + index * self.step
        return float(_decimal(self.start) + index * _decimal(self.step))


@dataclass(frozen=True)
class Linspace(FiniteDistribution):
    """`num` evenly spaced values from `start` to `stop`, both included (numpy.linspace), as floats."""

    start: float
    stop: float
    num: int
    kind: ClassVar[str] = "linspace"

    def size(self) -> int:
        return self.num

    def value_at(self, index: int) -> float:
        if self.num == 1:
            return float(self.start)
        start, stop = _decimal(self.start), _decimal(self.stop)
        return float(start + (stop - start) * index / (self.num - 1))


@dataclass(frozen=True)
class Logspace(FiniteDistribution):
    """`num` values from `start` to `stop` (the values themselves, both included), evenly spaced on a log scale:
    numpy.geomspace, not numpy.logspace (whose bounds are exponents). Rounded to 15 significant digits."""

    start: float
    stop: float
    num: int
    kind: ClassVar[str] = "logspace"

    def size(self) -> int:
        return self.num

    def value_at(self, index: int) -> float:
        if index == 0 or self.num == 1:
            return float(self.start)
        if index == self.num - 1:
            return float(self.stop)
        value = self.start * (self.stop / self.start) ** (index / (self.num - 1))
        return float(f"{value:.15g}")


@dataclass(frozen=True)
class IntRange(FiniteDistribution):
    """Every integer from `low` to `high`, both included; `logint` draws them uniformly on a log scale."""

    low: int
    high: int
    log: bool = False

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "logint" if self.log else "int"

    def size(self) -> int:
        return self.high - self.low + 1

    def value_at(self, index: int) -> int:
        return self.low + index

    def sample(self, rng: "np.random.Generator") -> int:
        if not self.log:
            return int(rng.integers(self.low, self.high, endpoint=True))
        # Optuna's rule: uniform in log space over [low - 0.5, high + 0.5], rounded to the nearest integer.
        value = math.exp(float(rng.uniform(math.log(self.low - 0.5), math.log(self.high + 0.5))))
        return min(self.high, max(self.low, math.floor(value + 0.5)))


@dataclass(frozen=True)
class Uniform(Distribution):
    """A float uniformly in [low, high); `loguniform`: uniformly on a log scale (low > 0)."""

    low: float
    high: float
    log: bool = False

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "loguniform" if self.log else "uniform"

    def sample(self, rng: "np.random.Generator") -> float:
        if not self.log:
            return float(rng.uniform(self.low, self.high))
        value = math.exp(float(rng.uniform(math.log(self.low), math.log(self.high))))
        return min(self.high, max(self.low, value))


def _decimal(value: int | float) -> Decimal:
    """The number as written (the shortest repr of a float), so 0.1 is 0.1, not 0.1000000000000000055..."""
    return Decimal(value) if type(value) is int else Decimal(repr(float(value)))


# ---------------------------------------------------------------------------------------------------------------
# Parsing: every check names the key path; the sweep node's path is `path`, a key of it `path.key`.

KEYS = {"absolute": ("values",), "choice": ("values",), "range": ("start", "stop", "step"),
        "linspace": ("start", "stop", "num"), "logspace": ("start", "stop", "num"), "int": ("low", "high"),
        "logint": ("low", "high"), "uniform": ("low", "high"), "loguniform": ("low", "high")}
SWEEP_KINDS = tuple(KEYS)
EXAMPLES = {"absolute": "{sweep: absolute, values: [0.1, 0.01]}", "choice": "{sweep: choice, values: [relu, gelu]}",
            "range": "{sweep: range, start: 16, stop: 128, step: 16}",
            "linspace": "{sweep: linspace, start: 0.0, stop: 0.5, num: 6}",
            "logspace": "{sweep: logspace, start: 1e-4, stop: 1e-1, num: 4}", "int": "{sweep: int, low: 1, high: 4}",
            "logint": "{sweep: logint, low: 16, high: 512}", "uniform": "{sweep: uniform, low: 0.0, high: 0.5}",
            "loguniform": "{sweep: loguniform, low: 1e-5, high: 1e-1}"}


class _Node:
    """One sweep node being parsed: its keys read as numbers, errors located at `path.key`."""

    def __init__(self, node: dict[str, Any], kind: str, path: str, source: SourceMap) -> None:
        self.node, self.kind, self.path, self.source = node, kind, path, source

    def error(self, message: str, key: str | None = None, hint: str | None = None) -> ConfigError:
        return self.source.error(message, f"{self.path}.{key}" if key else self.path, hint=hint)

    def number(self, key: str) -> int | float:
        value = self.node[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"sweep '{self.kind}': {key} must be a number, got {value!r}", key,
                             hint=f"e.g. {EXAMPLES[self.kind]}")
        if not math.isfinite(value):
            raise self.error(f"sweep '{self.kind}': {key} must be a finite number, got {value!r}", key)
        return value

    def integer(self, key: str, minimum: int | None = None) -> int:
        value = self.number(key)
        if isinstance(value, float) and not value.is_integer():
            raise self.error(f"sweep '{self.kind}': {key} must be an integer, got {value!r}", key,
                             hint=f"e.g. {EXAMPLES[self.kind]}")
        value = int(value)
        if minimum is not None and value < minimum:
            raise self.error(f"sweep '{self.kind}': {key} must be an integer >= {minimum}, got {value}", key)
        return value

    def positive(self, key: str, value: int | float) -> None:
        if value <= 0:
            raise self.error(f"sweep '{self.kind}': {key} must be > 0 on a log scale, got {value!r}", key,
                             hint=f"e.g. {EXAMPLES[self.kind]}")

    def ordered(self, low: int | float, high: int | float) -> None:
        if low >= high:
            raise self.error(f"sweep '{self.kind}': low ({low!r}) must be less than high ({high!r})",
                             hint="for a single value write the value itself instead of a sweep")


def _check_keys(node: dict[str, Any], kind: str, path: str, source: SourceMap) -> None:
    allowed = KEYS[kind]
    takes = f"it takes: {', '.join(allowed)}"
    for key in node:
        if key != "sweep" and key not in allowed:
            near = difflib.get_close_matches(str(key), allowed, n=1)
            raise source.error(f"sweep '{kind}' has no key '{key}'; {takes}", f"{path}.{key}",
                               hint=f"did you mean '{near[0]}'?" if near else f"e.g. {EXAMPLES[kind]}")
    missing = [key for key in allowed if key not in node]
    if missing:
        raise source.error(f"sweep '{kind}' needs {', '.join(repr(k) for k in missing)}; {takes}", path,
                           hint=f"e.g. {EXAMPLES[kind]}")


def parse_sweep(node: dict[str, Any], path: str, source: SourceMap) -> Distribution:
    """The distribution of the sweep node at `path` (a mapping with a `sweep` key); a ConfigError names what is
    wrong, where, and how to write it."""
    kind = node.get("sweep")
    if kind not in KEYS:
        near = difflib.get_close_matches(str(kind), SWEEP_KINDS, n=1, cutoff=0.3)
        raise source.error(f"unknown sweep kind '{kind}'; known kinds: {', '.join(SWEEP_KINDS)}",
                           f"{path}.sweep", hint=f"did you mean '{near[0]}'?" if near else None)
    _check_keys(node, kind, path, source)
    n = _Node(node, kind, path, source)
    if kind in ("absolute", "choice"):
        values = node["values"]
        if not isinstance(values, list) or not values:
            raise n.error(f"sweep '{kind}' needs a non-empty list of values", "values",
                          hint="write values: [0.1, 0.01]")
        return Values(tuple(values), kind)
    if kind == "range":
        start, stop, step = n.number("start"), n.number("stop"), n.number("step")
        if step == 0:
            raise n.error("sweep 'range': step must not be 0", "step")
        result = Range(start, stop, step)
        if start == stop:
            raise n.error(f"sweep 'range' from start {start!r} to stop {stop!r} is empty: the stop is excluded",
                          hint="for a single value write the value itself instead of a sweep")
        if result.size() == 0:
            way, side, other = ("up", "below", "down") if step > 0 else ("down", "above", "up")
            raise n.error(f"sweep 'range': step {step!r} counts {way} from start {start!r}, but stop {stop!r} is "
                          f"{side} it: the range is empty", "step", hint=f"to count {other} use step: {-step!r}")
        return result
    if kind in ("linspace", "logspace"):
        start, stop, num = n.number("start"), n.number("stop"), n.integer("num", minimum=1)
        if kind == "linspace":
            return Linspace(start, stop, num)
        n.positive("start", start)
        n.positive("stop", stop)
        return Logspace(start, stop, num)
    if kind in ("int", "logint"):
        low, high = n.integer("low"), n.integer("high")
        if kind == "logint":
            n.positive("low", low)
        n.ordered(low, high)
        return IntRange(low, high, log=kind == "logint")
    low, high = n.number("low"), n.number("high")
    if kind == "loguniform":
        n.positive("low", low)
    n.ordered(low, high)
    return Uniform(float(low), float(high), log=kind == "loguniform")
