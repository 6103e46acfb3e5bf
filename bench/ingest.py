"""MLboard throughput on loopback: batched websocket-sink ingest vs one emit per event, REST replay, board memory.

Starts a real board process (`python -m ml_board.cli`) on a free port, writes local event logs in the gym's format,
and measures, in one run, medians over `--repeats`:
- ingest_events_per_s: WebsocketSink (batches of raw lines as binary attachments, pipelined, acknowledged) from a
  local log into the store, with the store checked byte for byte against the local log (zero loss, no duplicate);
  board_cpu_us_per_event is the board process's CPU time per event during it;
- json_batches_events_per_s: the same batches sent the previous way, as a JSON `events` array (3 in flight), also
  checked byte for byte;
- per_event_emit_events_per_s: the baseline, one Socket.IO emit per event (what mlgym did), all acks awaited;
- replay_events_per_s: GET /events?format=ndjson of the largest grid search, lines counted by the client;
- board_rss_mb: the board's resident memory after storing everything and serving summaries of all grid searches.

`--baseline werkzeug` (the default) also runs the sink ingest, per-event emits and replay against the same board
app under Werkzeug's development server (bench/werkzeug_board.py, what `ml_board` ran on before gevent), each
repetition on a fresh pair of boards in alternating order, and prints `werkzeug_*` lines and the production
server's ratios to it (`ingest_vs_werkzeug_ratio`: gevent events/s / Werkzeug events/s; > 1 is better).
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests
import socketio

from ml_board import wire
from mlgym.events.event_log import LOG_FILE_NAME
from mlgym.events.websocket_sink import WebsocketSink


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_log(log_dir: Path, grid_search_id: str, num_events: int, num_experiments: int = 50) -> Path:
    """A local log like a long run's: mostly progress events, an evaluation per 20 batches."""
    path = log_dir / grid_search_id / LOG_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=True, default=str)
    t0 = 1_795_000_000.0
    with open(path, "w") as f:
        f.write(encoder.encode({"seq": 0, "event_type": "grid_search_started", "creation_ts": t0,
                                "grid_search_id": grid_search_id, "experiment_id": None,
                                "payload": {"strategy": "grid_search", "num_experiments": num_experiments,
                                            "gs_config": {}, "gs_config_path": "/bench/gs_config.yml",
                                            "gs_config_sha256": "0" * 64, "run_config": {},
                                            "validation_config": None, "sweep_paths": [], "environment": {},
                                            "seed": 0, "num_epochs": 1000,
                                            "selection": {"split": "val", "metric": "accuracy", "mode": "max"}},
                                "schema_version": 1}) + "\n")
        lines = []
        for seq in range(1, num_events):
            eid = f"gp{seq % num_experiments:08d}"
            if seq % 20:
                payload = {"status": "training", "epoch": seq // 1000 + 1, "num_epochs": 1000, "batch": seq % 1000,
                           "num_batches": 1000}
                event_type = "experiment_status"
            else:
                payload = {"epoch": seq // 1000 + 1, "split": "val",
                           "metric_scores": [{"metric": "accuracy", "split": "val", "score": (seq % 997) / 997}],
                           "loss_scores": [{"loss": "cross_entropy", "split": "val", "score": 1 / (1 + seq)}]}
                event_type = "evaluation_result"
            lines.append(encoder.encode({"seq": seq, "event_type": event_type, "creation_ts": t0 + seq * 1e-3,
                                         "grid_search_id": grid_search_id, "experiment_id": eid,
                                         "payload": payload, "schema_version": 1}))
            if len(lines) == 10_000:
                f.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            f.write("\n".join(lines) + "\n")
    return path


BOARD_COMMANDS = {
    "gevent": lambda port, storage: [sys.executable, "-m", "ml_board.cli", "--port", str(port),
                                     "--event_storage_path", str(storage)],
    "werkzeug": lambda port, storage: [sys.executable, str(Path(__file__).with_name("werkzeug_board.py")),
                                       str(port), str(storage)],
}


def start_board(storage: Path, port: int, server: str = "gevent") -> subprocess.Popen:
    proc = subprocess.Popen(BOARD_COMMANDS[server](port, storage), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/grid_searches", timeout=2).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the board did not start")


def check_stored(path: Path, storage: Path) -> None:
    if (storage / path.parent.name / LOG_FILE_NAME).read_bytes() != path.read_bytes():
        raise RuntimeError(f"the store differs from the local log {path}")


def bench_sink(path: Path, url: str, storage: Path, board: psutil.Process) -> tuple[float, float]:
    """(events/s, board CPU seconds per event) of WebsocketSink shipping the whole log."""
    cpu = sum(board.cpu_times()[:2])
    started = time.perf_counter()
    sink = WebsocketSink(path, url, batch_size=5000).start()
    if not sink.stop(timeout=600):
        raise RuntimeError("the sink did not get every event acknowledged")
    elapsed = time.perf_counter() - started
    cpu = sum(board.cpu_times()[:2]) - cpu
    check_stored(path, storage)
    count = path.read_bytes().count(b"\n")
    return count / elapsed, cpu / count


class _RawCodec:
    """JSON for the Socket.IO client that splices pre-encoded arrays (`wire.RawJSONArray`) into the message."""

    dumps = staticmethod(wire.dumps)
    loads = staticmethod(json.loads)


def bench_json_batches(path: Path, url: str, storage: Path, batch_size: int = 5000, window: int = 3) -> float:
    """The previous protocol: each batch of lines spliced into the message as a JSON `events` array."""
    lines = path.read_bytes().splitlines(keepends=True)
    acks: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False, json=_RawCodec)
    client.connect(url, transports=["websocket"], wait_timeout=10)
    started = time.perf_counter()
    in_flight = 0
    for start in range(0, len(lines), batch_size):
        if in_flight == window:
            acks.get(timeout=600)
            in_flight -= 1
        events = wire.RawJSONArray.from_lines(b"".join(lines[start:start + batch_size]))
        client.emit("ingest", {"grid_search_id": path.parent.name, "events": events, "token": None},
                    callback=acks.put)
        in_flight += 1
    replies = [acks.get(timeout=600) for _ in range(in_flight)]
    elapsed = time.perf_counter() - started
    threading.Thread(target=client.disconnect, daemon=True).start()
    if max(r["acked_seq"] for r in replies) != len(lines) - 1:
        raise RuntimeError(f"JSON-array batches were not all acknowledged: {replies}")
    check_stored(path, storage)
    return len(lines) / elapsed


def bench_per_event(path: Path, url: str) -> float:
    events = [json.loads(line) for line in path.read_bytes().splitlines()]
    acks: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.connect(url, transports=["websocket"], wait_timeout=10)
    grid_search_id = path.parent.name
    started = time.perf_counter()
    for event in events:
        client.emit("ingest", {"grid_search_id": grid_search_id, "events": [event], "token": None},
                    callback=acks.put)
    last = None
    for _ in events:
        last = acks.get(timeout=600)
    elapsed = time.perf_counter() - started
    client.disconnect()
    if last != {"acked_seq": len(events) - 1}:
        raise RuntimeError(f"per-event ingest lost events: {last}")
    return len(events) / elapsed


def bench_replay(url: str, grid_search_id: str, expected: int) -> float:
    started = time.perf_counter()
    count = 0
    with requests.get(f"{url}/api/grid_searches/{grid_search_id}/events?format=ndjson", stream=True,
                      timeout=600) as response:
        for chunk in response.iter_content(chunk_size=1 << 20):
            count += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    if count != expected:
        raise RuntimeError(f"replay returned {count} events, expected {expected}")
    return count / elapsed


def measure_pair(server: str, local: Path, work: Path, rep: int, events: int, per_event_events: int
                 ) -> dict[str, float]:
    """One repetition on a fresh board under `server`: sink ingest, per-event emits, replay, RSS."""
    storage, port = work / f"store-{server}-{rep}", free_port()
    url = f"http://127.0.0.1:{port}"
    board = start_board(storage, port, server)
    try:
        rate, cpu = bench_sink(write_log(local, f"{server}-batched-{rep}", events), url, storage,
                               psutil.Process(board.pid))
        per_event = bench_per_event(write_log(local, f"{server}-per-event-{rep}", per_event_events), url)
        replay = bench_replay(url, f"{server}-batched-{rep}", events)
        rss_mb = psutil.Process(board.pid).memory_info().rss / 2 ** 20
    finally:
        os.kill(board.pid, signal.SIGTERM)
        try:
            board.wait(10)
        except subprocess.TimeoutExpired:
            board.kill()
            board.wait()
        shutil.rmtree(storage, ignore_errors=True)
    return {"ingest": rate, "cpu": cpu, "per_event": per_event, "replay": replay, "rss_mb": rss_mb}


def measure_baseline(args: argparse.Namespace, local: Path, work: Path) -> dict[str, dict[str, list[float]]]:
    """Fresh gevent and baseline boards per repetition, in alternating order (so neither always runs second)."""
    results: dict[str, dict[str, list[float]]] = {}
    for rep in range(args.repeats):
        order = ["gevent", args.baseline] if rep % 2 == 0 else [args.baseline, "gevent"]
        for server in order:
            found = measure_pair(server, local, work, rep, args.events, args.per_event_events)
            for key, value in found.items():
                results.setdefault(server, {}).setdefault(key, []).append(value)
            print(f"# side by side {rep} {server}: ingest {found['ingest']:.0f}/s (board CPU "
                  f"{found['cpu'] * 1e6:.2f} us/event), per-event {found['per_event']:.0f}/s, replay "
                  f"{found['replay']:.0f}/s, RSS {found['rss_mb']:.1f} MB; load {os.getloadavg()[0]:.2f}", flush=True)
    return results


def report_baseline(name: str, results: dict[str, dict[str, list[float]]], *_: object) -> None:
    median = {server: {key: statistics.median(values) for key, values in found.items()}
              for server, found in results.items()}
    base, prod = median[name], median["gevent"]
    print(f"{name}_ingest_events_per_s: {base['ingest']:.0f}")
    print(f"{name}_board_cpu_us_per_event: {base['cpu'] * 1e6:.2f}")
    print(f"{name}_per_event_emit_events_per_s: {base['per_event']:.0f}")
    print(f"{name}_replay_events_per_s: {base['replay']:.0f}")
    print(f"{name}_board_rss_mb: {base['rss_mb']:.1f}")
    print(f"side_by_side_gevent_ingest_events_per_s: {prod['ingest']:.0f}")
    print(f"ingest_vs_{name}_ratio: {prod['ingest'] / base['ingest']:.2f}")
    print(f"board_cpu_vs_{name}_ratio: {prod['cpu'] / base['cpu']:.2f}")
    print(f"per_event_vs_{name}_ratio: {prod['per_event'] / base['per_event']:.2f}")
    print(f"replay_vs_{name}_ratio: {prod['replay'] / base['replay']:.2f}")
    print(f"rss_vs_{name}_ratio: {prod['rss_mb'] / base['rss_mb']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events per batched-ingest repetition")
    parser.add_argument("--json_batch_events", type=int, default=300_000,
                        help="events per repetition of the JSON-array batches (0: skip them)")
    parser.add_argument("--per_event_events", type=int, default=20_000, help="events per baseline repetition")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", choices=["werkzeug", "none"], default="werkzeug",
                        help="also measure the board under this server, side by side (none: skip)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlboard-bench-"))
    storage, local = work / "store", work / "local"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    board = start_board(storage, port)
    print(f"# load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    try:
        process = psutil.Process(board.pid)
        ingest, board_cpu, json_batches, per_event, replay = [], [], [], [], []
        for rep in range(args.repeats):
            rate, cpu = bench_sink(write_log(local, f"batched-{rep}", args.events), url, storage, process)
            ingest.append(rate)
            board_cpu.append(cpu)
            if args.json_batch_events:
                json_batches.append(bench_json_batches(write_log(local, f"json-batches-{rep}", args.json_batch_events),
                                                       url, storage))
            per_event.append(bench_per_event(write_log(local, f"per-event-{rep}", args.per_event_events), url))
            print(f"# repetition {rep}: ingest {ingest[-1]:.0f}/s (board CPU {cpu * 1e6:.2f} us/event), "
                  f"JSON-array batches {json_batches[-1] if json_batches else float('nan'):.0f}/s, "
                  f"per-event {per_event[-1]:.0f}/s; load average {os.getloadavg()[0]:.2f}", flush=True)
        for rep in range(args.repeats):
            replay.append(bench_replay(url, "batched-0", args.events))
        baseline = measure_baseline(args, local, work) if args.baseline != "none" else None
        summaries = requests.get(f"{url}/api/grid_searches", timeout=600).json()
        requests.get(f"{url}/api/grid_searches/batched-0/experiments", timeout=600).raise_for_status()
        stored = sum(s["last_seq"] + 1 for s in summaries)
        rss_mb = psutil.Process(board.pid).memory_info().rss / 2 ** 20
        print(f"# stored events: {stored} in {len(summaries)} grid searches")
        print(f"ingest_events_per_s: {statistics.median(ingest):.0f}")
        print(f"board_cpu_us_per_event: {statistics.median(board_cpu) * 1e6:.2f}")
        if json_batches:
            print(f"json_batches_events_per_s: {statistics.median(json_batches):.0f}")
        print(f"per_event_emit_events_per_s: {statistics.median(per_event):.0f}")
        print(f"replay_events_per_s: {statistics.median(replay):.0f}")
        print(f"board_rss_mb: {rss_mb:.1f}")
        print(f"ingest_speedup_vs_per_event: {statistics.median(ingest) / statistics.median(per_event):.1f}")
        if baseline:
            report_baseline(args.baseline, baseline, ingest, board_cpu, per_event, replay)
    finally:
        os.kill(board.pid, signal.SIGTERM)
        board.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
