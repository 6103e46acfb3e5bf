"""A real MLboard process on a free loopback port, and schema-true sample runs written with the real EventLog."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from mlgym.events.event_log import EventLog


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class BoardProcess:
    """`python -m ml_board.cli` started as a subprocess; `kill()` is a real SIGKILL."""

    def __init__(self, storage: Path, *args: str, port: int | None = None, env: dict[str, str] | None = None):
        self.storage = storage
        self.args = args
        self.port = port or free_port()
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.log = storage.parent / f"board-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "BoardProcess":
        command = [sys.executable, "-m", "ml_board.cli", "--host", "127.0.0.1", "--port", str(self.port),
                   "--event_storage_path", str(self.storage), *self.args]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, **(self.env or {})})
        wait_until(self._ready, timeout, what=f"the board on port {self.port} (log: {self.log})")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"board exited with {self.proc.returncode}: {self.log.read_text()}")
        try:
            # 401: up, and started with a read token
            return requests.get(f"{self.url}/api/grid_searches", timeout=2).status_code in (200, 401)
        except requests.ConnectionError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> "BoardProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_sample_run(log_dir: Path, grid_search_id: str, num_experiments: int = 2, num_epochs: int = 3,
                     batches_per_epoch: int = 2, finish: bool = True) -> EventLog:
    """A small grid search's events, as the gym writes them."""
    log = EventLog(log_dir, grid_search_id)
    ids = [f"gp{k:08d}" for k in range(num_experiments)]
    log.append("grid_search_started", {
        "strategy": "grid_search", "num_experiments": num_experiments,
        "gs_config": {"optimizer": {"config": {"lr": {"sweep": "absolute", "values": [0.1, 0.01]}}}},
        "gs_config_path": "/abs/gs_config.yml", "gs_config_sha256": "0" * 64, "run_config": {"num_epochs": 3},
        "validation_config": None, "sweep_paths": ["optimizer.config.lr"],
        "environment": {"mlgym_version": "0.1.0", "hostname": "test", "python_version": "3.11"}, "seed": 0,
        "num_epochs": num_epochs, "selection": {"split": "val", "metric": "accuracy", "mode": "max"},
        "score_directions": {"accuracy": "max", "cross_entropy": "min"}})
    for k, eid in enumerate(ids):
        lr = 0.1 / 10 ** k
        log.append("experiment_config", {"config": {"optimizer": {"config": {"lr": lr}}}, "grid_point_id": eid,
                                         "hyperparameters": {"optimizer.config.lr": lr}, "num_epochs": num_epochs,
                                         "seed": 0, "role": "train", "fold": None,
                                         "score_directions": {"accuracy": "max", "cross_entropy": "min"}}, eid)
        log.append("job_scheduled", {"job_id": eid, "depends_on": [], "attempt": 0}, eid)
    for k, eid in enumerate(ids):
        log.append("job_status", {"status": "running", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0}, eid)
        for epoch in range(1, num_epochs + 1):
            log.append("experiment_status", {"status": "training", "epoch": epoch, "num_epochs": num_epochs}, eid)
            for step in range(1, batches_per_epoch + 1):
                log.append("training_progress", _step(epoch, step, batches_per_epoch), eid)
            accuracy = 0.5 + 0.1 * epoch + 0.01 * k
            log.append("evaluation_result", {
                "epoch": epoch, "split": "val",
                "metric_scores": [{"metric": "accuracy", "split": "val", "score": accuracy}],
                "loss_scores": [{"loss": "cross_entropy", "split": "val", "score": 1.0 / epoch}]}, eid)
            log.append("checkpoint", {"action": "saved", "epoch": epoch,
                                      "path": f"checkpoints/{eid}/epoch_{epoch}.pt", "sha256": "a" * 64,
                                      "bytes": 10, "reason": "last"}, eid)
        log.append("experiment_status", {"status": "done", "epoch": num_epochs, "num_epochs": num_epochs}, eid)
        log.append("job_status", {"status": "done", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0,
                                  "duration_s": 0.1}, eid)
    if finish:
        log.append("grid_search_finished", {"status": "done", "num_done": num_experiments, "num_failed": 0,
                                            "duration_s": 1.0})
    return log


def _step(epoch: int, step: int, num_steps: int) -> dict[str, Any]:
    return {"epoch": epoch, "step": step, "num_steps": num_steps, "global_step": (epoch - 1) * num_steps + step,
            "loss": 1.0 / (epoch * num_steps + step), "lr": 0.01, "samples_per_s": 1000.0}


def append_filler(log: EventLog, count: int, experiment_id: str = "gp00000000") -> None:
    """`count` step-progress events (epoch 1 of a job reporting every step), to make a log long."""
    for i in range(count):
        log.append("training_progress", _step(1, i + 1, count), experiment_id)


def append_troubles(log: EventLog, experiment_id: str = "gp00000000") -> None:
    """What a bumpy experiment logs: a checkpoint deleted, a worker death, a corrupt checkpoint skipped, a resume
    from the one before it, and finally a failure with a traceback."""
    log.append("checkpoint", {"action": "deleted", "epoch": 1, "path": f"checkpoints/{experiment_id}/epoch_1.pt",
                              "reason": "last"}, experiment_id)
    log.append("job_status", {"status": "retrying", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0,
                              "error": "WorkerDied: worker 0 died with signal SIGKILL", "next_attempt": 1},
               experiment_id)
    log.append("checkpoint", {"action": "corrupt", "epoch": 3, "path": f"checkpoints/{experiment_id}/epoch_3.pt",
                              "error": "sha256 mismatch"}, experiment_id)
    log.append("checkpoint", {"action": "restored", "epoch": 2, "path": f"checkpoints/{experiment_id}/epoch_2.pt",
                              "checkpoint_seq": 12}, experiment_id)
    log.append("job_status", {"status": "failed", "device": "cpu", "worker": 0, "pid": 2, "attempt": 1,
                              "error": "ValueError: boom", "traceback": "Traceback (most recent call last): ...",
                              "duration_s": 0.5}, experiment_id)
