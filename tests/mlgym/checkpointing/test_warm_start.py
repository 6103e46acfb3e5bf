"""Warm start: killed runs resume from checkpoints and end bit-identical to runs that were never interrupted."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlgym.events.event_log import read_events
from mlgym.run import ExecutionSettings, RunRequest, start, warm_start
from tests.conftest import CONFIGS, run_cli, run_in_process

CONFIG = CONFIGS / "digits_mlp.yml"
EPOCHS = "12"


def final_scores(log: Path) -> dict[tuple, tuple]:
    """(experiment, epoch, split) -> scores, the last event of each winning (a resumed epoch may be logged twice)."""
    scores = {}
    for e in read_events(log):
        if e["event_type"] == "evaluation_result":
            p = e["payload"]
            scores[(e["experiment_id"], p["epoch"], p["split"])] = (
                tuple((s["metric"], s["score"]) for s in p["metric_scores"]),
                tuple((s["loss"], s["score"]) for s in p["loss_scores"]))
    return scores


def the_log(log_dir: Path) -> Path:
    logs = list(log_dir.glob("*/event_storage.log"))
    assert len(logs) == 1, logs
    return logs[0]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple, tuple]:
    log_dir = tmp_path_factory.mktemp("reference")
    result = run_cli("train", "--gs_config_path", str(CONFIG), "--log_dir", str(log_dir), "--num_epochs", EPOCHS,
                     "--process_count", "2")
    assert result.returncode == 0, result.stderr
    scores = final_scores(the_log(log_dir))
    assert len(scores) == 2 * int(EPOCHS) * 3
    return scores


def count_evaluations(log_dir: Path) -> int:
    logs = list(log_dir.glob("*/event_storage.log"))
    if not logs:
        return 0
    return sum(1 for e in read_events(logs[0]) if e["event_type"] == "evaluation_result")


def start_in_background(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen([sys.executable, "-m", "mlgym.cli.main", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True)


def kill_when(process: subprocess.Popen, log_dir: Path, evaluations: int, timeout: float = 120) -> bool:
    """SIGKILL the whole process group once the log holds `evaluations` results; False if it finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if count_evaluations(log_dir) >= evaluations:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("run did not reach the kill point in time")


def test_whole_run_killed_repeatedly_resumes_bit_identical(tmp_path: Path, reference: dict) -> None:
    rng = random.Random(1234)
    total = 2 * int(EPOCHS) * 3
    process = start_in_background("train", "--gs_config_path", str(CONFIG), "--log_dir", str(tmp_path),
                                  "--num_epochs", EPOCHS, "--process_count", "2")
    kills = 0
    point = rng.randint(3, total // 3)
    killed = kill_when(process, tmp_path, point)
    kills += killed
    gs_id = the_log(tmp_path).parent.name
    while killed and kills < 3:
        point = min(total - 1, count_evaluations(tmp_path) + rng.randint(2, 10))
        process = start_in_background("warmstart", "--grid_search_id", gs_id, "--log_dir", str(tmp_path),
                                      "--process_count", "2")
        killed = kill_when(process, tmp_path, point)
        kills += killed
    assert kills >= 2, "the run should have been killed at least twice"
    result = run_cli("warmstart", "--grid_search_id", gs_id, "--log_dir", str(tmp_path), "--process_count", "2")
    assert result.returncode == 0, result.stderr
    assert final_scores(the_log(tmp_path)) == reference
    events = list(read_events(the_log(tmp_path)))
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert any(e["event_type"] == "checkpoint" and e["payload"]["action"] == "restored" for e in events)


def running_with_checkpoint(log_dir: Path) -> int | None:
    """The pid of a worker whose running experiment has saved a checkpoint of epoch >= 2, if there is one."""
    logs = list(log_dir.glob("*/event_storage.log"))
    if not logs:
        return None
    pids, saved, done = {}, set(), set()
    for e in read_events(logs[0]):
        p = e["payload"]
        if e["event_type"] == "job_status" and p["status"] == "running":
            pids[e["experiment_id"]] = p["pid"]
        elif e["event_type"] == "job_status" and p["status"] in ("done", "failed"):
            done.add(e["experiment_id"])
        elif e["event_type"] == "checkpoint" and p["action"] == "saved" and p["epoch"] >= 2:
            saved.add(e["experiment_id"])
    candidates = [pids[eid] for eid in saved - done if eid in pids]
    return candidates[0] if candidates else None


def test_killed_worker_is_retried_from_its_checkpoint(tmp_path: Path, reference: dict) -> None:
    process = start_in_background("train", "--gs_config_path", str(CONFIG), "--log_dir", str(tmp_path),
                                  "--num_epochs", EPOCHS, "--process_count", "2")
    try:
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            victim = running_with_checkpoint(tmp_path)
            time.sleep(0.01)
        assert victim is not None, "no experiment reached a checkpoint in time"
        os.kill(victim, signal.SIGKILL)
        assert process.wait(timeout=180) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    log = the_log(tmp_path)
    assert final_scores(log) == reference
    events = list(read_events(log))
    retried = [e for e in events if e["event_type"] == "job_status" and e["payload"]["status"] == "retrying"]
    restored = [e for e in events if e["event_type"] == "checkpoint" and e["payload"]["action"] == "restored"]
    assert retried, "the killed worker's job should have been retried"
    assert restored and restored[0]["payload"]["epoch"] > 0, "the retry should resume from a checkpoint"


def train_in_process(log_dir: Path, num_epochs: int, *overrides: str, config: Path = CONFIG) -> Path:
    """A run of the whole job in this process (set-up for tests about what happens after it); its event log."""
    outcome = start(RunRequest(gs_config_path=config, log_dir=log_dir, num_epochs=num_epochs, overrides=overrides,
                               execution=ExecutionSettings(kind="main_process")))
    assert outcome.status == "done", outcome.results
    return outcome.log_path


def test_corrupt_checkpoint_is_reported_and_the_previous_one_used(tmp_path: Path) -> None:
    overrides = ("checkpointing.variant_key=every", "optimizer.config.lr=0.01")
    reference = train_in_process(tmp_path / "ref", 4, *overrides)
    log = train_in_process(tmp_path / "run", 3, *overrides)
    checkpoint = next(log.parent.glob("checkpoints/*/epoch_3.pt"))
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    outcome = warm_start(tmp_path / "run", log.parent.name, 4, ExecutionSettings(kind="main_process"),
                         announce=lambda _: None)
    assert outcome.status == "done", outcome.results
    events = list(read_events(log))
    corrupt = [e["payload"] for e in events if e["event_type"] == "checkpoint" and e["payload"]["action"] == "corrupt"]
    restored = [e["payload"] for e in events if e["event_type"] == "checkpoint" and e["payload"]["action"] == "restored"]
    assert corrupt and corrupt[0]["epoch"] == 3 and "checksum" in corrupt[0]["error"]
    assert restored and restored[0]["epoch"] == 2
    saved_2 = next(e["seq"] for e in events if e["event_type"] == "checkpoint"
                   and e["payload"]["action"] == "saved" and e["payload"]["epoch"] == 2)
    assert restored[0]["checkpoint_seq"] == saved_2
    assert final_scores(log) == final_scores(reference)


def test_warm_start_refusals_and_nothing_to_do(tmp_path: Path) -> None:
    unknown = run_in_process("warmstart", "--grid_search_id", "no-such-run", "--log_dir", str(tmp_path))
    assert unknown.returncode == 2 and "unknown grid search id 'no-such-run'" in unknown.stderr
    config = tmp_path / "gs.yml"
    config.write_text(CONFIG.read_text())
    gs_id = train_in_process(tmp_path, 1, config=config).parent.name
    size = the_log(tmp_path).stat().st_size
    again = run_in_process("warmstart", "--grid_search_id", gs_id, "--log_dir", str(tmp_path))
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert the_log(tmp_path).stat().st_size == size
    config.write_text(CONFIG.read_text() + "\n# edited\n")
    changed = run_in_process("warmstart", "--grid_search_id", gs_id, "--log_dir", str(tmp_path), "--num_epochs", "2")
    assert changed.returncode == 2 and "has changed since" in changed.stderr and "--force" in changed.stderr
    forced = run_in_process("warmstart", "--grid_search_id", gs_id, "--log_dir", str(tmp_path), "--num_epochs", "2",
                     "--force", "--environment", "main_process")
    assert forced.returncode == 0, forced.stderr
    assert {k[1] for k in final_scores(the_log(tmp_path))} == {1, 2}


def test_nested_cv_killed_mid_run_resumes_bit_identical(tmp_path: Path) -> None:
    validation = tmp_path / "validation.yml"
    validation.write_text("NestedCV:\n  num_outer_loop_folds: 2\n  num_inner_loop_folds: 2\n"
                          "  selection: {split: val, metric: accuracy, mode: max}\n")
    args = ["--gs_config_path", str(CONFIG), "--validation_config_path", str(validation), "--num_epochs", "4",
            "--process_count", "2"]
    ref = run_cli("train", *args, "--log_dir", str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr
    reference = final_scores(the_log(tmp_path / "ref"))
    assert len({k[0] for k in reference}) == 2 * (2 * 2 + 1)
    process = start_in_background("train", *args, "--log_dir", str(tmp_path / "run"))
    assert kill_when(process, tmp_path / "run", len(reference) // 2), "the run finished before it could be killed"
    log = the_log(tmp_path / "run")
    result = run_cli("warmstart", "--grid_search_id", log.parent.name, "--log_dir", str(tmp_path / "run"),
                     "--process_count", "2")
    assert result.returncode == 0, result.stderr
    assert "reusing" in result.stdout
    assert final_scores(log) == reference
