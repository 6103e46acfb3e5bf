#!/usr/bin/env python3
"""Container healthchecks and waits for docker-compose.yml (stdlib only, so a check costs no heavy import).

    healthcheck.py board [URL]          GET URL (default http://127.0.0.1:5001/api/grid_searches) answers 200
    healthcheck.py ray-head [PORT]      the GCS server runs and accepts connections on PORT (default 6379)
    healthcheck.py ray-worker           a raylet runs in this container
    healthcheck.py wait-board URL [S]   wait up to S seconds (default 300) for the board at URL
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


def process_running(name: str) -> bool:
    """Whether a process whose executable is `name` runs (read from /proc: slim images have no pgrep)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        if os.path.basename(argv0) == name:
            return True
    return False


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
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
