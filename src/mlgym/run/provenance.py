"""Where and with what a grid search ran: versions, git commit and dirtiness, host."""
from __future__ import annotations

import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlgym


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def environment_info(config_dir: Path) -> dict[str, Any]:
    import torch

    commit = _git(["rev-parse", "HEAD"], config_dir)
    status = _git(["status", "--porcelain"], config_dir) if commit else None
    return {"mlgym_version": mlgym.__version__, "git_commit": commit,
            "git_dirty": None if status is None else bool(status), "hostname": socket.gethostname(),
            "python_version": platform.python_version(), "torch_version": torch.__version__,
            "platform": platform.platform(), "argv": sys.argv}
