"""Devices for workers: turning `--computation_device_ids` into device names, and binding a worker to one.

The scheduler never imports torch at module level; a worker imports it lazily, only to bind a CUDA device or to
limit torch's threads when torch is (or gets) imported there.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Sequence

_DEVICE = re.compile(r"^(cpu|cuda:\d+)$")
_THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def resolve_devices(device_ids: Sequence[int | str] | None) -> list[str]:
    """`[0, 1]` -> `["cuda:0", "cuda:1"]`; empty or None -> `["cpu"]`; names `cpu` / `cuda:N` pass through."""
    if not device_ids:
        return ["cpu"]
    devices = []
    for raw in device_ids:
        text = str(raw).strip()
        name = f"cuda:{text}" if text.isdigit() else text
        if not _DEVICE.match(name):
            raise ValueError(f"device {raw!r} is not a GPU index (0, 1, ...), 'cuda:N' or 'cpu'")
        devices.append(name)
    return devices


def device_for_worker(devices: Sequence[str], worker_index: int) -> str:
    """Round robin: worker i runs on devices[i % len(devices)]."""
    return devices[worker_index % len(devices)]


def bind_device(device: str) -> None:
    """Make `device` the current CUDA device of this process, when torch is installed and CUDA is available."""
    if not device.startswith("cuda"):
        return
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(torch.device(device))


def set_thread_env(threads: int | None) -> None:
    """Cap BLAS/OpenMP threads before any numeric library starts its thread pool."""
    if threads is None:
        return
    for name in _THREAD_ENV_VARS:
        os.environ[name] = str(threads)


def apply_torch_threads(threads: int | None, import_torch: bool = False) -> bool:
    """Call torch.set_num_threads(threads); True when applied.

    With `import_torch` torch is imported when installed (the worker does this once at start, because torch
    clamps OMP_NUM_THREADS to the core count); otherwise only an already imported torch is configured.
    """
    if threads is None:
        return False
    if "torch" not in sys.modules:
        if not import_torch or importlib.util.find_spec("torch") is None:
            return False
        importlib.import_module("torch")
    torch = sys.modules["torch"]
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return True
