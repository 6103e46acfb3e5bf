"""What a pool's forkserver imports once before it forks the workers (`scheduler/start_method.py`).

The job and every built-in component, and what a job's first build would import otherwise (the splitters' and
datasets' scikit-learn modules, the graph's dependency-injector). A module missing here is simply imported by the
worker that needs it; a module that fails to import here is skipped. Naming them imports nothing: the run layer
reads this list before this process has imported torch, so the server's imports run alongside its own.
"""
from __future__ import annotations

WORKER_PRELOAD = ("mlgym.scheduler.worker", "mlgym.gym.job", "mlgym.gym.builtins", "mlgym.checkpointing.manager",
                  "dependency_injector.containers", "sklearn.datasets", "sklearn.model_selection",
                  "torchmetrics.classification",  # the metrics' states: ~0.5 s at a job's first evaluation
                  "torch._dynamo")  # imported (with TorchInductor's config) by the first optimizer: ~1.4 s
