"""Event logs for the read-model parity test: real runs through the CLI, and one synthetic pre-directions log."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import CONFIGS, EXAMPLES

REGRESSION_CONFIG = """\
dataset:
  component_type_key: dataset
  variant_key: csv
  config: {{path: "{csv}", target_column: target, task: regression}}
splits:
  component_type_key: splitter
  variant_key: random
  requirements: [{{name: dataset, component_name: dataset}}]
  config: {{ratios: {{train: 0.6, val: 0.2, test: 0.2}}, seed: 0}}
data_loaders:
  component_type_key: data_loader
  variant_key: default
  requirements: [{{name: splits, component_name: splits}}]
  config: {{batch_size: 32, seed: 0, standardize: true}}
model:
  component_type_key: model
  variant_key: mlp
  config: {{input_dim: 10, output_dim: 1, hidden_dims: [16]}}
loss: {{component_type_key: loss, variant_key: mse}}
metrics:
  component_type_key: metrics
  variant_key: default
  config: {{metrics: [mae, rmse]}}
optimizer:
  component_type_key: optimizer
  variant_key: adam
  requirements: [{{name: model, component_name: model}}]
  config: {{lr: {{sweep: absolute, values: [0.01, 0.05]}}}}
trainer:
  component_type_key: trainer
  variant_key: default
  requirements:
    - {{name: model, component_name: model}}
    - {{name: optimizer, component_name: optimizer}}
    - {{name: loss, component_name: loss}}
    - {{name: data_loaders, component_name: data_loaders}}
evaluator:
  component_type_key: evaluator
  variant_key: default
  requirements:
    - {{name: model, component_name: model}}
    - {{name: loss, component_name: loss}}
    - {{name: metrics, component_name: metrics}}
    - {{name: data_loaders, component_name: data_loaders}}
"""


def _train(folder: Path, gs_config: Path, *extra: str, script: Path | None = None,
           epochs: int = 2) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(script)] if script else [sys.executable, "-m", "mlgym.cli.main"]
    args = ["train", "--gs_config_path", str(gs_config), "--log_dir", str(folder / "logs"), "--num_epochs",
            str(epochs), "--process_count", "1", *extra]
    out = open(folder / "output.txt", "w")
    return subprocess.Popen([*command, *args], cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONHASHSEED": "0"})


def diabetes_csv(path: Path) -> Path:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame.to_csv(path, index=False)
    return path


def run_real_logs(root: Path) -> dict[str, Path]:
    """Run the examples, a cross-validation and a regression grid (small settings, side by side): name -> log."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "cv.yml").write_text("CROSS_VALIDATION:\n  num_folds: 3\n  seed: 1\n")
    (root / "nested.yml").write_text("NestedCV:\n  num_outer_loop_folds: 2\n  num_inner_loop_folds: 2\n  seed: 0\n"
                                     "  selection: {split: val, metric: f1_macro, mode: max}\n")
    csv = diabetes_csv(root / "diabetes.csv")
    (root / "regression.yml").write_text(REGRESSION_CONFIG.format(csv=csv))
    runs = {
        "example_grid_search": _train(root / "example_grid_search", EXAMPLES / "grid_search" / "gs_config.yml",
                                      script=EXAMPLES / "grid_search" / "run.py"),
        "example_nested_cv": _train(root / "example_nested_cv", EXAMPLES / "nested_cv" / "gs_config.yml",
                                    "--validation_config_path", str(root / "nested.yml"),
                                    script=EXAMPLES / "nested_cv" / "run.py"),
        "cross_validation": _train(root / "cross_validation", CONFIGS / "iris_mlp.yml",
                                   "--validation_config_path", str(root / "cv.yml")),
        "regression": _train(root / "regression", root / "regression.yml", epochs=3),
    }
    logs = {}
    for name, process in runs.items():
        code = process.wait(timeout=600)
        assert code == 0, (root / name / "output.txt").read_text()[-3000:]
        logs[name] = next((root / name / "logs").glob("*/event_storage.log"))
    return logs


class _Log:
    def __init__(self, grid_search_id: str, base_ts: float = 1000.0) -> None:
        self.grid_search_id = grid_search_id
        self.base_ts = base_ts
        self.lines: list[str] = []

    def add(self, event_type: str, experiment_id: str | None = None, /, **payload: Any) -> None:
        event = {"seq": len(self.lines), "event_type": event_type, "creation_ts": self.base_ts + len(self.lines),
                 "grid_search_id": self.grid_search_id, "experiment_id": experiment_id, "payload": payload,
                 "schema_version": 1}
        self.lines.append(json.dumps(event, allow_nan=True))

    def scores(self, eid: str, epoch: int, split: str, metrics: dict[str, Any], losses: dict[str, Any],
               own_split: bool = True) -> None:
        def entry(kind: str, name: str, score: Any) -> dict[str, Any]:
            return {kind: name, "score": score, **({"split": split} if own_split else {})}
        self.add("evaluation_result", eid, epoch=epoch, split=split,
                 metric_scores=[entry("metric", n, s) for n, s in metrics.items()],
                 loss_scores=[entry("loss", n, s) for n, s in losses.items()])


def write_synthetic_log(folder: Path) -> Path:
    """A cross-validation log as written before `score_directions` existed (selection metric and mode null), with
    a NaN and an infinite score, a warm-start-like re-logged epoch, a failed fold, a torn last line, and status
    events in every order the status rule has to survive."""
    gs = "synthetic-old"
    log = _Log(gs)
    log.add("grid_search_started", strategy="cross_validation", num_experiments=5, sweep_paths=["lr"],
            selection={"split": "val", "metric": None, "mode": None})
    folds = {"A.f0": ("A", 0), "A.f1": ("A", 1), "B.f0": ("B", 0), "B.f1": ("B", 1), "C.f0": ("C", 0)}
    for eid, (gp, k) in folds.items():
        log.add("experiment_config", eid, grid_point_id=gp, hyperparameters={"lr": {"A": 0.1, "B": 0.2,
                                                                                    "C": 0.3}[gp]},
                num_epochs=3, role="cv_fold", fold={"k": k})
    for eid in folds:
        log.add("job_scheduled", eid, job_id=eid, depends_on=[], attempt=0)
    # A.f0: train scores come first; val accuracy 0.5, 0.8, NaN (latest None, best stays 0.8 at epoch 2)
    log.add("job_status", "A.f0", status="running")
    for epoch, (acc, err, mse) in enumerate([(0.5, 0.4, 1.0), (0.8, 0.3, 0.6), (float("nan"), 0.35, 0.7)], 1):
        log.add("experiment_status", "A.f0", status="training", epoch=epoch, num_epochs=3)
        log.scores("A.f0", epoch, "train", {"accuracy": acc if epoch != 3 else 0.9}, {"mse": mse})
        log.scores("A.f0", epoch, "val", {"accuracy": acc, "error_rate": err}, {"mse": mse}, own_split=epoch != 2)
    # its worker died: retried from the checkpoint of epoch 2, so epoch 3 is logged again, identically
    log.add("job_status", "A.f0", status="retrying", error="WorkerDied")
    log.add("checkpoint", "A.f0", action="restored", epoch=2, path="checkpoints/A.f0/epoch_2.pt",
            checkpoint_seq=3)
    log.scores("A.f0", 3, "train", {"accuracy": 0.9}, {"mse": 0.7})
    log.scores("A.f0", 3, "val", {"accuracy": float("nan"), "error_rate": 0.35}, {"mse": 0.7})
    log.add("experiment_status", "A.f0", status="done", epoch=3, num_epochs=3)
    log.add("job_status", "A.f0", status="done")
    # A.f1: ties keep the first best; an infinite loss is ignored
    log.add("experiment_status", "A.f1", status="training", epoch=1, num_epochs=3)  # scheduled -> running
    for epoch, acc in enumerate([0.6, 0.7, 0.7], 1):
        log.scores("A.f1", epoch, "val", {"accuracy": acc, "error_rate": 0.2}, {"mse": float("inf")})
    log.add("job_status", "A.f1", status="done")
    log.add("job_scheduled", "A.f1", job_id="A.f1", depends_on=[], attempt=0)  # done stays done
    # B.f0 done; B.f1 failed after one epoch (not in the CV values: n = 1, std None)
    log.scores("B.f0", 1, "val", {"accuracy": 0.75, "error_rate": 0.25}, {"mse": 0.5})  # scheduled -> running
    log.add("job_status", "B.f0", status="done")
    log.add("job_status", "B.f1", status="running")
    log.scores("B.f1", 1, "val", {"accuracy": 0.9, "error_rate": 0.1}, {"mse": 0.2})
    log.add("job_status", "B.f1", status="failed", error="ValueError: boom")
    # C.f0: says its training loop is done, but no job_status done was logged: still running
    log.add("job_status", "C.f0", status="running")
    log.scores("C.f0", 1, "val", {"accuracy": 0.4, "error_rate": 0.6}, {"mse": 0.9})
    log.add("experiment_status", "C.f0", status="done", epoch=1, num_epochs=3)
    path = folder / gs / "event_storage.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    torn = '{"seq": 999, "event_type": "job_status", "experiment_id": "C.f0", "payload": {"status": "do'
    path.write_text("\n".join(log.lines) + "\n" + torn)
    return path


def write_training_log(folder: Path) -> Path:
    """A grid search with step-level `training_progress`, `alert` events and a training-pass `train` loss: a resume
    that re-trains steps, a loader without a length, skipped steps, no `num_epochs`, more alerts than are kept."""
    gs = "synthetic-training"
    log = _Log(gs)
    log.add("grid_search_started", strategy="grid_search", num_experiments=4, sweep_paths=[],
            selection={"split": "val", "metric": "accuracy", "mode": "max"},
            score_directions={"accuracy": "max", "cross_entropy": "min"})
    for eid in ("T1", "T2", "T4"):
        log.add("experiment_config", eid, grid_point_id=eid, hyperparameters={}, num_epochs=3, role="train",
                fold=None, score_directions={"accuracy": "max", "cross_entropy": "min"})
    for eid in ("T1", "T2", "T3", "T4"):
        log.add("job_scheduled", eid, job_id=eid, depends_on=[], attempt=0)

    def step(eid: str, epoch: int, s: int, n: int | None, g: int, loss: float | None, **extra: Any) -> None:
        log.add("training_progress", eid, epoch=epoch, step=s, num_steps=n, global_step=g, loss=loss, lr=0.01,
                samples_per_s=100.0 + g, **extra)

    # T1: a training_progress while scheduled -> running; 4 steps an epoch, reported every 2nd
    for epoch in (1, 2):
        for s in (2, 4):
            step("T1", epoch, s, 4, (epoch - 1) * 4 + s, 1.0 / (epoch * s))
        log.add("evaluation_result", "T1", epoch=epoch, split="train", metric_scores=[], source="training_pass",
                loss_scores=[{"loss": "cross_entropy", "split": "train", "score": 1.0 / (epoch * 4)}])
        log.scores("T1", epoch, "val", {"accuracy": 0.5 + 0.1 * epoch}, {"cross_entropy": 1.0 / epoch})
    log.add("alert", "T1", when="val/accuracy > 0.6", action="warn", key="val/accuracy", value=0.7, epoch=2,
            message="alert 'val/accuracy > 0.6' (warn): val/accuracy = 0.7 at epoch 2")
    # its worker died during epoch 3 (step 2 reported); resumed from epoch 2's checkpoint, epoch 3 re-trained
    step("T1", 3, 2, 4, 10, 0.09)
    log.add("job_status", "T1", status="retrying", error="WorkerDied")
    log.add("checkpoint", "T1", action="restored", epoch=2, path="checkpoints/T1/epoch_2.pt", checkpoint_seq=3)
    step("T1", 3, 2, 4, 10, 0.09)
    step("T1", 3, 3, 4, 11, 0.085)  # not a multiple of 2: a reader takes whatever comes
    # T2: a loader without a length (num_steps null), skipped steps, memory, a non-finite running loss, 102 alerts
    log.add("job_status", "T2", status="running")
    step("T2", 1, 50, None, 50, 0.5, skipped_steps=2, max_memory_allocated=123456)
    step("T2", 2, 10, None, 60, None, skipped_steps=1)
    for i in range(102):
        log.add("alert", "T2", when="val/cross_entropy > 1", action="warn", key="val/cross_entropy",
                value=None if i % 2 else 1.5 + i, epoch=2, message=f"alert {i}")
    # T3: no experiment_config (no num_epochs): progress 0; a stop alert, then the job fails
    log.add("job_status", "T3", status="running")
    step("T3", 1, 1, 8, 1, 3.0)
    log.add("alert", "T3", when="train/cross_entropy > 2", action="stop", key="train/cross_entropy", value=3.0,
            epoch=1, message="alert 'train/cross_entropy > 2' (stop): train/cross_entropy = 3 at epoch 1")
    log.add("job_status", "T3", status="failed",
            error="TrainingStopped: stopped by alert 'train/cross_entropy > 2' (stop): train/cross_entropy = 3 at "
                  "epoch 1")
    # T4: a step past num_steps counts as the epoch's end; then done -> progress 1
    log.add("job_status", "T4", status="running")
    step("T4", 2, 7, 5, 12, 0.3)
    path = folder / gs / "event_storage.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(log.lines) + "\n")
    return path


def write_search_log(folder: Path) -> Path:
    """An ASHA search: trial P paused at rung 1, promoted (a continuation job filed under the same experiment),
    paused again at rung 3 and left there (stopped); trial D trains to the end; trial Q is suggested, never scored.
    Paused is a status of its own; the trial events give each trial its number and last decision."""
    gs = "search-asha"
    log = _Log(gs)
    log.add("grid_search_started", strategy="grid_search", num_experiments=3, sweep_paths=["lr"], num_epochs=9,
            selection={"split": "val", "metric": "accuracy", "mode": "max"},
            search={"searcher": "random", "num_samples": 3, "seed": 0, "max_concurrent": 1,
                    "scheduler": {"type": "asha", "metric": "val/accuracy", "mode": "max", "min_epochs": 1,
                                  "reduction_factor": 3}})
    for trial, (eid, lr) in enumerate((("P", 0.1), ("D", 0.2), ("Q", 0.3))):
        log.add("experiment_config", eid, grid_point_id=eid, hyperparameters={"lr": lr}, num_epochs=9,
                role="train", fold=None)
        log.add("trial_suggested", eid, trial=trial, experiment_id=eid, params={"lr": lr})
    for job, stop, first in (("P", 1, 1), ("P.r1", 3, 2)):
        if first > 1:
            log.add("trial_promoted", "P", trial=0, rung=0, epoch=1, score=0.1, cut=0.1)
        log.add("job_scheduled", "P", job_id=job, depends_on=[], attempt=0)
        log.add("job_status", "P", status="running")
        for epoch in range(first, stop + 1):
            log.add("experiment_status", "P", status="training", epoch=epoch, num_epochs=9)
            log.scores("P", epoch, "val", {"accuracy": 0.1 * epoch}, {"mse": 1.0 / epoch})
        log.add("experiment_status", "P", status="paused", epoch=stop, num_epochs=9)
        log.add("job_status", "P", status="done")
    log.add("job_scheduled", "D", job_id="D", depends_on=[], attempt=0)
    log.add("job_status", "D", status="running")
    log.scores("D", 9, "val", {"accuracy": 0.9}, {"mse": 0.1})
    log.add("experiment_status", "D", status="done", epoch=9, num_epochs=9)
    log.add("job_status", "D", status="done")
    log.add("job_scheduled", "Q", job_id="Q", depends_on=[], attempt=0)
    log.add("trial_stopped", "P", trial=0, rung=1, epoch=3, score=0.3, cut=None)
    path = folder / gs / "event_storage.log"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(log.lines) + "\n")
    return path


SEARCH_CONFIG = """\
imports: [{base}]
optimizer:
  config:
    lr: {{sweep: loguniform, low: 0.00001, high: 0.1}}
model:
  config:
    activation: {{sweep: choice, values: [relu, tanh]}}
"""


def run_search_log(folder: Path, num_samples: int = 9, num_epochs: int = 9) -> Path:
    """A real random search with ASHA (min_epochs 1, reduction_factor 3) on iris, run in this process (~3 s after
    torch is imported): a log-uniform learning rate over 4 decades and a categorical activation. With 9 samples of
    9 epochs, one trial trains to the end and the others are stopped at rungs 0 and 1. Returns its event log."""
    from mlgym.run import ExecutionSettings, RunRequest, start
    from mlgym.search.settings import SchedulerSettings, SearchSettings

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "search.yml"
    config.write_text(SEARCH_CONFIG.format(base=CONFIGS / "iris_mlp.yml"))
    search = SearchSettings("random", num_samples, 0, scheduler=SchedulerSettings("asha", None, None, 1, 3))
    outcome = start(RunRequest(gs_config_path=config, log_dir=folder / "logs", num_epochs=num_epochs,
                               execution=ExecutionSettings(kind="main_process"), search=search))
    assert outcome.status == "done", outcome.results
    return outcome.log_path


def write_crashed_log(folder: Path, base_ts: float) -> Path:
    """A run whose process died: no grid_search_finished; experiment A done, B running at epoch 2 of 3. Events
    are 1 s apart from `base_ts`, a heartbeat every 30 s was promised."""
    gs = f"crashed-{int(base_ts)}"
    log = _Log(gs, base_ts)
    log.add("grid_search_started", strategy="grid_search", num_experiments=2, num_epochs=3, heartbeat_s=30.0,
            selection={"split": "val", "metric": "accuracy", "mode": "max"})
    for eid in ("A", "B"):
        log.add("experiment_config", eid, grid_point_id=eid, hyperparameters={"lr": 0.1}, num_epochs=3,
                role="train", fold=None)
        log.add("job_scheduled", eid, job_id=eid, depends_on=[], attempt=0)
        log.add("job_status", eid, status="running")
        for epoch in (1, 2, 3) if eid == "A" else (1, 2):
            log.scores(eid, epoch, "val", {"accuracy": 0.2 * epoch}, {"mse": 1.0 / epoch})
        if eid == "A":
            log.add("experiment_status", eid, status="done", epoch=3, num_epochs=3)
            log.add("job_status", eid, status="done")
    log.add("heartbeat", running=1)
    path = folder / gs / "event_storage.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in log.lines))
    return path
