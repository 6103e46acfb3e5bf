"""Where and with what a grid search ran: installed distributions, git commit, dirtiness and diff, devices, host.

The diff of tracked files is stored beside the event log (`git_diff-<sha256 prefix>.patch`, content-addressed so
a warm start in another state adds its own file) and only its SHA-256 and file name go into the event.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlgym

DIRTY_GIT = ("ignore", "warn", "error")


def _run(command: list[str], cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _git(args: list[str], cwd: Path) -> str | None:
    out = _run(["git", *args], cwd)
    return None if out is None else out.strip()


def installed_distributions() -> dict[str, str]:
    """Every installed distribution's name -> version (what `pip freeze` would pin), sorted by name."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[name] = dist.version
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def cuda_info() -> dict[str, Any] | None:
    """CUDA version, GPU names and the NVIDIA driver when a GPU is visible; None on a CPU-only machine."""
    import torch
    if not torch.cuda.is_available():
        return None
    driver = None
    if shutil.which("nvidia-smi"):
        out = _run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"])
        driver = out.strip().splitlines()[0] if out and out.strip() else None
    return {"cuda_version": torch.version.cuda, "driver_version": driver,
            "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]}


@dataclass(frozen=True)
class Environment:
    """What `grid_search_started.environment` records, and the diff of tracked files it names (None: clean or
    not in a git repository)."""

    info: dict[str, Any]
    diff: str | None

    @property
    def dirty(self) -> bool:
        return bool(self.info.get("git_dirty"))

    def write_diff(self, folder: Path) -> None:
        """Store the diff beside the log under the name the event gives (atomically: a reader never sees half)."""
        name = self.info.get("git_diff_file")
        if not name or self.diff is None:
            return
        target = folder / name
        if target.exists():
            return
        tmp = target.with_suffix(".tmp")
        tmp.write_text(self.diff)
        tmp.replace(target)


def capture_environment(config_dir: Path) -> Environment:
    import torch

    commit = _git(["rev-parse", "HEAD"], config_dir)
    # tracked files only: the logs and checkpoints a run writes into the project must not make the next run dirty
    status = _run(["git", "status", "--porcelain", "--untracked-files=no"], config_dir) if commit else None
    diff = _run(["git", "diff", "HEAD", "--binary"], config_dir) if status else None
    digest = hashlib.sha256(diff.encode()).hexdigest() if diff else None
    info = {"mlgym_version": mlgym.__version__, "git_commit": commit,
            "git_dirty": None if status is None else bool(status),
            "git_changed_files": [line[3:] for line in status.splitlines() if line.strip()] if status else [],
            "git_diff_sha256": digest, "git_diff_file": f"git_diff-{digest[:16]}.patch" if digest else None,
            "hostname": socket.gethostname(), "python_version": platform.python_version(),
            "torch_version": torch.__version__, "platform": platform.platform(), "argv": sys.argv,
            "cuda": cuda_info(), "packages": installed_distributions()}
    return Environment(info, diff)


def environment_info(config_dir: Path) -> dict[str, Any]:
    return capture_environment(config_dir).info
