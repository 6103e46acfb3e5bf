"""The registry: decorator and plain call, duplicates, misses with suggestions."""
from __future__ import annotations

import pytest

from mlgym.errors import ConfigError
from mlgym.registry import Registry


def test_decorator_and_plain_call_register() -> None:
    registry = Registry()

    @registry.register("model", "Tiny")
    def tiny() -> str:
        return "tiny"

    registry.register("model", "other", lambda: "other")
    assert registry.get("MODEL", "tiny")() == "tiny"
    assert registry.variants("model") == ["other", "tiny"]


def test_duplicate_names_the_first_registrant() -> None:
    registry = Registry()

    def first() -> None: ...

    def second() -> None: ...

    registry.register("loss", "mine", first)
    with pytest.raises(ValueError, match=r"already registered by .*first"):
        registry.register("loss", "mine", second)


def test_miss_lists_variants_and_nearest() -> None:
    registry = Registry()
    registry.register("optimizer", "adam", lambda: None)
    registry.register("optimizer", "sgd", lambda: None)
    with pytest.raises(ConfigError) as e:
        registry.get("optimizer", "adamw", "opt")
    assert "known variants: adam, sgd" in str(e.value) and "did you mean 'adam'?" in str(e.value)
