"""What a pool's forkserver imports once before it forks the workers (`scheduler/start_method.py`).

The job and every built-in component, and what a job's first build would import otherwise (the splitters' and
datasets' scikit-learn modules, the graph's dependency-injector). A module missing here is simply imported by the
worker that needs it; a module that fails to import here is skipped. Naming them imports nothing: the run layer
reads this list before this process has imported torch, so the server's imports run alongside its own.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

WORKER_PRELOAD = ("mlgym.scheduler.server_setup",  # first: no GC while importing, exit without teardown
                  "mlgym.scheduler.worker", "mlgym.gym.job", "mlgym.gym.builtins", "mlgym.checkpointing.manager",
                  "dependency_injector.containers", "sklearn.datasets", "sklearn.model_selection",
                  "torchmetrics.classification",  # the metrics' states: ~0.5 s at a job's first evaluation
                  "torch._dynamo",  # imported (with TorchInductor's config) by the first optimizer: ~1.4 s
                  "mlgym.scheduler.server_ready")  # last: freezes the imports, GC back on


def load_components(python_modules: Sequence[Any] = ()) -> None:
    """Every worker's initializer: the built-in components, then the gs_config's `python_modules`. Naming it as
    the initializer imports nothing, so the main process can start the workers before it has imported torch."""
    from mlgym.gym.builtins import load_components as load
    load(python_modules)
