"""The default trainer in process: gradient accumulation, per-step LR schedules, checkpointed schedule state,
skipped non-finite batches, mixed precision on the CPU."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from mlgym.components.losses import CrossEntropy
from mlgym.components.lr_schedulers import (linear_scheduler, one_cycle_scheduler, warmup_cosine_factor,
                                            warmup_cosine_scheduler)
from mlgym.errors import TrainingStopped
from mlgym.gym.job import ExperimentRun
from mlgym.gym.spec import ExperimentSpec
from mlgym.gym.trainer import Trainer
from tests.conftest import CONFIGS


def _data(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=g), torch.randint(0, 3, (n,), generator=g)


def _batches(x: torch.Tensor, y: torch.Tensor, size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()


def _trainer(batches: list, optimizer: str = "sgd", **config: Any) -> Trainer:
    model = _model()
    opt = (torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9) if optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=0.01))
    return Trainer(model, opt, CrossEntropy(), {"train": batches}, **config)


def _params(trainer: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.model.parameters()]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("case", [
    pytest.param((4, 2, 16), id="full_groups"),  # micro-batches of 4, 2 per step vs batches of 8
    pytest.param((4, 3, 19), id="partial_last_group"),  # groups of 12 samples; the last one holds 7 (4 + 3)
])
def test_accumulated_micro_batches_update_like_one_big_batch(optimizer: str, case: tuple) -> None:
    micro, k, n = case
    x, y = _data(n)
    x = x.double()
    accumulated = _trainer(_batches(x, y, micro), optimizer, grad_accumulation_steps=k)
    big = _trainer(_batches(x, y, micro * k), optimizer)
    assert accumulated.steps_per_epoch() == big.steps_per_epoch() == math.ceil(n / (micro * k))
    loss_acc = accumulated.train_epoch(1, torch.device("cpu"))
    loss_big = big.train_epoch(1, torch.device("cpu"))
    assert loss_acc == pytest.approx(loss_big, rel=1e-12)
    for a, b in zip(_params(accumulated), _params(big)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert accumulated.global_step == big.global_step == math.ceil(n / (micro * k))


def _lrs(trainer: Trainer, epochs: int) -> list[tuple[int, int, float]]:
    seen = []
    for epoch in range(1, epochs + 1):
        trainer.train_epoch(epoch, torch.device("cpu"), emit=lambda p: seen.append((p.epoch, p.step, p.lr)))
    return seen


def test_warmup_cosine_steps_every_optimizer_step_over_the_whole_run() -> None:
    x, y = _data(40)
    trainer = _trainer(_batches(x.double(), y, 8), log_every_n_steps=1)  # 5 steps per epoch
    trainer.lr_scheduler = warmup_cosine_scheduler(trainer.optimizer, warmup_steps=3, min_lr_ratio=0.1)
    trainer.prepare(torch.device("cpu"), num_epochs=3)
    assert trainer.lr_scheduler.total == 15
    seen = _lrs(trainer, 3)
    assert [(e, s) for e, s, _ in seen] == [(e, s) for e in (1, 2, 3) for s in range(1, 6)]
    expected = [0.5 * warmup_cosine_factor(t, 3, 15, 0.1) for t in range(15)]
    assert [lr for *_, lr in seen] == pytest.approx(expected, rel=1e-12)
    assert expected[:4] == pytest.approx([0.0, 0.5 / 3, 1.0 / 3, 0.5])
    assert expected[-1] == pytest.approx(0.05 + 0.45 * 0.5 * (1 + math.cos(math.pi * 11 / 12)))


def test_linear_and_one_cycle_per_step_and_a_per_epoch_schedule() -> None:
    x, y = _data(24)
    linear = _trainer(_batches(x.double(), y, 8), log_every_n_steps=1)  # 3 steps per epoch
    linear.lr_scheduler = linear_scheduler(linear.optimizer, warmup_steps=2)
    linear.prepare(torch.device("cpu"), num_epochs=2)
    assert [lr for *_, lr in _lrs(linear, 2)] == pytest.approx([0, 0.25, 0.5, 0.375, 0.25, 0.125])
    cycle = _trainer(_batches(x.double(), y, 8), log_every_n_steps=1)
    cycle.lr_scheduler = one_cycle_scheduler(cycle.optimizer, max_lr=1.0, pct_start=0.5, anneal_strategy="linear",
                                             div_factor=10, final_div_factor=1)
    cycle.prepare(torch.device("cpu"), num_epochs=2)
    lrs = [lr for *_, lr in _lrs(cycle, 2)]  # 6 steps: up 0.1 -> 1.0 over 2.5 steps, down to 0.1 at step 6
    assert lrs[0] == pytest.approx(0.1) and max(lrs) == pytest.approx(1.0, abs=0.2) and len(lrs) == 6
    per_epoch = _trainer(_batches(x.double(), y, 8), log_every_n_steps=1)
    per_epoch.lr_scheduler = warmup_cosine_scheduler(per_epoch.optimizer, warmup_steps=1, interval="epoch")
    per_epoch.prepare(torch.device("cpu"), num_epochs=3)
    assert [lr for *_, lr in _lrs(per_epoch, 3)] == pytest.approx([0.0] * 3 + [0.5] * 3 + [0.25] * 3)


def test_skip_batch_skips_the_non_finite_update_and_counts_it() -> None:
    x, y = _data(24)
    x = x.double()
    poisoned = x.clone()
    poisoned[9] = math.nan  # in the second batch of 8
    reports = []
    skipping = _trainer(_batches(poisoned, y, 8), on_nan="skip_batch", log_every_n_steps=1)
    loss = skipping.train_epoch(1, torch.device("cpu"), emit=reports.append)
    assert [r.skipped_steps for r in reports] == [0, 1, 1]
    assert all(r.loss is not None and math.isfinite(r.loss) for r in reports) and math.isfinite(loss)
    clean = _trainer([_batches(x, y, 8)[0], _batches(x, y, 8)[2]])  # the same two updates, without the bad batch
    clean.train_epoch(1, torch.device("cpu"))
    for a, b in zip(_params(skipping), _params(clean)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    failing = _trainer(_batches(poisoned, y, 8))
    with pytest.raises(TrainingStopped, match=r"^non-finite loss at epoch 1 step 2 \(loss nan\)"):
        failing.train_epoch(1, torch.device("cpu"))


def test_bf16_autocast_trains_on_cpu_and_fp16_needs_cuda() -> None:
    x, y = _data(32)
    trainer = _trainer(_batches(x.float(), y, 8), precision="bf16-mixed")
    trainer.model.float()
    trainer.optimizer = torch.optim.SGD(trainer.model.parameters(), lr=0.1)
    dtypes = []
    trainer.model[0].register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
    losses = [trainer.train_epoch(e, torch.device("cpu")) for e in (1, 2, 3)]
    assert set(dtypes) == {torch.bfloat16} and losses[-1] < losses[0]
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    fp16 = _trainer(_batches(x, y, 8), precision="16-mixed")
    with pytest.raises(ValueError, match="precision 16-mixed needs a CUDA device .* use bf16-mixed on a CPU"):
        fp16.prepare(torch.device("cpu"))


class _Context:
    device = "cpu"

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def emit(self, event_type: str, payload: Any, experiment_id: str) -> None:
        self.events.append((event_type, payload))


def _spec(run_dir: Path, num_epochs: int) -> ExperimentSpec:
    config = yaml.safe_load((CONFIGS / "iris_mlp.yml").read_text())
    config["optimizer"]["config"]["lr"] = 0.05
    config["lr_scheduler"] = {"component_type_key": "lr_scheduler", "variant_key": "warmup_cosine",
                              "requirements": [{"name": "optimizer", "component_name": "optimizer"}],
                              "config": {"warmup_steps": 4, "total": 24}}
    config["trainer"]["requirements"].append({"name": "lr_scheduler", "component_name": "lr_scheduler"})
    config["trainer"]["config"] = {"log_every_n_steps": 1}
    return ExperimentSpec(grid_search_id="gs", experiment_id="e", grid_point_id="e", config=config,
                          hyperparameters={}, num_epochs=num_epochs, seed=0, run_dir=str(run_dir))


def _progress(context: _Context) -> list[tuple[int, int, float, float]]:
    return [(p.global_step, p.epoch, p.lr, p.loss) for t, p in context.events if t == "training_progress"]


def test_per_step_schedule_resumes_from_a_checkpoint_bit_identical(tmp_path: Path) -> None:
    straight = _Context()
    whole = ExperimentRun(_spec(tmp_path / "straight", 4), straight)
    whole.run()
    first, resumed = _Context(), _Context()
    ExperimentRun(_spec(tmp_path / "resumed", 2), first).run()
    again = ExperimentRun(_spec(tmp_path / "resumed", 4), resumed)
    again.run()
    assert any(t == "checkpoint" and p.action == "restored" for t, p in resumed.events)
    assert _progress(first) + _progress(resumed) == _progress(straight)  # lr and loss of every step, exactly
    assert len(_progress(straight)) == 4 * 6 and again.trainer.global_step == 24
    assert again.trainer.lr_scheduler.state_dict()["last_epoch"] == 24
    for a, b in zip(whole.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
