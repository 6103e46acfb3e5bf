"""Save a job's whole state after an epoch or a step as its strategy says; resume from the newest good checkpoint.

A mid-epoch checkpoint holds the state after `step` optimizer steps of `epoch`: the trainer's running sums of the
epoch come with it, and the resumed trainer skips the batches already consumed (the order of an epoch's batches is
a function of (seed, epoch)), so the resumed job ends exactly as an uninterrupted one.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlgym.checkpointing.position import Position
from mlgym.checkpointing.rng import capture_rng, restore_rng
from mlgym.checkpointing.store import CheckpointStore, CorruptCheckpoint
from mlgym.checkpointing.strategies import CheckpointStrategy
from mlgym.checkpointing.writer import CheckpointWriter
from mlgym.events.payloads import Checkpoint


def checkpoint_dir(run_dir: str | Path, experiment_id: str) -> Path:
    return Path(run_dir) / "checkpoints" / experiment_id


def _state_of(obj: Any) -> Any:
    return obj.state_dict() if obj is not None and hasattr(obj, "state_dict") else None


def _load_into(obj: Any, state: Any) -> None:
    if obj is not None and state is not None and hasattr(obj, "load_state_dict"):
        obj.load_state_dict(state)


class CheckpointManager:
    """Ties an ExperimentRun to its checkpoint files and its strategy."""

    def __init__(self, run: Any, strategy: CheckpointStrategy | None) -> None:
        self.run = run
        self.strategy = strategy or CheckpointStrategy()
        self.run_dir = Path(run.spec.checkpoint_base)
        self.store = CheckpointStore(checkpoint_dir(self.run_dir, run.spec.experiment_id))
        self.writer: CheckpointWriter | None = None
        self._pending: set[Position] = set()  # submitted to the writer, maybe not on disk yet

    def _emit(self, **fields: Any) -> None:
        self.run.emit(Checkpoint(**fields))

    def _relative(self, path: str | Path) -> str:
        return os.path.relpath(path, self.run_dir)

    def state(self) -> dict[str, Any]:
        run = self.run
        return {"epoch": run.epoch, "experiment_id": run.spec.experiment_id, "config": run.spec.config,
                "model": run.model.state_dict(), "optimizer": run.trainer.optimizer.state_dict(),
                "lr_scheduler": _state_of(run.trainer.lr_scheduler), "trainer": _state_of(run.trainer),
                "early_stopping": _state_of(run.early_stopping), "alerts": _state_of(run.alerts),
                "strategy": _state_of(self.strategy), "history": run.history, "stopped_early": run.stopped_early,
                "rng": capture_rng(), "evaluations": list(run.evaluations)}

    def restore_latest(self) -> Position | None:
        """Load the newest checkpoint that verifies; corrupt ones are reported and skipped. Returns its position."""
        for position in reversed(self.store.positions()):
            path = self._relative(self.store.path(position))
            try:
                state = self.store.load(position)
            except CorruptCheckpoint as e:
                self._emit(action="corrupt", epoch=position.epoch, step=position.step, path=path, error=str(e))
                continue
            self._apply(state)
            checkpoint_seq = self.store.last_seq(position)
            self._emit(action="restored", epoch=position.epoch, step=position.step, path=path,
                       checkpoint_seq=checkpoint_seq)
            if checkpoint_seq is None:
                # the main process never logged this checkpoint's `saved` event (the job died first, e.g. with its
                # node, and may have trained on for a while), so scores of any epoch up to it may be missing from
                # the log: emit them all again (readers keep the last event per experiment, epoch and split)
                for payload in state.get("evaluations", []):
                    self.run.emit(payload)
            return position
        return None

    def _apply(self, state: dict[str, Any]) -> None:
        run = self.run
        run.model.load_state_dict(state["model"])
        run.trainer.optimizer.load_state_dict(state["optimizer"])
        _load_into(run.trainer.lr_scheduler, state["lr_scheduler"])
        _load_into(run.trainer, state.get("trainer"))  # global step, fp16 grad scaler (absent in older checkpoints)
        _load_into(run.early_stopping, state["early_stopping"])
        _load_into(run.alerts, state.get("alerts"))  # absent in older checkpoints
        _load_into(self.strategy, state["strategy"])
        run.history = {int(k): v for k, v in state["history"].items()}
        run.evaluations = list(state.get("evaluations", []))
        run.epoch = state["epoch"]
        run.stopped_early = state["stopped_early"]
        restore_rng(state["rng"])

    def after_epoch(self, epoch: int, scores: dict[str, float], final: bool) -> None:
        """Snapshot the state and decide what to delete now; write and delete in the background."""
        if self.strategy.should_save(epoch, scores, final):
            self._save(Position(epoch))

    def after_step(self, epoch: int, step: int) -> None:
        """Called by the trainer after each optimizer step: a mid-epoch checkpoint when the strategy wants one."""
        if self.strategy.should_save_step(epoch, step, self.run.trainer.global_step):
            self._save(Position(epoch, step))

    def _save(self, position: Position) -> None:
        data = self.store.serialize(self.state())
        saved = sorted(set(self.store.positions()) | self._pending | {position})
        drop = self.strategy.to_delete(saved, position)
        self._pending = (self._pending | {position}) - set(drop)
        if self.writer is None:
            self.writer = CheckpointWriter()
        self.writer.submit(lambda: self._write(position, data, drop))

    def _write(self, position: Position, data: bytes, drop: list[Position]) -> None:
        saved = self.store.write(position, data)
        self._emit(action="saved", epoch=position.epoch, step=position.step, path=self._relative(saved["path"]),
                   sha256=saved["sha256"], bytes=saved["bytes"], reason=self.strategy.reason)
        for old in drop:
            self.store.delete(old)
            self._emit(action="deleted", epoch=old.epoch, step=old.step, path=self._relative(self.store.path(old)),
                       reason=self.strategy.reason)

    def close(self) -> None:
        """Wait for pending checkpoint writes."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
