"""The Optuna searcher: sweeps as Optuna distributions, the same trials for the same seed, and a study rebuilt
from logged params asks what the first one would have asked next."""
from __future__ import annotations

import pytest

from mlgym.config.distributions import IntRange, Uniform, Values
from mlgym.search.optuna_search import OptunaSearcher

CONFIG = {"opt": {"lr": 0}, "layers": 0, "hidden": 0, "act": 0}
SWEEPS = {"opt.lr": Uniform(1e-4, 1e-1, log=True), "layers": IntRange(1, 4), "hidden": Values(([16], [32, 16])),
          "act": Values(("relu", "tanh"))}


def score(params: dict) -> float:
    return -abs(params["opt.lr"] - 0.01) - 0.001 * params["layers"]


def run(n: int, sampler: str = "tpe", logged: list[dict] | None = None) -> list[dict]:
    searcher = OptunaSearcher(CONFIG, SWEEPS, sampler, 7, "max")
    out = []
    for trial in range(n):
        params = logged[trial] if logged and trial < len(logged) else None
        point = searcher.suggest(trial, params)
        assert point is not None
        out.append(point.hyperparameters)
        searcher.finish(trial, "complete", score(point.hyperparameters))
    return out


@pytest.mark.parametrize("sampler", ["tpe", "cmaes", "qmc"])
def test_same_seed_same_trials_with_values_in_their_sweeps(sampler: str) -> None:
    first = run(12, sampler)
    assert first == run(12, sampler)
    assert len({str(p) for p in first}) == 12
    for p in first:
        assert 1e-4 <= p["opt.lr"] <= 1e-1 and p["layers"] in (1, 2, 3, 4)
        assert p["hidden"] in ([16], [32, 16]) and p["act"] in ("relu", "tanh")


def test_tpe_learns_after_its_startup_trials() -> None:
    trials = run(30)
    best_late = max(score(p) for p in trials[20:])
    assert best_late > sorted(score(p) for p in trials[:10])[-3]  # TPE finds better than most random starts


def test_a_study_rebuilt_from_logged_params_asks_the_same_next() -> None:
    whole = run(14)
    assert run(14, logged=whole[:11]) == whole
