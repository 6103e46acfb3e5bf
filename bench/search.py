"""ASHA against the full grid and against Ray Tune's ASHAScheduler, on one fixed task.

The task (bench/configs/search_digits.yml): example/search's digits ConvNet (built-in `conv_net`, batch norm,
Adam, 8x8 digits, val/test 15% each) on a 27-point grid, lr {0.001, 0.003, 0.01} x batch size {32, 64, 128} x
width (conv channels) {[4, 8], [8, 16], [16, 32]}, 9 epochs, seed 0. Side by side in each repetition, every
contender with 2 trials at a time on this machine's 2 cores:
- grid:         MLgym, searcher grid, no scheduler: all 27 trials x 9 epochs (2 pool workers).
- asha:         MLgym, searcher grid + scheduler asha (min_epochs 1, reduction_factor 3: rungs at epochs 1, 3),
                the same 27 trials in the same order, paused at rungs and resumed from their checkpoints.
- random_asha:  MLgym, searcher random (seed 0, --random_samples of the same 27 configs) + the same ASHA.
- ray_tune:     Ray Tune 2.x (optional import) with ASHAScheduler(max_t 9, grace_period 1, reduction_factor 3,
                metric val accuracy) over the same 27 trials in the same order (a grid over the trial index),
                max_concurrent_trials 2 on a local Ray instance of 2 CPUs, 1 CPU per trial, defaults otherwise
                (reuse_actors False); and ray_tune_reuse: the same with reuse_actors True (Ray's own way to keep
                trial processes). Each trial runs MLgym's own job code (`ExperimentRun`: the same graph, trainer,
                evaluator, seed) for 9 epochs and reports val accuracy to Tune after each epoch's evaluation;
                Tune's ASHA stops it at a rung (it does not pause trials, so it needs no checkpoint: the trials
                save none, which only helps Ray). `ray.init` happens before the clock; `Tuner.fit` is timed.
MLgym's wall time is `mlgym.run.start` (worker pool spawned and torch imported inside the clock, event log, the
checkpoints ASHA needs, results table). Epochs are counted from the event logs (one `experiment_status` training
event per epoch trained, checked against the distinct val `evaluation_result`s) and, for Ray, from the
`training_iteration` of each trial's last result. Best = the highest val accuracy any evaluated epoch reached.

    .venv/bin/python bench/search.py [--repeats 3] [--random_samples 9] [--no_ray]

Prints `asha_compute_fraction` (ASHA's epochs / the grid's; target <= 0.35), `asha_best_gap` (grid best - ASHA
best; target <= 0.01), `speedup_vs_ray_tune_asha` (Ray Tune wall / MLgym ASHA wall, median of the per-repetition
ratios; target >= 3), the random+ASHA numbers, each side's median wall time and `*_first_result_s` (clock start to
the first epoch's val score: process start-up, imports and one epoch; what every side pays before it learns
anything). Ray Tune is optional
(pip install -e '.[bench]'); without it the Ray lines say so.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no progress tables between the results

from mlgym.events.event_log import read_events  # noqa: E402
from mlgym.gym.spec import ExperimentSpec  # noqa: E402
from mlgym.run import ExecutionSettings, RunRequest, start  # noqa: E402
from mlgym.search.settings import SchedulerSettings, SearchSettings  # noqa: E402

CONFIG = ROOT / "bench" / "configs" / "search_digits.yml"
NUM_EPOCHS, PROCESSES, TRIALS = 9, 2, 27
MIN_EPOCHS, REDUCTION_FACTOR = 1, 3
METRIC = "val/accuracy"


@dataclass
class Outcome:
    """One contender's run: wall seconds, epochs trained, the best val accuracy reached, trials started."""

    wall_s: float
    epochs: int
    best: float
    trials: int
    finished: int  # trials that trained all NUM_EPOCHS
    first_result_s: float  # from the start of the clock to the first epoch's val score (start-up + one epoch)


def asha() -> SchedulerSettings:
    return SchedulerSettings(type="asha", metric=METRIC, min_epochs=MIN_EPOCHS, reduction_factor=REDUCTION_FACTOR)


def mlgym_side(log_dir: Path, search: SearchSettings) -> tuple[Outcome, list[dict[str, Any]]]:
    started, epoch_s = time.perf_counter(), time.time()
    outcome = start(RunRequest(gs_config_path=CONFIG, log_dir=log_dir, num_epochs=NUM_EPOCHS, seed=0,
                               execution=ExecutionSettings(kind="multiprocessing", process_count=PROCESSES),
                               search=search))
    wall = time.perf_counter() - started
    if outcome.status != "done":
        raise SystemExit(f"the MLgym run {outcome.grid_search_id} ended {outcome.status}")
    events = list(read_events(outcome.log_path))
    return measured(events, wall, epoch_s), events


def measured(events: list[dict[str, Any]], wall: float, started: float) -> Outcome:
    """Epochs trained, best val accuracy and trials, from a run's event log."""
    trained = sum(e["event_type"] == "experiment_status" and e["payload"]["status"] == "training" for e in events)
    val: dict[tuple[str, int], float] = {}
    for e in events:
        if e["event_type"] == "evaluation_result" and e["payload"]["split"] == "val":
            score = next(s["score"] for s in e["payload"]["metric_scores"] if s["metric"] == "accuracy")
            val[(e["experiment_id"], e["payload"]["epoch"])] = score
    if trained != len(val):
        raise SystemExit(f"{trained} training epochs logged but {len(val)} evaluated: the log is not one epoch "
                         "per evaluation")
    finished = sum(e["event_type"] == "experiment_status" and e["payload"]["status"] == "done"
                   and e["payload"]["epoch"] == NUM_EPOCHS for e in events)
    trials = sum(e["event_type"] == "experiment_config" for e in events)
    first = min(e["creation_ts"] for e in events if e["event_type"] == "evaluation_result")
    return Outcome(wall, trained, max(val.values()), trials, finished, first - started)


def trial_specs(events: list[dict[str, Any]], run_dir: str) -> list[ExperimentSpec]:
    """The trials of an MLgym search in trial order, as specs for Ray Tune: the same config and seed, no
    checkpoints (Tune's ASHA never resumes a trial)."""
    configs = {e["experiment_id"]: e["payload"] for e in events if e["event_type"] == "experiment_config"}
    order = sorted((e["payload"]["trial"], e["experiment_id"]) for e in events
                   if e["event_type"] == "trial_suggested")
    specs = []
    for _, eid in order:
        p = configs[eid]
        config = {**p["config"], "checkpointing": {"component_type_key": "checkpointing", "variant_key": "none"}}
        specs.append(ExperimentSpec(grid_search_id="ray-tune", experiment_id=eid, grid_point_id=p["grid_point_id"],
                                    config=config, hyperparameters=p["hyperparameters"], num_epochs=NUM_EPOCHS,
                                    seed=p["seed"], run_dir=run_dir,
                                    score_directions=p.get("score_directions") or {}))
    return specs


def tune_trial(config: dict[str, Any], specs: list[ExperimentSpec]) -> None:
    """A Ray Tune trial: MLgym's job code for one trial, val accuracy reported after each epoch's evaluation."""
    import torch
    from ray import tune

    from mlgym.gym.job import run_experiment
    from mlgym.scheduler.task import TaskContext

    torch.set_num_threads(1)  # as MLgym's pool workers
    val: dict[int, float] = {}

    def emit(event_type: str, payload: Any = None, experiment_id: str | None = None) -> None:
        if event_type != "evaluation_result":
            return
        scores = {s.metric: s.score for s in payload.metric_scores}
        if payload.split == "val":
            val[payload.epoch] = scores["accuracy"]
        elif payload.split == "test":  # the epoch's last evaluation
            tune.report({"val_accuracy": val[payload.epoch], "epoch": payload.epoch, "reported_at": time.time()})

    run_experiment(specs[config["trial"]], TaskContext(device="cpu", worker_index=0, attempt=0, emit=emit))


def ray_side(specs: list[ExperimentSpec], storage: str, reuse_actors: bool) -> Outcome:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    scheduler = ASHAScheduler(time_attr="training_iteration", metric="val_accuracy", mode="max", max_t=NUM_EPOCHS,
                              grace_period=MIN_EPOCHS, reduction_factor=REDUCTION_FACTOR)
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(tune_trial, specs=specs), {"cpu": 1}),
        param_space={"trial": tune.grid_search(list(range(len(specs))))},
        tune_config=tune.TuneConfig(scheduler=scheduler, max_concurrent_trials=PROCESSES, reuse_actors=reuse_actors),
        run_config=tune.RunConfig(storage_path=storage, name=f"search{time.time_ns()}", verbose=0))
    started, epoch_s = time.perf_counter(), time.time()
    results = tuner.fit()
    wall = time.perf_counter() - started
    if results.errors:
        raise SystemExit(f"a Ray Tune trial failed: {results.errors[0]}")
    epochs, best, finished, first = 0, 0.0, 0, float("inf")
    for result in results:
        frame = result.metrics_dataframe
        epochs += int(result.metrics["training_iteration"])
        best = max(best, float(frame["val_accuracy"].max()))
        finished += int(result.metrics["training_iteration"]) == NUM_EPOCHS
        first = min(first, float(frame["reported_at"].min()))
    return Outcome(wall, epochs, best, len(results), finished, first - epoch_s)


def tune_available() -> bool:
    try:
        import ray.tune  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--random_samples", type=int, default=9, help="trials of the random+ASHA search")
    parser.add_argument("--no_ray", action="store_true", help="leave Ray Tune out")
    args = parser.parse_args()
    print(f"loadavg_1min_at_start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    with_ray = not args.no_ray and tune_available()
    searches = {
        "grid": SearchSettings(),
        "asha": SearchSettings(scheduler=asha()),
        "random_asha": SearchSettings(searcher="random", num_samples=args.random_samples, seed=0, scheduler=asha()),
    }
    runs: dict[str, list[Outcome]] = {name: [] for name in [*searches, "ray_tune", "ray_tune_reuse"]}
    if with_ray:
        import ray
        ray.init(num_cpus=PROCESSES, include_dashboard=False, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for rep in range(args.repeats):
                logs = {}
                for name, search in searches.items():
                    outcome, logs[name] = mlgym_side(Path(tmp) / name, search)
                    runs[name].append(outcome)
                line = ", ".join(f"{name} {runs[name][-1].wall_s:.1f} s / {runs[name][-1].epochs} epochs / best "
                                 f"{runs[name][-1].best:.4f}" for name in searches)
                if with_ray:
                    specs = trial_specs(logs["asha"], os.path.join(tmp, "ray-runs"))
                    assert len(specs) == TRIALS
                    for name, reuse in (("ray_tune", False), ("ray_tune_reuse", True)):
                        runs[name].append(ray_side(specs, os.path.join(tmp, "tune"), reuse))
                        o = runs[name][-1]
                        line += f", {name} {o.wall_s:.1f} s / {o.epochs} epochs / best {o.best:.4f}"
                print(f"repeat {rep}: {line}", flush=True)
    finally:
        if with_ray:
            import ray
            ray.shutdown()
    report(runs, args, with_ray)


def report(runs: dict[str, list[Outcome]], args: argparse.Namespace, with_ray: bool) -> None:
    def median(name: str, attr: str) -> float:
        return statistics.median(getattr(o, attr) for o in runs[name])

    def ratio(a: str, b: str) -> float:  # median of the per-repetition wall ratios a / b
        return statistics.median(x.wall_s / y.wall_s for x, y in zip(runs[a], runs[b]))

    grid, asha_run, rand = runs["grid"][-1], runs["asha"][-1], runs["random_asha"][-1]
    print(f"task: digits conv_net, {TRIALS} grid points (lr x batch size x width), {NUM_EPOCHS} epochs, "
          f"{PROCESSES} trials at a time, ASHA min_epochs {MIN_EPOCHS} reduction_factor {REDUCTION_FACTOR}, "
          f"repeats: {args.repeats}")
    print(f"loadavg_1min_at_end: {os.getloadavg()[0]:.2f}")
    for name in runs:
        if runs[name]:
            o = runs[name][-1]
            print(f"{name}_wall_s: {median(name, 'wall_s'):.2f}")
            print(f"{name}_first_result_s: {median(name, 'first_result_s'):.2f}")
            print(f"{name}_epochs: {o.epochs} (trials {o.trials}, trained to epoch {NUM_EPOCHS}: {o.finished}; "
                  f"per repetition: {[r.epochs for r in runs[name]]})")
            print(f"{name}_best_val_accuracy: {o.best:.4f} (per repetition: {[round(r.best, 4) for r in runs[name]]})")
    print(f"asha_compute_fraction: {asha_run.epochs / grid.epochs:.3f}")
    print(f"asha_best_gap: {grid.best - asha_run.best:.4f}")
    print(f"random_asha_compute_fraction: {rand.epochs / grid.epochs:.3f}")
    print(f"random_asha_best_gap: {grid.best - rand.best:.4f}")
    print(f"asha_speedup_vs_grid: {ratio('grid', 'asha'):.2f}")
    if with_ray:
        tune_run = runs["ray_tune"][-1]
        print(f"ray_tune_asha_compute_fraction: {tune_run.epochs / grid.epochs:.3f}")
        print(f"ray_tune_asha_best_gap: {grid.best - tune_run.best:.4f}")
        print(f"speedup_vs_ray_tune_asha: {ratio('ray_tune', 'asha'):.2f}")
        print(f"speedup_vs_ray_tune_asha_reuse_actors: {ratio('ray_tune_reuse', 'asha'):.2f}")
    else:
        print("speedup_vs_ray_tune_asha: n/a (ray[tune] not installed: pip install -e '.[bench]'; or --no_ray)")


if __name__ == "__main__":
    main()
