"""Check what the compose stack did, from the outside (stdlib only; called by deploy/compose_test.sh).

    compose_check.py BOARD_URL LOCAL_LOG_DIR EXPECTED_EXPERIMENTS MODE [WORKER_ID ...]

- the board lists exactly one grid search, done, with EXPECTED_EXPERIMENTS experiments;
- GET /api/grid_searches/<id>/experiments shows every experiment done;
- the board stored every event of the gym's local log (LOCAL_LOG_DIR/<id>/event_storage.log), byte for byte;
- MODE ray: every `job_status` event of a started job names the `node` it ran on, and that node is one of the
  Ray workers (WORKER_ID: their Ray node ids, hostnames and IP addresses), and no worker ran jobs of more actors
  than it has CPUs (RAY_WORKER_CPUS): one actor per CPU. A worker that ran no job is noted (its actor can start
  after the others finished every small job). Other modes: a `node` field, if any, is reported.
Prints what it found; exit status 1 with the reason on the first failed check.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read()


def fail(message: str) -> None:
    print(f"compose check FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def main(board: str, log_dir: str, expected: int, mode: str, workers: list[str]) -> None:
    grid_searches = json.loads(get(f"{board}/api/grid_searches"))
    if len(grid_searches) != 1:
        fail(f"the board lists {len(grid_searches)} grid searches, expected 1: {grid_searches}")
    summary = grid_searches[0]
    gs = summary["grid_search_id"]
    print(f"board: grid search {gs}: status {summary['status']}, {summary['num_done']}/"
          f"{summary['num_experiments']} done, last_seq {summary['last_seq']}")
    if summary["status"] != "done" or summary["num_experiments"] != expected:
        fail(f"expected a done grid search of {expected} experiments, got {summary}")

    experiments = json.loads(get(f"{board}/api/grid_searches/{gs}/experiments"))
    statuses = {e["experiment_id"]: e["status"] for e in experiments}
    print(f"board: GET /api/grid_searches/{gs}/experiments: {statuses}")
    if len(experiments) != expected or set(statuses.values()) != {"done"}:
        fail(f"expected {expected} experiments, all done")

    stored = get(f"{board}/api/grid_searches/{gs}/events?from_seq=0&format=ndjson")
    local = (Path(log_dir) / gs / "event_storage.log").read_bytes()
    newline = b"\n"
    print(f"events: {stored.count(newline)} on the board, {local.count(newline)} in the gym's local log")
    if stored != local:
        fail("the board's events differ from the gym's local log")

    events = [json.loads(line) for line in stored.splitlines()]
    started = [e for e in events if e["event_type"] == "job_status" and e["payload"].get("status") == "running"]
    nodes = [e["payload"].get("node") for e in started]
    if mode == "ray":
        if not started or any(node is None for node in nodes):
            fail(f"{len(started)} job_status running events, some without `node`: cannot tell where jobs ran")
        elsewhere = sorted({n for n in nodes if n not in workers})
        if elsewhere:
            fail(f"jobs ran on {elsewhere}, which are not Ray workers ({workers})")
        print(f"ray: all {len(started)} jobs ran on Ray workers: {sorted(set(nodes))}")
        worker_count = int(os.environ.get("RAY_WORKERS", "1"))
        cpus = float(os.environ.get("RAY_WORKER_CPUS", "1"))
        slots_per_node: dict[str, set] = {}
        for e in started:
            slots_per_node.setdefault(e["payload"]["node"], set()).add(e["payload"].get("worker"))
        crowded = {n: sorted(s) for n, s in slots_per_node.items() if len(s) > cpus}
        if crowded:
            fail(f"more actors than CPUs ran jobs on one Ray worker ({crowded}; {cpus:g} CPUs each)")
        if len(started) >= worker_count and len(set(nodes)) < worker_count:
            # every worker gets an actor; one whose actor started after the others had run every job (a worker
            # keeps its imports and data between jobs, so small jobs go fast) ran none: noted, not a failure
            print(f"ray: note: {len(started)} jobs ran on {len(set(nodes))} of the {worker_count} Ray workers (the "
                  "others' actors were not ready before the jobs were done)")
    else:
        known = sorted({n for n in nodes if n is not None})
        print(f"{mode}: {len(started)} jobs ran in the gym container" + (f" (nodes {known})" if known else ""))


if __name__ == "__main__":
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:])
