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


def run_in_process(*args: str) -> subprocess.CompletedProcess:
    """`mlgym ARGS` called in this process (no interpreter start-up, no torch import per call), with the same
    result shape as `run_cli`; for commands that start no worker processes of their own."""
    import contextlib
    import io

    from mlgym.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["mlgym", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture
def iris_config() -> Path:
    return CONFIGS / "iris_mlp.yml"
