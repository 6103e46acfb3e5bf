"""The rules of the read model, shared by every reader of an event log (docs/events.md, "Read model").

`src/ml_board/static/read_rules.js` implements the very same rules for the dashboard; the parity test
(tests/ml_board/test_read_model_parity.py) holds the two to the same numbers.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

DIRECTIONS = ("max", "min")


@dataclass(frozen=True)
class Score:
    """One score of an `evaluation_result`: key `<split>/<name>`, metric or loss, finite value or None."""

    key: str
    split: str
    name: str
    kind: str  # "metric" | "loss"
    value: float | None


def finite(value: Any) -> float | None:
    """A score as the read model keeps it: a finite number, else None (NaN, infinities, null, strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


ScoreTuple = tuple[str, str, str, str, "float | None"]  # (key, split, name, kind, finite value or None)


def score_tuples(payload: Mapping[str, Any]) -> list[ScoreTuple]:
    """The scores of an `evaluation_result` payload: metrics first, then losses, each in logged order.

    A score's split is its own `split`, else the payload's; a score without a split or a name is skipped.
    """
    default_split = payload.get("split")
    out = []
    for field, kind in (("metric_scores", "metric"), ("loss_scores", "loss")):
        entries = payload.get(field)
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, Mapping):
                continue
            name = entry.get(kind)
            split = entry.get("split")
            if split is None:
                split = default_split
            if name is None or split is None:
                continue
            out.append((f"{split}/{name}", str(split), str(name), kind, finite(entry.get("score"))))
    return out


def scores_of(payload: Mapping[str, Any]) -> Iterator[Score]:
    """`score_tuples` as `Score`s."""
    for score in score_tuples(payload):
        yield Score(*score)


def declared(directions: Any, name: str) -> str | None:
    """The direction `directions` (a `score_directions` map) declares for `name`, if a valid one."""
    if isinstance(directions, Mapping):
        direction = directions.get(name)
        if direction in DIRECTIONS:
            return direction
    return None


def fallback_direction(kind: str) -> str:
    """Logs written before `score_directions` existed: a loss is minimised, a metric maximised."""
    return "min" if kind == "loss" else "max"


def improves(value: float, best: float | None, direction: str) -> bool:
    """Strict improvement: a tie keeps the first best."""
    return best is None or (value < best if direction == "min" else value > best)


@dataclass(frozen=True)
class MeanStd:
    n: int
    mean: float | None
    std: float | None  # sample standard deviation (ddof=1); None when n < 2


def mean_std(values: list[float]) -> MeanStd:
    """Mean and sample standard deviation, summed left to right (the dashboard sums in the same order)."""
    n = len(values)
    if n == 0:
        return MeanStd(0, None, None)
    total = 0.0
    for v in values:
        total += v
    mean = total / n
    if n < 2:
        return MeanStd(n, mean, None)
    squares = 0.0
    for v in values:
        squares += (v - mean) ** 2
    return MeanStd(n, mean, math.sqrt(squares / (n - 1)))
