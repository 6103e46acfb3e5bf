#!/usr/bin/env python3
"""Container healthchecks and waits for docker-compose.yml (stdlib only, so a check costs no heavy import).

    healthcheck.py board [URL]          GET URL (default http://127.0.0.1:5001/api/grid_searches) answers 200
    healthcheck.py ray-head [PORT]      the GCS server runs and accepts connections on PORT (default 6379)
    healthcheck.py ray-worker           a raylet runs in this container
    healthcheck.py wait-board URL [S]   wait up to S seconds (default 300) for the board at URL
    healthcheck.py ray-node-id          print the Ray node id of the raylet in this container
    healthcheck.py wait-ray-cpus ADDRESS [S [N]]
                                        wait up to S seconds (default 300) until the live nodes of the Ray
                                        cluster at ADDRESS have N CPUs in all (default 1): a gym started with
                                        the stack must not plan on a cluster whose workers have not all joined
                                        (it would start its actors on the first worker only); imports ray
"""
from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request


def board_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return answer.status == 200
    except OSError:
        return False


def command_lines() -> list[list[str]]:
    """The argv of every process in this container (read from /proc: slim images have no pgrep)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                found.append(f.read().decode(errors="replace").split("\0"))
        except OSError:
            continue
    return found


def process_running(name: str) -> bool:
    return any(os.path.basename(argv[0]) == name for argv in command_lines())


def raylet_node_id() -> str | None:
    for argv in command_lines():
        for arg in argv:
            if arg.startswith("--node_id="):
                return arg.split("=", 1)[1]
    return None


def wait_ray_cpus(address: str, seconds: float, min_cpus: float = 1) -> bool:
    import ray  # only this command needs it

    ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    deadline = time.monotonic() + seconds
    try:
        while sum(node["Resources"].get("CPU", 0) for node in ray.nodes() if node["Alive"]) < min_cpus:
            if time.monotonic() > deadline:
                print(f"healthcheck: the Ray cluster at {address} did not reach {min_cpus:g} CPUs within "
                      f"{seconds:g} s", file=sys.stderr)
                return False
            time.sleep(1)
        return True
    finally:
        ray.shutdown()


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    what = argv[0] if argv else ""
    if what == "board":
        return 0 if board_ok(argv[1] if len(argv) > 1 else "http://127.0.0.1:5001/api/grid_searches") else 1
    if what == "ray-head":
        return 0 if process_running("gcs_server") and port_open(int(argv[1]) if len(argv) > 1 else 6379) else 1
    if what == "ray-worker":
        return 0 if process_running("raylet") else 1
    if what == "wait-board" and len(argv) >= 2:
        url = argv[1].rstrip("/") + "/api/grid_searches"
        deadline = time.monotonic() + (float(argv[2]) if len(argv) > 2 else 300)
        while not board_ok(url):
            if time.monotonic() > deadline:
                print(f"healthcheck: no answer from {url}", file=sys.stderr)
                return 1
            time.sleep(1)
        return 0
    if what == "ray-node-id":
        node_id = raylet_node_id()
        if node_id is None:
            print("healthcheck: no raylet runs in this container", file=sys.stderr)
            return 1
        print(node_id)
        return 0
    if what == "wait-ray-cpus" and len(argv) >= 2:
        seconds = float(argv[2]) if len(argv) > 2 else 300
        return 0 if wait_ray_cpus(argv[1], seconds, float(argv[3]) if len(argv) > 3 else 1) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
