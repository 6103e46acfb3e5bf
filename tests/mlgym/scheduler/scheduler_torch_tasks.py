"""Task functions that import torch (threads, devices, seeded training) for the scheduler tests."""
from __future__ import annotations

from mlgym.scheduler import TaskContext


def torch_threads(*, context: TaskContext) -> dict:
    import torch
    return {"threads": torch.get_num_threads(), "device": context.device}


def train_tiny(seed: int, *, context: TaskContext) -> list[float]:
    """A few SGD steps of a small MLP on seeded random data; returns the loss after each step."""
    import torch
    torch.manual_seed(seed)
    x = torch.randn(64, 8)
    y = (x.sum(dim=1, keepdim=True) > 0).float()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def torch_threads_and_modules(*, context: TaskContext) -> dict:
    """torch's threads, whether the forkserver's preload is here without this task importing it, the parent, and
    the garbage collector's state (on, with the preloaded objects frozen out of its collections)."""
    import gc
    import os
    import sys

    import torch
    return {"threads": torch.get_num_threads(), "preloaded": "sklearn.model_selection" in sys.modules,
            "parent": os.getppid(), "gc_enabled": gc.isenabled(), "gc_frozen": gc.get_freeze_count()}
