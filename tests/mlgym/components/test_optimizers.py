"""Optimizers by variant and by torch.optim class name; learning-rate schedulers."""
from __future__ import annotations

import pytest
import torch

from mlgym.components.lr_schedulers import cosine_scheduler, no_scheduler, step_scheduler
from mlgym.components.optimizers import adam, adamw, sgd, torch_optimizer


@pytest.fixture
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


def test_variants_build_torch_optimizers(model) -> None:
    assert isinstance(sgd(model, lr=0.1, momentum=0.9, nesterov=True), torch.optim.SGD)
    opt = adam(model, lr=0.01, betas=[0.8, 0.99])
    assert isinstance(opt, torch.optim.Adam) and opt.param_groups[0]["betas"] == (0.8, 0.99)
    assert isinstance(adamw(model), torch.optim.AdamW)


@pytest.mark.parametrize("name, cls", [("RMSprop", torch.optim.RMSprop), ("adagrad", torch.optim.Adagrad),
                                       ("NAdam", torch.optim.NAdam)])
def test_torch_optimizer_by_name(model, name, cls) -> None:
    opt = torch_optimizer(model, name=name, lr=0.05)
    assert type(opt) is cls and opt.param_groups[0]["lr"] == 0.05


def test_torch_optimizer_passes_lists_as_tuples(model) -> None:
    opt = torch_optimizer(model, name="Adamax", lr=0.01, betas=[0.5, 0.6])
    assert opt.param_groups[0]["betas"] == (0.5, 0.6)


def test_an_optimizer_step_changes_the_weights(model) -> None:
    opt = torch_optimizer(model, name="SGD", lr=0.5)
    before = model.weight.detach().clone()
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    assert not torch.equal(before, model.weight)


def test_unknown_name_suggests_the_nearest(model) -> None:
    with pytest.raises(ValueError, match="torch.optim has no optimizer 'RMSProb'; did you mean 'RMSprop'"):
        torch_optimizer(model, name="RMSProb", lr=0.1)


def test_bad_kwargs_name_the_accepted_ones(model) -> None:
    with pytest.raises(ValueError, match=r"torch.optim.RMSprop does not accept \['beta'\]; accepted: lr, alpha, eps"):
        torch_optimizer(model, name="RMSprop", lr=0.1, beta=0.9)


@pytest.mark.parametrize("make", [lambda m: sgd(m, lr=0), lambda m: adam(m, lr=-1.0),
                                  lambda m: torch_optimizer(m, name="SGD", lr=0.0)], ids=["sgd", "adam", "torch"])
def test_lr_must_be_positive(model, make) -> None:
    with pytest.raises(ValueError, match="lr must be > 0"):
        make(model)


def test_step_and_cosine_schedules(model) -> None:
    opt = sgd(model, lr=1.0)
    sched = step_scheduler(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(4):
        opt.step()  # no gradients: changes nothing, but keeps torch's step-order check quiet
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 0.5, 0.5, 0.25]
    opt = sgd(model, lr=1.0)
    sched = cosine_scheduler(opt, t_max=2, eta_min=0.1)
    for _ in range(2):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    restored = cosine_scheduler(sgd(model, lr=1.0), t_max=2, eta_min=0.1)
    restored.load_state_dict(sched.state_dict())
    assert restored.scheduler.last_epoch == 2


def test_no_scheduler_is_a_falsy_no_op(model) -> None:
    opt = sgd(model, lr=1.0)
    sched = no_scheduler(opt)
    sched.step()
    sched.load_state_dict(sched.state_dict())
    assert opt.param_groups[0]["lr"] == 1.0 and not sched


@pytest.mark.parametrize("make, message", [
    pytest.param(lambda o: step_scheduler(o, step_size=0), "step_size must be > 0, got 0", id="step_size"),
    pytest.param(lambda o: cosine_scheduler(o, t_max=0), "t_max must be > 0, got 0", id="t_max"),
])
def test_bad_schedule_arguments(model, make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make(sgd(model, lr=1.0))
