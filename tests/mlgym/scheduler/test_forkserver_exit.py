"""The forkserver's life around a run: started before the config is read, stopped when the run is refused, and
gone without tearing its modules down once the main process has exited (real processes throughout)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[3]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.pop("MLGYM_WORKER_START_METHOD", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return env


def _wait_gone(pid: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"forkserver {pid} still runs"
        time.sleep(0.05)


@pytest.mark.parametrize("setup", [True, False], ids=["server_setup", "without_server_setup"])
def test_the_server_exits_without_tearing_down_its_modules(setup: bool, tmp_path: Path) -> None:
    marker = tmp_path / "torn_down"
    preload = ["mlgym.scheduler.server_setup"] * setup + ["tests.mlgym.scheduler.teardown_marker"]
    done = subprocess.run([sys.executable, "-m", "tests.mlgym.scheduler.forkserver_exit_run", ",".join(preload)],
                          cwd=ROOT, env=_env(MLGYM_TEST_TEARDOWN_MARKER=str(marker)), capture_output=True,
                          text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    _wait_gone(int(done.stdout.split()[-1]))
    # Without server_setup the marker proves the teardown happens (and so that this test can fail).
    assert marker.exists() is not setup


REFUSED_TRAIN = """
import json, os, sys
from mlgym.cli.main import main
from mlgym.scheduler.start_method import _server_pid
code = main(["train", "--gs_config_path", sys.argv[1], "--process_count", "2", "--log_dir", sys.argv[2]])
pid = _server_pid()
status = os.waitpid(pid, 0)[1] if pid else None
print(json.dumps({"code": code, "pid": pid, "killed": status is not None and os.WIFSIGNALED(status)}))
"""


def test_a_refused_train_stops_the_forkserver_it_started_before_reading_the_config(tmp_path: Path) -> None:
    config = tmp_path / "gs_config.yml"
    config.write_text("model: {component_type_key: model, variant_key: no_such_variant}\n")
    done = subprocess.run([sys.executable, "-c", REFUSED_TRAIN, str(config), str(tmp_path / "logs")], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=90)
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 2 and "no_such_variant" in done.stderr
    assert outcome["pid"] is not None and outcome["killed"]  # started early, stopped at the refusal
    assert not (tmp_path / "logs").exists()
