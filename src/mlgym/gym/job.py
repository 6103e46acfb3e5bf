"""One experiment job: build the component graph, then train and evaluate epoch by epoch, emitting events."""
from __future__ import annotations

import inspect
import math
import time
from typing import Any

import torch

from mlgym.config.loader import SourceMap
from mlgym.errors import TrainingStopped
from mlgym.events.payloads import Alert, EvaluationResult, ExperimentStatus, LossScore, MetricScore
from mlgym.gym.alerts import AlertMonitor
from mlgym.gym.device import resolve_device
from mlgym.gym.seeding import seed_everything
from mlgym.gym.spec import ExperimentSpec
from mlgym.gym.builtins import load_builtins
from mlgym.gym.data_cache import DataCache, worker_data_cache
from mlgym.registry.graph import ComponentGraph, nodes_of_kind, parse_nodes
from mlgym.registry.registry import registry


def flatten_scores(results: dict[str, dict[str, dict[str, float]]]) -> dict[str, float]:
    """{"val": {"metrics": {"accuracy": .9}}} -> {"val/accuracy": .9}."""
    return {f"{split}/{name}": score for split, r in results.items()
            for group in ("metrics", "losses") for name, score in r[group].items()}


def _finite(score: float | None) -> float | None:
    return score if score is not None and math.isfinite(score) else None


def evaluation_payload(epoch: int, split: str, result: dict[str, dict[str, float]],
                       source: str | None = None) -> EvaluationResult:
    return EvaluationResult(
        epoch=epoch, split=split,
        metric_scores=[MetricScore(metric=m, split=split, score=_finite(s)) for m, s in result["metrics"].items()],
        loss_scores=[LossScore(loss=m, split=split, score=_finite(s)) for m, s in result["losses"].items()],
        source=source)


def alert_payload(fired: Any) -> Alert:
    return Alert(when=fired.rule.when, action=fired.rule.action, key=fired.rule.key, value=fired.finite_value,
                 epoch=fired.epoch, message=fired.message)


def _accepts(method: Any, name: str) -> bool:
    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def build_graph(spec: ExperimentSpec, cache: DataCache | None = worker_data_cache) -> ComponentGraph:
    """The job's component graph; its dataset and splits come from this process's data cache when an earlier
    job built them from the same config (`gym/data_cache.py`)."""
    load_builtins()
    nodes = parse_nodes(spec.config, registry, SourceMap())
    replace = {}
    if spec.split_indices is not None:
        from mlgym.components.splits import splits_from_indices
        indices = spec.split_indices
        for node in nodes_of_kind(nodes, "splitter"):
            replace[node.name] = lambda dataset, _i=indices, **_: splits_from_indices(dataset, _i)
    return ComponentGraph(nodes, replace, cache)


class ExperimentRun:
    """The live objects of one experiment and the loop that trains them; a checkpoint can restore its state."""

    def __init__(self, spec: ExperimentSpec, context: Any, cache: DataCache | None = worker_data_cache) -> None:
        self.spec = spec
        self.context = context
        self.device = resolve_device(context.device)
        seed_everything(spec.seed)
        self.graph = build_graph(spec, cache)
        self.model = self.graph.first_of_kind("model").to(self.device)
        self.trainer = self.graph.first_of_kind("trainer")
        self.evaluator = self.graph.first_of_kind("evaluator")
        self.early_stopping = self.graph.first_of_kind("early_stopping", required=False)
        self.checkpointing = self.graph.first_of_kind("checkpointing", required=False)
        for watcher in (self.early_stopping, self.checkpointing):
            if watcher is not None and hasattr(watcher, "use_directions"):
                watcher.use_directions(spec.score_directions or self._directions())
        if hasattr(self.trainer, "prepare"):  # before a checkpoint restores the schedule it builds
            self.trainer.prepare(self.device, spec.num_epochs)
        self.alerts = AlertMonitor(getattr(self.trainer, "alerts", None) or [])
        self.history: dict[int, dict[str, float]] = {}
        self.evaluations: list[Any] = []  # every evaluation_result payload so far
        self.epoch = 0
        self.stopped_early = False

    def _directions(self) -> dict[str, str]:
        from mlgym.gym.scores import score_directions_of_nodes
        return score_directions_of_nodes(self.graph.nodes)

    def emit(self, payload: Any) -> None:
        self.context.emit(payload.event_type, payload, self.spec.experiment_id)

    def _epoch(self, epoch: int, num_epochs: int, manager: Any, final: bool = False) -> None:
        self.emit(ExperimentStatus(status="training", epoch=epoch, num_epochs=num_epochs))
        hooks = {name: hook for name, hook in (("emit", self.emit), ("on_step", manager.after_step))
                 if _accepts(self.trainer.train_epoch, name)}
        train_loss = self.trainer.train_epoch(epoch, self.device, **hooks)
        evaluated = self.evaluator.evaluate(self.device)
        results = evaluated
        train_split = getattr(self.trainer, "train_split", None)
        if train_split is not None and train_split not in evaluated and hasattr(self.trainer, "loss_name"):
            # the training pass's mean loss, unless the evaluator scores the train split itself
            pass_result = {"metrics": {}, "losses": {
                self.trainer.loss_name: math.nan if train_loss is None else float(train_loss)}}
            self._emit_evaluation(evaluation_payload(epoch, train_split, pass_result, source="training_pass"))
            results = {train_split: pass_result, **evaluated}
        for split, result in evaluated.items():
            self._emit_evaluation(evaluation_payload(epoch, split, result))
        scores = flatten_scores(results)
        self.history[epoch] = scores
        self.epoch = epoch
        self._check_alerts(epoch, scores)
        if self.early_stopping is not None and self.early_stopping.update(epoch, scores):
            self.stopped_early = True
        manager.after_epoch(epoch, scores, final=final or self.epoch >= num_epochs or self.stopped_early)

    def _emit_evaluation(self, payload: Any) -> None:
        """Emit an epoch's evaluation and keep it for the checkpoint: when a job resumes from a checkpoint whose
        events never reached the log (its node died first), it emits them again."""
        self.evaluations.append(payload)
        self.emit(payload)

    def _check_alerts(self, epoch: int, scores: dict[str, float | None]) -> None:
        fired = self.alerts.check(epoch, scores)
        for alert in fired:
            self.emit(alert_payload(alert))
        stop = next((a for a in fired if a.rule.action == "stop"), None)
        if stop is not None:
            raise TrainingStopped(f"stopped by {stop.message}")

    def _close_loaders(self) -> None:
        """Stop persistent loader workers now (left to the garbage collector, each costs torch's join timeout)."""
        loaders = getattr(self.trainer, "data_loaders", None)
        if hasattr(loaders, "close"):
            loaders.close()

    def run(self) -> dict[str, Any]:
        from mlgym.checkpointing.manager import CheckpointManager
        manager = CheckpointManager(self, self.checkpointing)
        manager.restore_latest()
        n = self.spec.num_epochs
        stop = min(n, self.spec.stop_at_epoch or n)
        try:
            while self.epoch < stop and not self.stopped_early:
                self._epoch(self.epoch + 1, n, manager, final=self.epoch + 1 >= stop)
        finally:
            manager.close()
            self._close_loaders()
        status = "early_stopped" if self.stopped_early else "paused" if self.epoch < n else "done"
        self.emit(ExperimentStatus(status=status, epoch=self.epoch, num_epochs=n))
        return {"experiment_id": self.spec.experiment_id, "history": self.history, "last_epoch": self.epoch,
                "stopped_early": self.stopped_early, "paused": status == "paused"}


def run_experiment(spec: ExperimentSpec, context: Any) -> dict[str, Any]:
    """Task function run in a worker (or the main process): train one experiment to its last epoch."""
    # restored afterwards: under the main-process executor the job runs in the caller's process
    previous = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        started = time.perf_counter()
        result = ExperimentRun(spec, context).run()
        result["duration_s"] = time.perf_counter() - started
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
    return result
