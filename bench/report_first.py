"""The first `mlgym report` of a 418,002-event log (no snapshot beside it: the whole log is replayed) and the next
one (from the snapshot the first left), for two checkouts side by side: each repetition runs before's first and
next report, then after's, so both see the same machine load. Wall time, CPU time (user + system, `os.wait4`)
and peak RSS of each report process; medians over the repetitions.

    .venv/bin/python bench/report_first.py --before /path/to/old/src --after src [--reps 3]

The log is bench/plan_scale.py's: 2,000 experiments x 103 evaluation results (bench/board_scale.py's writer).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_scale import EXPERIMENTS, SPLITS, write_grid_search  # noqa: E402

GS = "2026-01-01--00-00-00-r412"


def timed(command: list[str], pythonpath: str) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one report process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": pythonpath},
                             cwd=tempfile.gettempdir())
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed with PYTHONPATH={pythonpath}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="PYTHONPATH of the checkout to compare against")
    parser.add_argument("--after", default=str(ROOT / "src"))
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"
        epochs = 412_000 // EXPERIMENTS // 2 // len(SPLITS)
        total = write_grid_search(logs / GS, GS, epochs, 1_700_000_000.0, experiments=2 * EXPERIMENTS)
        command = [sys.executable, "-m", "mlgym.cli.main", "report", "--log_dir", str(logs), "--grid_search_id", GS]
        runs: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        for _ in range(args.reps):
            for name, path in (("before", args.before), ("after", args.after)):
                (logs / GS / "projection.snapshot").unlink(missing_ok=True)
                runs.setdefault((name, "first"), []).append(timed(command, path))
                runs.setdefault((name, "next"), []).append(timed(command, path))
    print(f"report_events: {total}  (load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())})")
    for (name, which), rows in runs.items():
        walls = ", ".join(f"{r[0]:.2f}" for r in rows)
        print(f"{name}_report_412k_{which}_s: {statistics.median(r[0] for r in rows):.2f}  (runs: {walls}; cpu "
              f"{statistics.median(r[1] for r in rows):.2f} s; rss {max(r[2] for r in rows):.0f} MB)")


if __name__ == "__main__":
    main()
