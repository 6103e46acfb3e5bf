"""Value constraints a component states in its signature: `batch_size: Annotated[int, Positive]`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Constraint:
    """A check on a config value, with the words to say when it fails."""

    description: str

    def holds(self, value: Any) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError


class _Positive(Constraint):
    def holds(self, value: Any) -> bool:
        return value > 0


class _NonNegative(Constraint):
    def holds(self, value: Any) -> bool:
        return value >= 0


Positive = _Positive("a number > 0")
NonNegative = _NonNegative("a number >= 0")
