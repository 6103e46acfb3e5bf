"""Ctrl-C during `mlgym train`: workers stopped, log closed with `interrupted`, exit status 130."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from mlgym.events.event_log import read_events
from tests.conftest import CONFIGS


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "mlgym.cli.main", "train", "--gs_config_path", str(CONFIGS / "digits_mlp.yml"),
               "--log_dir", str(tmp_path), "--num_epochs", "50", "--process_count", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            logs = list(tmp_path.glob("*/event_storage.log"))
            if logs and any(e["event_type"] == "evaluation_result" for e in read_events(logs[0])):
                break
            time.sleep(0.05)
        children = psutil.Process(process.pid).children(recursive=True)
        assert children, "workers should be running"
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    psutil.wait_procs(children, timeout=10)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    events = list(read_events(logs[0]))
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[-1]["event_type"] == "grid_search_finished"
    assert events[-1]["payload"]["status"] == "interrupted"
    assert logs[0].read_bytes().endswith(b"\n")
