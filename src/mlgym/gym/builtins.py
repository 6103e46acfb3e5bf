"""Every built-in component, registered by importing the modules that define them.

This lives in the gym, not the registry: the registry is below the gym and never imports it (not even through
`importlib`), while the gym may import the components, its own trainer and evaluator, and the checkpointing
strategies. Whoever needs the built-ins (validation, a job, a worker) depends on this module.
"""
from __future__ import annotations

import mlgym.checkpointing.strategies  # noqa: F401 - registers kind `checkpointing`
import mlgym.components  # noqa: F401 - registers data, model, loss, metric, optimizer ... components
import mlgym.gym.evaluator  # noqa: F401 - registers kind `evaluator`
import mlgym.gym.trainer  # noqa: F401 - registers kind `trainer`


def load_builtins() -> None:
    """Make sure every built-in component is registered (importing this module did it); a worker's initializer."""
