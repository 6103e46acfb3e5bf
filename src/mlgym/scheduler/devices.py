"""Devices for workers: parsing `--computation_device_ids` into device names, and binding a worker to one.

The scheduler never imports torch at module level; a worker imports it lazily, only to bind a CUDA device or to
limit torch's threads when torch is (or gets) imported there.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterator, Sequence

from mlgym.errors import ConfigError

_CUDA = re.compile(r"^cuda:(\d+)$")
_THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
ACCEPTED = "cpu, a GPU index N (0, 1, ...) or cuda:N"


def _gpu_count() -> int:
    import torch  # only when a GPU is asked for: the scheduler never imports torch at module level
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _gpus(count: int) -> str:
    if count == 0:
        return "no GPU (CUDA is not available)"
    return f"{count} GPU{'s' if count != 1 else ''} ({', '.join(f'cuda:{i}' for i in range(count))})"


def _device_name(raw: int | str, key_path: str) -> str:
    text = str(raw).strip().lower()
    if text.isdigit() and not isinstance(raw, bool):
        return f"cuda:{text}"
    if text == "cpu" or _CUDA.match(text):
        return text
    index = re.fullmatch(r"[a-z]+\s*:?\s*(\d+)", text)  # gpu0, cuda1, gpu:2
    raise ConfigError(f"{raw!r} is not a device name; accepted: {ACCEPTED}", key_path=key_path,
                      hint=f"for GPU {index.group(1)} write {index.group(1)} or cuda:{index.group(1)}" if index
                      else "use cpu, or leave it out to run on the CPU")


def resolve_devices(device_ids: Sequence[int | str] | int | str | None, gpu_count: int | None = None,
                    key_path: str = "computation_device_ids") -> list[str]:
    """The one parser of `--computation_device_ids` / run_config `computation_device_ids`.

    `[0, 1]` -> `["cuda:0", "cuda:1"]`; empty or None -> `["cpu"]`; `cpu` and `cuda:N` pass through. A name
    that is none of these, or a GPU this machine does not have (`gpu_count`, asked from torch when None and a
    GPU is named), is a ConfigError saying what was given, what is accepted and how many GPUs there are.
    """
    if device_ids is None or isinstance(device_ids, (list, tuple)) and not device_ids:
        return ["cpu"]
    if isinstance(device_ids, (str, int)):
        device_ids = [device_ids]
    devices = [_device_name(raw, key_path) for raw in device_ids]
    gpus = [(raw, int(d.split(":")[1])) for raw, d in zip(device_ids, devices) if d != "cpu"]
    if gpus:
        count = _gpu_count() if gpu_count is None else gpu_count
        for raw, index in gpus:
            if index >= count:
                raise ConfigError(f"device {raw!r} is GPU cuda:{index}, but this machine has {_gpus(count)}",
                                  key_path=key_path, hint="use cpu, or leave it out to run on the CPU" if count == 0
                                  else f"GPU indices here: {'0' if count == 1 else f'0 to {count - 1}'}, or cpu")
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


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """`apply_torch_threads(threads)` inside the block, the thread count before it restored after; nothing when
    torch has not been imported (a task that imports it itself computes with torch's default)."""
    torch = sys.modules.get("torch")
    if torch is None or threads is None:
        yield
        return
    before = torch.get_num_threads()
    apply_torch_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
