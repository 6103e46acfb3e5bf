"""Start-up cost of a small grid (issue 15): `mlgym train` against a plain PyTorch script doing the same work.

The grid (bench/configs/startup_digits.yml): an MLP 64-32-10 on digits, batch 8/16 x lr 0.01/0.001 = 4
experiments, Adam, 4 epochs, accuracy + macro F1 on train/val/test after every epoch. Side by side in each
repetition, each a fresh process timed from its start to its exit (imports, config, workers, results included):
- plain: bench/startup_plain.py, one file training the 4 models one after another (1 torch thread);
- pool:  `python -m mlgym.cli.main train ... --process_count 2` (the `mlgym` command);
- main:  the same with `--environment main_process`;
- pool_spawn (with --spawn): the pool run with spawned workers instead of forks of the preloaded forkserver.
The order rotates from one repetition to the next, so no side always runs on the warmer (or busier) machine.

    PYTHONPATH=src .venv/bin/python bench/startup.py [--repeats 5] [--spawn]

Prints each side's median wall time, `startup_ratio` (median pool / median plain; target <= 1.0),
`pool_vs_main_ratio` (median pool / median main; target <= 1.0), `time_to_first_epoch_s` of the pool run (start of
the command to the first `experiment_status: training` event in its log) and of the plain script (to its
`first_epoch_ts:` line), and `validate_s` (median `mlgym validate` of the grid; target <= `import_torch_s` + 0.5,
the median time of `python -c "import torch"`, measured in the same repetitions).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "bench" / "configs" / "startup_digits.yml"
PLAIN = ROOT / "bench" / "startup_plain.py"
EPOCHS = 4


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, start time.time(), stdout) of one command; it must succeed."""
    started_ts, started = time.time(), time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**_env(), **(env or {})}, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return elapsed, started_ts, done.stdout


def _first_training_ts(log_dir: Path) -> float:
    """creation_ts of the first `experiment_status: training` event of the run logged in `log_dir`."""
    (log,) = log_dir.glob("*/event_storage.log")
    for line in log.read_text().splitlines():
        event = json.loads(line)
        if event["event_type"] == "experiment_status" and event["payload"].get("status") == "training":
            return float(event["creation_ts"])
    raise RuntimeError(f"{log}: no experiment trained")


def plain() -> tuple[float, float]:
    """(wall s, s to the first epoch) of the plain script."""
    elapsed, started, out = _timed([sys.executable, str(PLAIN), "--epochs", str(EPOCHS)])
    first = next(float(line.split()[1]) for line in out.splitlines() if line.startswith("first_epoch_ts:"))
    return elapsed, first - started


def mlgym_train(*flags: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall s, s to the first epoch) of `mlgym train` on the grid with `flags`."""
    with tempfile.TemporaryDirectory() as log_dir:
        elapsed, started, _ = _timed([sys.executable, "-m", "mlgym.cli.main", "train", "--gs_config_path",
                                      str(CONFIG), "--num_epochs", str(EPOCHS), "--log_dir", log_dir, *flags], env)
        return elapsed, _first_training_ts(Path(log_dir)) - started


def validate() -> tuple[float, float]:
    return _timed([sys.executable, "-m", "mlgym.cli.main", "validate", "--gs_config_path", str(CONFIG)])[0], 0.0


def import_torch() -> tuple[float, float]:
    return _timed([sys.executable, "-c", "import torch"])[0], 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--spawn", action="store_true",
                        help="also run the pool with spawned workers (MLGYM_WORKER_START_METHOD=spawn) as pool_spawn")
    args = parser.parse_args()
    sides: dict[str, Callable[[], tuple[float, float]]] = {
        "plain": plain, "pool": lambda: mlgym_train("--process_count", "2"),
        "main": lambda: mlgym_train("--environment", "main_process"), "validate": validate,
        "import_torch": import_torch}
    if args.spawn:
        sides["pool_spawn"] = lambda: mlgym_train("--process_count", "2", env={"MLGYM_WORKER_START_METHOD": "spawn"})
    names = list(sides)
    print(f"loadavg_1min_at_start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    import_torch()  # warm the file cache once, outside the measurement
    walls: dict[str, list[float]] = {name: [] for name in names}
    firsts: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]
        for name in order:
            wall, first = sides[name]()
            walls[name].append(wall)
            firsts[name].append(first)
        print(f"# repetition {repeat}: " + ", ".join(f"{n} {walls[n][-1]:.2f} s" for n in order), flush=True)
    median = {name: statistics.median(values) for name, values in walls.items()}
    print(f"loadavg_1min_at_end: {os.getloadavg()[0]:.2f}")
    for name in names:
        print(f"{name}_s_median: {median[name]:.3f}")
    print(f"startup_ratio: {median['pool'] / median['plain']:.3f}")
    print(f"pool_vs_main_ratio: {median['pool'] / median['main']:.3f}")
    print(f"time_to_first_epoch_s: {statistics.median(firsts['pool']):.3f}")
    print(f"plain_time_to_first_epoch_s: {statistics.median(firsts['plain']):.3f}")
    print(f"main_time_to_first_epoch_s: {statistics.median(firsts['main']):.3f}")
    if args.spawn:
        print(f"pool_spawn_time_to_first_epoch_s: {statistics.median(firsts['pool_spawn']):.3f}")
        print(f"forkserver_vs_spawn_ratio: {median['pool'] / median['pool_spawn']:.3f}")
    print(f"validate_s: {median['validate']:.3f}")
    print(f"import_torch_s: {median['import_torch']:.3f}")
    print(f"validate_target_s: {median['import_torch'] + 0.5:.3f}")


if __name__ == "__main__":
    main()
