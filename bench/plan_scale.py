"""Planning and reporting at scale: `mlgym validate` of 10,000- and 100,000-point grids and `mlgym report` of a
412,000-event log.

validate: the iris MLP of tests/configs/iris_mlp.yml with four swept values of 10 each (10,000 points), checked by
          `mlgym validate` in a fresh process, side by side with `mlgym validate` of the same config without sweeps
          (one point: start-up, imports and loading, which every command pays); the difference is the planning.
          The same grid with a fifth sweep of 10 (the loaders' seed: 100,000 points, the largest grid allowed);
          each run's peak RSS is that of the command's process alone (`os.wait4`).
report:   `mlgym report` of one finished grid search of 2,000 experiments x 103 evaluation results (418,002 events,
          written like bench/board_scale.py's), wall time and peak RSS of the process: the first report replays the
          log (and leaves a snapshot of the read model beside it), the next ones start from that snapshot.

    .venv/bin/python bench/plan_scale.py [--reps 3]

    .venv/bin/python bench/plan_scale.py --reps 5 --validate_only

Prints `validate_10k_s:` (median; issue 16's target < 3), `validate_100k_s:` (target < 20) with the peak RSS of
each (`validate_10k_rss_mb`, `validate_100k_rss_mb`, `validate_1_point_rss_mb`: memory must not grow ~10x from 10k
to 100k), `validate_1_point_s:`, `planning_10k_s:`, `train_plan_10k_s:` (the plan `train` builds, in process),
`report_412k_first_s:` (median of `--reps` first reports, each with the snapshot removed; target < 3),
`report_412k_s:` (from the snapshot; target < 3) and `report_412k_rss_mb:` (target < 300).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_scale import EXPERIMENTS, SPLITS, write_grid_search  # noqa: E402

MLGYM = [sys.executable, "-m", "mlgym.cli.main"]
SWEEPS = {
    "    batch_size: 16\n": "    batch_size: {sweep: absolute, values: [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]}\n",
    "    hidden_dims: [16]\n": "    hidden_dims: {sweep: absolute, values: [[8], [16], [24], [32], [40], [48], [56], "
                              "[64], [72], [80]]}\n",
    "    dropout: 0.1\n": "    dropout: {sweep: absolute, values: [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, "
                         "0.45]}\n",
}
LR = re.compile(r"    lr: \{sweep: absolute, values: \[[^\]]*\]\}\n")


SEED_100K = ("    seed: *seed\n    standardize",
             "    seed: {sweep: absolute, values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}\n    standardize")


def grid_config(folder: Path, points: int = 10_000) -> Path:
    """The iris MLP with 4 sweeps of 10 values (10,000 points), or 5 (`points=100_000`)."""
    text = (ROOT / "tests" / "configs" / "iris_mlp.yml").read_text()
    for old, new in SWEEPS.items():
        assert old in text, old
        text = text.replace(old, new)
    text, n = LR.subn("    lr: {sweep: absolute, values: [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, "
                      "0.1]}\n", text)
    assert n == 1
    if points == 100_000:
        assert SEED_100K[0] in text
        text = text.replace(*SEED_100K)
    path = folder / f"gs_{points // 1000}k.yml"
    path.write_text(text)
    return path


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of that child process alone (os.wait4), and its stdout."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stdout}\n{stderr}")
    return elapsed, usage.ru_maxrss / 1024, stdout


TRAIN_PLAN = """
import sys, time
from pathlib import Path
from mlgym.gym.builtins import load_builtins
load_builtins()
from mlgym.validation.experiment_plan import resolve_grid_search
from mlgym.validation.plan import RunSettings, build_plan
from mlgym.validation.settings import ValidationSettings
start = time.perf_counter()
plan = build_plan(resolve_grid_search(Path(sys.argv[1])), ValidationSettings(), RunSettings("gs", "/tmp/x", 1, 0))
assert len(plan.jobs) == 10_000
print(time.perf_counter() - start)
"""


def train_plan_seconds(config: Path) -> float:
    """What `train` does before it starts anything, in one process, imports excluded: resolve (expand and check
    every point, keeping them) and build the plan of 10,000 jobs."""
    out = subprocess.run([sys.executable, "-c", TRAIN_PLAN, str(config)], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    return float(out.strip())


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--validate_only", action="store_true", help="skip the report of the 412,000-event log")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = grid_config(folder)
        config_100k = grid_config(folder, 100_000)
        single = ROOT / "tests" / "configs" / "iris_mlp.yml"
        floor_cmd = [*MLGYM, "validate", "--gs_config_path", str(single), "-c", "optimizer.config.lr=0.01"]
        validate, validate_rss, big, big_rss, floor, floor_rss, report, rss = [], [], [], [], [], [], [], []
        train_plan, first, first_rss = [], [], []
        if not args.validate_only:
            epochs = 412_000 // EXPERIMENTS // 2 // len(SPLITS)  # 2,000 experiments in two halves of EXPERIMENTS
            gs = "2026-01-01--00-00-00-r412"
            logs = folder / "logs"
            total = write_grid_search(logs / gs, gs, epochs, 1_700_000_000.0, experiments=2 * EXPERIMENTS)
            report_cmd = [*MLGYM, "report", "--log_dir", str(logs), "--grid_search_id", gs]
            for _ in range(args.reps):  # the first report of the log: no snapshot beside it yet
                (logs / gs / "projection.snapshot").unlink(missing_ok=True)
                t, mb, _ = timed(report_cmd)
                first.append(t)
                first_rss.append(mb)
        for _ in range(args.reps):
            t, mb, out = timed([*MLGYM, "validate", "--gs_config_path", str(config)])
            assert "10000 experiment configs" in out, out
            validate.append(t)
            validate_rss.append(mb)
            t, mb, out = timed([*MLGYM, "validate", "--gs_config_path", str(config_100k)])
            assert "100000 experiment configs" in out, out
            big.append(t)
            big_rss.append(mb)
            t, mb, _ = timed(floor_cmd)
            floor.append(t)
            floor_rss.append(mb)
            train_plan.append(train_plan_seconds(config))
            if not args.validate_only:
                t, mb, out = timed(report_cmd)
                report.append(t)
                rss.append(mb)
    print(f"loadavg_at_end: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"validate_10k_s: {statistics.median(validate):.2f}  (runs: {_runs(validate)})")
    print(f"validate_100k_s: {statistics.median(big):.2f}  (runs: {_runs(big)})")
    print(f"validate_1_point_s: {statistics.median(floor):.2f}  (runs: {_runs(floor)})")
    print(f"planning_10k_s: {statistics.median(validate) - statistics.median(floor):.2f}")
    print(f"planning_100k_s: {statistics.median(big) - statistics.median(floor):.2f}")
    print(f"train_plan_10k_s: {statistics.median(train_plan):.2f}  (runs: {_runs(train_plan)}; in process, imports "
          "excluded)")
    print(f"validate_1_point_rss_mb: {max(floor_rss):.0f}")
    print(f"validate_10k_rss_mb: {max(validate_rss):.0f}")
    print(f"validate_100k_rss_mb: {max(big_rss):.0f}")
    if not args.validate_only:
        print(f"report_events: {total}")
        print(f"report_412k_first_s: {statistics.median(first):.2f}  (runs: {_runs(first)}; rss {max(first_rss):.0f} MB; "
              "replays the log, leaves a snapshot)")
        print(f"report_412k_s: {statistics.median(report):.2f}  (runs: {_runs(report)})")
        print(f"report_412k_rss_mb: {max(rss):.0f}")


if __name__ == "__main__":
    main()
