"""Every built-in component, registered by importing the modules that define them.

This lives in the gym, not the registry: the registry is below the gym and never imports it (not even through
`importlib`), while the gym may import the components, its own trainer and evaluator, and the checkpointing
strategies. Whoever needs the built-ins (validation, a job, a worker) depends on this module.
"""
from __future__ import annotations

from collections.abc import Sequence

from mlgym.config.python_modules import PythonModule, import_python_modules

import mlgym.checkpointing.strategies  # noqa: F401 - registers kind `checkpointing`
import mlgym.components  # noqa: F401 - registers data, model, loss, metric, optimizer ... components
import mlgym.gym.evaluator  # noqa: F401 - registers kind `evaluator`
import mlgym.gym.trainer  # noqa: F401 - registers kind `trainer`


def load_builtins() -> None:
    """Make sure every built-in component is registered (importing this module did it); a worker's initializer."""


def load_components(python_modules: Sequence[PythonModule] = ()) -> None:
    """The built-ins, then the modules a gs_config names under `python_modules:` (which register the project's
    own components); every worker's initializer, so spawned pool workers and Ray actors know them too."""
    load_builtins()
    import_python_modules(list(python_modules))
