"""Helpers of the dashboard tests: synthetic but schema-true grid searches, a real board process, a real browser."""
from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from mlgym.events import EventLog
from mlgym.events.schema import Envelope

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

Event = tuple[str, dict[str, Any], str | None]  # (event_type, payload, experiment_id)


def score(gp: int, epoch: int, split: str, name: str) -> float:
    """A deterministic, smooth, distinct score for grid point `gp` at `epoch`."""
    base = 1 - math.exp(-(epoch + gp % 5) / (4 + gp % 7))
    shift = {"train": 0.02, "val": 0.0, "test": -0.01}.get(split, 0.0)
    if name.endswith("loss") or name in ("cross_entropy", "mse"):
        return round(1.5 * (1 - base) + 0.05 + shift, 6)
    return round(min(1.0, 0.3 + 0.65 * base + shift + 0.01 * (sum(map(ord, name)) % 3)), 6)


def grid_search_events(*, lrs=(0.01, 0.1), batch_sizes=(16, 32), num_epochs: int = 3,
                       splits=("train", "val"), metrics=("accuracy", "f1"), losses=("cross_entropy",),
                       strategy: str = "grid_search", folds: int = 0, fail: frozenset[int] = frozenset(),
                       finish: bool = True) -> Iterator[Event]:
    """The events of a grid search in the order the gym writes them (experiments run one after another)."""
    grid = list(itertools.product(lrs, batch_sizes))
    jobs = []
    for gp, (lr, bs) in enumerate(grid):
        gp_id = f"{gp:02d}gp{abs(hash((lr, bs))) % 10**6:06d}"[:10]
        for k in range(folds) if folds else [None]:
            jobs.append((gp, gp_id, lr, bs, k))
    yield ("grid_search_started", {
        "strategy": strategy, "num_experiments": len(jobs),
        "gs_config": {"optimizer": {"config": {"lr": {"sweep": "absolute", "values": list(lrs)}}},
                      "data_loaders": {"config": {"batch_size": {"sweep": "absolute", "values": list(batch_sizes)}}}},
        "gs_config_path": "/tmp/gs_config.yml", "gs_config_sha256": "0" * 64, "run_config": {"num_epochs": num_epochs},
        "validation_config": {"k": folds} if folds else None,
        "sweep_paths": ["optimizer.config.lr", "data_loaders.config.batch_size"],
        "environment": {"mlgym_version": "0.1.0", "git_commit": "abc123def456", "git_dirty": False, "hostname": "test",
                        "python_version": "3.11", "torch_version": None, "platform": "Linux", "argv": ["mlgym"]},
        "seed": 0, "num_epochs": num_epochs, "selection": {"split": "val", "metric": "accuracy", "mode": "max"},
        "score_directions": {"accuracy": "max", "cross_entropy": "min"}}, None)
    for _, gp_id, _, _, k in jobs:
        exp = gp_id if k is None else f"{gp_id}.f{k}"
        yield ("job_scheduled", {"job_id": exp, "depends_on": [], "attempt": 0}, exp)
    done = failed = 0
    for n, (gp, gp_id, lr, bs, k) in enumerate(jobs):
        exp = gp_id if k is None else f"{gp_id}.f{k}"
        hp = {"optimizer.config.lr": lr, "data_loaders.config.batch_size": bs}
        yield ("experiment_config", {"config": {"optimizer": {"config": {"lr": lr}}, "data_loaders": {"config": {"batch_size": bs}}},
                                     "grid_point_id": gp_id, "hyperparameters": hp, "num_epochs": num_epochs, "seed": 0,
                                     "role": "train" if k is None else "cv_fold",
                                     "fold": None if k is None else {"k": k}}, exp)
        yield ("job_status", {"status": "running", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0}, exp)
        for epoch in range(1, num_epochs + 1):
            yield ("experiment_status", {"status": "training", "epoch": epoch, "num_epochs": num_epochs}, exp)
            if n in fail and epoch == 2:
                break
            for split in splits:
                s = split if k is None else split
                yield ("evaluation_result", {
                    "epoch": epoch, "split": s,
                    "metric_scores": [{"metric": m, "split": s, "score": score(gp + (k or 0), epoch, s, m)} for m in metrics],
                    "loss_scores": [{"loss": loss, "split": s, "score": score(gp + (k or 0), epoch, s, loss)} for loss in losses]}, exp)
        if n in fail:
            failed += 1
            yield ("job_status", {"status": "failed", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0,
                                  "error": "RuntimeError: loss is NaN", "duration_s": 0.5,
                                  "traceback": 'Traceback (most recent call last):\n  File "gym.py", line 1\nRuntimeError: loss is NaN'}, exp)
            continue
        yield ("checkpoint", {"action": "saved", "epoch": num_epochs, "path": f"checkpoints/{exp}/epoch_{num_epochs}.pt",
                              "sha256": "ab" * 32, "bytes": 2048, "reason": "last"}, exp)
        yield ("experiment_status", {"status": "done", "epoch": num_epochs, "num_epochs": num_epochs}, exp)
        yield ("job_status", {"status": "done", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0, "duration_s": 1.0}, exp)
        done += 1
    if finish:
        yield ("grid_search_finished", {"status": "failed" if failed else "done", "num_done": done,
                                        "num_failed": failed, "duration_s": 12.5}, None)


def with_labels(events: Iterator[Event], labels: dict[str, Any] | None) -> Iterator[Event]:
    """`events` with `labels` (if any) in grid_search_started's run_config, as a run config's `labels:` puts them."""
    for event_type, payload, exp in events:
        if event_type == "grid_search_started" and labels is not None:
            payload = {**payload, "run_config": {**payload["run_config"], "labels": labels}}
        yield event_type, payload, exp


def write_store(store: Path, grid_search_id: str, events: Iterator[Event], start_ts: float | None = None) -> int:
    """Write events into `store/<grid_search_id>/event_storage.log` as the gym does; returns how many."""
    ts = time.time() - 3600 if start_ts is None else start_ts
    n = 0
    with EventLog(store, grid_search_id) as log:
        for n, (event_type, payload, exp) in enumerate(events, 1):
            log.append(event_type, payload, experiment_id=exp, creation_ts=ts + n * 0.01)
    return n


def envelopes(grid_search_id: str, events: Iterator[Event], first_seq: int = 0) -> list[dict[str, Any]]:
    """Events as stored envelopes with gapless seqs, ready to send to the board's `ingest`."""
    now = time.time()
    return [Envelope(seq=first_seq + i, event_type=t, creation_ts=now, grid_search_id=grid_search_id,
                     experiment_id=exp, payload=p).to_dict() for i, (t, p, exp) in enumerate(events)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_board(store: Path, port: int | None = None) -> Iterator[str]:
    """Start the real `ml_board` process on a free loopback port; yield its URL; stop it."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "import sys; from ml_board.cli import main; sys.exit(main())",
               "--host", "127.0.0.1", "--port", str(port), "--event_storage_path", str(store)]
    env = {k: v for k, v in os.environ.items() if k != "MLBOARD_INGEST_TOKEN"}
    log = open(store.parent / f"board-{port}.log", "wb")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ml_board exited with {proc.returncode}: "
                                   f"{(store.parent / f'board-{port}.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/api/grid_searches", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("ml_board did not answer within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class Ingestor:
    """A real Socket.IO client that sends envelopes to the board's `ingest` and waits for the acknowledgement."""

    def __init__(self, url: str) -> None:
        import socketio
        self.client = socketio.Client(reconnection=False)
        self.client.connect(url, transports=["websocket"], wait_timeout=10)

    def send(self, grid_search_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        ack = self.client.call("ingest", {"grid_search_id": grid_search_id, "events": events, "token": None}, timeout=30)
        if not isinstance(ack, dict) or "acked_seq" not in ack:
            raise RuntimeError(f"ingest refused: {ack!r}")
        return ack

    def close(self) -> None:
        self.client.disconnect()


@contextlib.contextmanager
def chromium_page(width: int = 1440, height: int = 1000):
    """A page of a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.errors = errors
            yield page
        finally:
            browser.close()


# Ten filter keystrokes in a run page's table (alternating between two queries), each timed around its input
# handler (filter, sort, the table's window, the charts' hidden lines): milliseconds.
FILTER_KEYSTROKES_JS = """() => {
    const input = document.querySelector('#filter'), out = [];
    input.value = ''; input.dispatchEvent(new Event('input'));
    for (let i = 0; i < 10; i++) {
        input.value = i % 2 ? 'e0' : 'e01';
        const t0 = performance.now();
        input.dispatchEvent(new Event('input'));
        out.push(performance.now() - t0);
    }
    return out;
}"""


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def logged_keys(store: Path, grid_search_id: str) -> set[str]:
    """Every "split/name" key with a score in the log on disk."""
    keys = set()
    with open(store / grid_search_id / "event_storage.log") as f:
        for line in f:
            ev = json.loads(line)
            if ev["event_type"] == "evaluation_result":
                for s in ev["payload"].get("metric_scores", []) + ev["payload"].get("loss_scores", []):
                    keys.add(f"{s['split']}/{s.get('metric', s.get('loss'))}")
    return keys


def logged_points(store: Path, grid_search_id: str, key: str) -> dict[str, list[list[float]]]:
    """From the log on disk: {experiment id: [[epoch, score], ...]} of `key` ("split/name")."""
    split, name = key.split("/", 1)
    out: dict[str, list[list[float]]] = {}
    with open(store / grid_search_id / "event_storage.log") as f:
        for line in f:
            ev = json.loads(line)
            if ev["event_type"] != "evaluation_result":
                continue
            p = ev["payload"]
            for s in p.get("metric_scores", []) + p.get("loss_scores", []):
                if s["split"] == split and s.get("metric", s.get("loss")) == name:
                    out.setdefault(ev["experiment_id"], []).append([p["epoch"], s["score"]])
    return {k: sorted(v) for k, v in out.items()}
