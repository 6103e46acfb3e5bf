"""The default trainer: one epoch of mini-batch gradient descent over the train split.

Per optimizer step it accumulates the gradients of `grad_accumulation_steps` micro-batches (each loss weighted by
its share of the group's samples, so the update equals that of one big batch), runs the forward pass under
`torch.autocast` for mixed precision, checks the loss is finite, clips, steps the optimizer and a per-step LR
schedule, and every `log_every_n_steps` steps reports a `training_progress` event.

After each step it calls `on_step(epoch, step)` (the checkpoint manager's hook). Its `state_dict` taken inside an
epoch holds where it is and the epoch's running sums; a trainer loaded from it resumes that epoch at the next step,
skipping the batches already consumed without loading them when the loader can (`skip_next`).
"""
from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from typing import Annotated, Any, Literal

import torch

from mlgym.errors import TrainingStopped
from mlgym.events.payloads import TrainingProgress
from mlgym.gym.alerts import alert_problems, parse_rules
from mlgym.gym.device import to_device
from mlgym.registry import component
from mlgym.registry.constraints import Positive

Precision = Literal[32, "32", "bf16-mixed", "16-mixed"]
AUTOCAST_DTYPES = {"32": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def batch_size(targets: Any) -> int:
    """Samples in a batch, from its targets: a tensor's first dimension, or that of a list's / dict's first item."""
    if isinstance(targets, torch.Tensor):
        return int(targets.shape[0]) if targets.ndim else 1
    if isinstance(targets, (list, tuple)) and targets:
        first = targets[0]
        return batch_size(first) if isinstance(first, (torch.Tensor, list, tuple, dict)) else len(targets)
    if isinstance(targets, dict) and targets:
        return batch_size(next(iter(targets.values())))
    return len(targets)


def groups_of(batches: Iterable[Any], k: int) -> Iterator[list[Any]]:
    """Consecutive groups of `k` batches; the last group may be shorter."""
    group: list[Any] = []
    for batch in batches:
        group.append(batch)
        if len(group) == k:
            yield group
            group = []
    if group:
        yield group


class _EpochMeter:
    """Running sums of one epoch, kept on the device (read only when reported)."""

    def __init__(self, device: torch.device) -> None:
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.samples = 0
        self.skipped = 0
        self.window_samples = 0
        self.window_start = time.perf_counter()

    def state_dict(self) -> dict[str, Any]:
        return {"loss_sum": float(self.loss_sum), "samples": self.samples, "skipped": self.skipped}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.loss_sum.fill_(state["loss_sum"])
        self.samples, self.skipped = int(state["samples"]), int(state["skipped"])

    def add(self, group_loss: torch.Tensor, samples: int) -> None:
        self.loss_sum += group_loss.detach().double() * samples
        self.samples += samples

    def mean(self) -> float | None:
        if self.samples == 0:
            return None
        value = float(self.loss_sum) / self.samples
        return value if math.isfinite(value) else None

    def throughput(self) -> float:
        now = time.perf_counter()
        rate = self.window_samples / max(now - self.window_start, 1e-9)
        self.window_samples, self.window_start = 0, now
        return rate


@component("trainer", "default")
class Trainer:
    """Trains `model` on `data_loaders[train_split]` with `optimizer` and `loss`; steps `lr_scheduler` per step or
    epoch (its `interval`); mixed `precision`, gradient accumulation, clipping, non-finite loss checks, alerts."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: Callable[..., Any],
                 data_loaders: Mapping[str, Any], lr_scheduler: Any = None, train_split: str = "train",
                 grad_clip_norm: Annotated[float, Positive] | None = None, precision: Precision = "32",
                 grad_accumulation_steps: Annotated[int, Positive] = 1,
                 log_every_n_steps: Annotated[int, Positive] = 50,
                 on_nan: Literal["fail", "skip_batch"] = "fail",
                 alerts: list[dict[str, Any]] | None = None) -> None:
        if train_split not in data_loaders:
            raise ValueError(f"train_split '{train_split}' is not among the data loaders' splits "
                             f"{list(data_loaders)}")
        if str(precision) not in AUTOCAST_DTYPES:
            raise ValueError(f"precision must be one of 32, bf16-mixed, 16-mixed; got {precision!r}")
        if grad_accumulation_steps < 1:
            raise ValueError(f"grad_accumulation_steps must be >= 1, got {grad_accumulation_steps}")
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.data_loaders = data_loaders
        self.lr_scheduler = lr_scheduler
        self.train_split = train_split
        self.grad_clip_norm = grad_clip_norm
        self.precision = str(precision)
        self.grad_accumulation_steps = grad_accumulation_steps
        self.log_every_n_steps = log_every_n_steps
        self.on_nan = on_nan
        self.alerts = parse_rules(alerts)
        self.global_step = 0
        self.scaler: Any = None
        self._device: torch.device | None = None
        self._in_epoch: tuple[int, int, _EpochMeter] | None = None  # (epoch, step, meter) while training
        self._resume: dict[str, Any] | None = None  # from a mid-epoch checkpoint, used by the next train_epoch

    @staticmethod
    def check_config(config: dict[str, Any]) -> list[tuple[str, str, str | None]]:
        """Alert rules are parsed when the config is validated: a malformed `when` fails `mlgym validate`."""
        return alert_problems(config.get("alerts"))

    # -- set-up ----------------------------------------------------------------------------------------------
    @property
    def loss_name(self) -> str:
        return getattr(self.loss, "name", None) or type(self.loss).__name__

    def steps_per_epoch(self) -> int | None:
        """Optimizer steps of one epoch: ceil(batches / grad_accumulation_steps); None when the loader has no len."""
        try:
            batches = len(self.data_loaders[self.train_split])
        except TypeError:
            return None
        return math.ceil(batches / self.grad_accumulation_steps)

    def prepare(self, device: torch.device, num_epochs: int | None = None) -> None:
        """Check the precision fits the device, make the fp16 grad scaler, bind a per-run LR schedule to the run's
        length. The job calls this before restoring a checkpoint; `train_epoch` calls it if nobody did."""
        if self._device is not None:
            return
        self._device = device
        if self.precision == "16-mixed":
            if device.type != "cuda":
                raise ValueError(f"precision 16-mixed needs a CUDA device (this job runs on {device.type}); use "
                                 f"bf16-mixed on a CPU")
            self.scaler = torch.amp.GradScaler("cuda")
        if hasattr(self.lr_scheduler, "bind"):
            self.lr_scheduler.bind(self.steps_per_epoch(), num_epochs)

    def _autocast(self, device: torch.device) -> Any:
        dtype = AUTOCAST_DTYPES[self.precision]
        return nullcontext() if dtype is None else torch.autocast(device_type=device.type, dtype=dtype)

    def _interval(self) -> str | None:
        if not self.lr_scheduler or not hasattr(self.lr_scheduler, "step"):
            return None
        return getattr(self.lr_scheduler, "interval", "epoch")

    # -- checkpoint state ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = {"global_step": self.global_step, "scaler": self.scaler.state_dict() if self.scaler else None}
        if self._in_epoch is not None:
            epoch, step, meter = self._in_epoch
            state["in_epoch"] = {"epoch": epoch, "step": step, "meter": meter.state_dict()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.global_step = int(state.get("global_step", 0))
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self._resume = state.get("in_epoch")

    # -- training --------------------------------------------------------------------------------------------
    def train_epoch(self, epoch: int, device: torch.device,
                    emit: Callable[[TrainingProgress], None] | None = None,
                    on_step: Callable[[int, int], None] | None = None) -> float | None:
        """Run one epoch (or its rest, after a mid-epoch checkpoint of it was loaded); returns the mean training
        loss over its (not skipped) samples, None if not finite."""
        self.prepare(device)
        if hasattr(self.data_loaders, "set_epoch"):
            self.data_loaders.set_epoch(epoch)
        self.model.train()
        num_steps = self.steps_per_epoch()
        interval = self._interval()
        meter = _EpochMeter(device)
        start = self._resume_step(epoch, meter)
        step, reported, lr = start, start, float(self.optimizer.param_groups[0]["lr"])
        try:
            for step, group in enumerate(groups_of(self._batches(start), self.grad_accumulation_steps),
                                         start=start + 1):
                lr = float(self.optimizer.param_groups[0]["lr"])
                samples = self._step(epoch, step, group, device, meter)
                meter.window_samples += samples
                self.global_step += 1
                if interval == "step":
                    self.lr_scheduler.step()
                if emit is not None and step % self.log_every_n_steps == 0:
                    emit(self._progress(epoch, step, num_steps, lr, meter, device))
                    reported = step
                if on_step is not None:
                    self._in_epoch = (epoch, step, meter)
                    on_step(epoch, step)
        finally:
            self._in_epoch = None
        if emit is not None and step and reported != step:
            emit(self._progress(epoch, step, num_steps or step, lr, meter, device))
        if interval == "epoch":
            self.lr_scheduler.step()
        return meter.mean()

    def _resume_step(self, epoch: int, meter: _EpochMeter) -> int:
        """Optimizer steps of `epoch` already done by the run a mid-epoch checkpoint came from (0: start afresh)."""
        resume, self._resume = self._resume, None
        if resume is None or resume["epoch"] != epoch:
            return 0
        meter.load_state_dict(resume["meter"])
        return int(resume["step"])

    def _batches(self, start_step: int) -> Iterable[Any]:
        """The train split's batches, after the first `start_step` optimizer steps' worth."""
        loader = self.data_loaders[self.train_split]
        skip = start_step * self.grad_accumulation_steps
        if skip == 0:
            return loader
        if hasattr(loader, "skip_next"):
            loader.skip_next(skip)  # the sampler skips them: nothing is loaded
            return loader
        return itertools.islice(loader, skip, None)  # any other iterable: load and drop them

    def _step(self, epoch: int, step: int, group: list[Any], device: torch.device, meter: _EpochMeter) -> int:
        """One optimizer step over a group of micro-batches; returns its samples."""
        group = [(to_device(x, device), to_device(y, device)) for x, y in group]
        sizes = [batch_size(y) for _, y in group]
        total = sum(sizes)
        self.optimizer.zero_grad(set_to_none=True)
        group_loss: Any = 0.0
        for (inputs, targets), size in zip(group, sizes):
            with self._autocast(device):
                loss = self.loss(self.model(inputs), targets)
            loss = loss.to(torch.promote_types(loss.dtype, torch.float32))  # a bf16 / fp16 loss summed in fp32
            weighted = loss * (size / total)  # summed over the group: the mean loss of its samples
            (self.scaler.scale(weighted) if self.scaler else weighted).backward()
            group_loss = group_loss + weighted.detach()
        if not bool(torch.isfinite(group_loss)):
            if self.on_nan != "skip_batch":
                raise TrainingStopped(f"non-finite loss at epoch {epoch} step {step} (loss {float(group_loss)}); "
                                      f"lower the learning rate, clip gradients (grad_clip_norm), or skip such "
                                      f"batches (on_nan: skip_batch)")
            self.optimizer.zero_grad(set_to_none=True)
            meter.skipped += 1
            return total
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.grad_clip_norm:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        meter.add(group_loss, total)
        return total

    def _progress(self, epoch: int, step: int, num_steps: int | None, lr: float, meter: _EpochMeter,
                  device: torch.device) -> TrainingProgress:
        memory = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
        return TrainingProgress(epoch=epoch, step=step, num_steps=num_steps, global_step=self.global_step,
                                loss=meter.mean(), lr=lr, samples_per_s=meter.throughput(),
                                max_memory_allocated=memory, skipped_steps=meter.skipped)
