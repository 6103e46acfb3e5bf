"""Import every built-in component module once, so their decorators register them."""
from __future__ import annotations

import importlib

BUILTIN_MODULES = ("mlgym.components", "mlgym.gym.trainer", "mlgym.gym.evaluator", "mlgym.checkpointing.strategies")


def load_builtins() -> None:
    for name in BUILTIN_MODULES:
        importlib.import_module(name)
