"""Shared helpers: run the real CLI in a subprocess, find the test configs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = Path(__file__).resolve().parent / "configs"
EXAMPLES = ROOT / "example"


def run_cli(*args: str, cwd: Path | None = None, script: Path | None = None, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `mlgym` (or an example's run.py) as a real process and capture its output."""
    command = [sys.executable, str(script)] if script else [sys.executable, "-m", "mlgym.cli.main"]
    full_env = {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=full_env)


@pytest.fixture
def iris_config() -> Path:
    return CONFIGS / "iris_mlp.yml"
