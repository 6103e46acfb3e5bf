"""Random search: seeded trials (the same for the same seed), drawn per trial in document order, never a repeated
config, planned by every validation strategy like grid points, and rebuilt identically from the log."""
from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest

from mlgym.config import find_sweeps, load_config
from mlgym.config.loader import SourceMap
from mlgym.config.sweep import resolve_point
from mlgym.errors import ConfigError
from mlgym.search import SearchSettings, search_from_log, trial_points
from mlgym.search.random_search import distinct_configs, random_points
from mlgym.validation.experiment_plan import resolve_grid_search, resolve_points
from mlgym.validation.plan import RunSettings, build_plan
from mlgym.validation.settings import ValidationSettings
from tests.conftest import CONFIGS

SPACE = ("opt:\n  config:\n"
         "    lr: {sweep: loguniform, low: 1e-5, high: 1e-1}\n"
         "    layers: {sweep: int, low: 1, high: 4}\n"
         "    act: {sweep: choice, values: [relu, gelu, tanh]}\n"
         "    dropout: 0.1\n")


def space(tmp_path: Path, text: str = SPACE):
    path = tmp_path / "gs.yml"
    path.write_text(text)
    return load_config(path)


def random(num_samples: int, seed: int = 0) -> SearchSettings:
    return SearchSettings("random", num_samples, seed)


def test_the_same_seed_gives_the_same_trials(tmp_path: Path) -> None:
    config, source = space(tmp_path)
    first = trial_points(config, source, random(8, seed=3))
    again = trial_points(config, source, random(8, seed=3))
    assert first == again and len({p.grid_point_id for p in first}) == 8
    other = trial_points(config, source, random(8, seed=4))
    assert [p.hyperparameters for p in other] != [p.hyperparameters for p in first]


def test_more_samples_keep_the_first_trials(tmp_path: Path) -> None:
    config, source = space(tmp_path)
    assert trial_points(config, source, random(12))[:5] == trial_points(config, source, random(5))


def test_trial_k_draws_with_its_own_generator_in_document_order(tmp_path: Path) -> None:
    config, source = space(tmp_path)
    points = trial_points(config, source, random(3, seed=11))
    for k, point in enumerate(points):
        rng = np.random.default_rng([11, k])
        lr = float(np.exp(rng.uniform(np.log(1e-5), np.log(1e-1))))
        layers = int(rng.integers(1, 4, endpoint=True))
        act = ["relu", "gelu", "tanh"][int(rng.integers(3))]
        assert point.hyperparameters == {"opt.config.lr": pytest.approx(lr, rel=1e-15), "opt.config.layers": layers,
                                         "opt.config.act": act}
        assert list(point.hyperparameters) == ["opt.config.lr", "opt.config.layers", "opt.config.act"]
        assert point.config["opt"]["config"] == {"lr": point.hyperparameters["opt.config.lr"], "layers": layers,
                                                 "act": act, "dropout": 0.1}
        assert point == resolve_point(config, point.hyperparameters)
        assert type(point.hyperparameters["opt.config.layers"]) is int


def test_a_repeated_draw_is_drawn_again_so_every_trial_is_a_different_config(tmp_path: Path) -> None:
    config, source = space(tmp_path, "opt:\n  config:\n    act: {sweep: choice, values: [relu, gelu, tanh]}\n"
                                     "    bias: {sweep: absolute, values: [true, false]}\n")
    points = trial_points(config, source, random(6))
    assert len({p.grid_point_id for p in points}) == 6, "all six configs of the space, each once"
    assert sorted(tuple(p.hyperparameters.values()) for p in points) == sorted(
        (a, b) for a in ("relu", "gelu", "tanh") for b in (True, False))


# (case id, config text, num_samples, exact error)
TOO_FEW = [
    ("finite_space_smaller_than_num_samples",
     "opt:\n  config:\n    act: {sweep: choice, values: [relu, gelu, relu]}\n    n: {sweep: range, start: 1, stop: 3, "
     "step: 1}\n", 5,
     "at 'search.num_samples': num_samples is 5, but the sweeps (opt.config.act, opt.config.n) make only 4 "
     "different configs\n  hint: lower num_samples to 4 or less, run them all with searcher: grid, or sweep a "
     "continuous distribution (uniform, loguniform)"),
    ("no_sweeps", "opt:\n  config:\n    lr: 0.1\n", 2,
     "at 'search.num_samples': num_samples is 2, but the config has no sweeps, so there is only 1 config\n  hint: "
     "lower num_samples to 1 or less, run them all with searcher: grid, or sweep a continuous distribution "
     "(uniform, loguniform)"),
]


@pytest.mark.parametrize("text, num_samples, message", [c[1:] for c in TOO_FEW], ids=[c[0] for c in TOO_FEW])
def test_more_samples_than_configs_is_refused(tmp_path: Path, text: str, num_samples: int, message: str) -> None:
    config, source = space(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        trial_points(config, source, random(num_samples))
    assert str(e.value) == message


def test_as_many_samples_as_configs_draws_each_once(tmp_path: Path) -> None:
    config, source = space(tmp_path, "opt:\n  config:\n    n: {sweep: int, low: 1, high: 40}\n")
    assert distinct_configs(find_sweeps(config, source)) == 40
    points = random_points(config, find_sweeps(config, source), random(40))
    assert sorted(p.hyperparameters["opt.config.n"] for p in points) == list(range(1, 41))


def test_a_config_without_sweeps_is_one_trial(tmp_path: Path) -> None:
    config, source = space(tmp_path, "opt:\n  config:\n    lr: 0.1\n")
    (point,) = trial_points(config, source, random(1))
    assert point.hyperparameters == {} and point.config == config


RANDOM_LR = ["-c", "optimizer.config.lr={sweep: loguniform, low: 1e-4, high: 1e-1}",
             "-c", "model.config.hidden_dims={sweep: choice, values: [[8], [16], [16, 16]]}"]
RUN = RunSettings("gs-test", "/tmp/unused", num_epochs=1, seed=0)


def resolved_iris(search: SearchSettings):
    return resolve_grid_search(CONFIGS / "iris_mlp.yml", RANDOM_LR[1::2], search)


@pytest.mark.parametrize("strategy, jobs", [("grid_search", 4), ("cross_validation", 4 * 3),
                                            ("nested_cv", 2 * (4 * 2 + 1))])
def test_every_strategy_plans_the_trials(strategy: str, jobs: int) -> None:
    resolved = resolved_iris(random(4, seed=1))
    settings = ValidationSettings(strategy, num_folds=3, num_outer_loop_folds=2, num_inner_loop_folds=2)
    plan = build_plan(resolved, settings, RUN)
    again = build_plan(resolved_iris(random(4, seed=1)), settings, RUN)
    assert len(plan.jobs) == jobs
    assert [j.job_id for j in plan.jobs] == [j.job_id for j in again.jobs]
    ids = [p.grid_point_id for p in resolved.grid]
    assert {spec.grid_point_id for spec in plan.specs.values()} == set(ids)
    assert all(spec.hyperparameters == next(p for p in resolved.grid if p.grid_point_id == spec.grid_point_id)
               .hyperparameters for spec in plan.specs.values())


def test_warm_start_rebuilds_the_same_trials_from_the_logged_settings() -> None:
    """What warm start does: the logged config (overrides applied) and the logged search give the same points."""
    resolved = resolved_iris(random(5, seed=2))
    logged = msgspec.json.decode(msgspec.json.encode(resolved.search.to_payload()))
    rebuilt = resolve_points(resolved.gs_config_path, resolved.gs_config, resolved.gs_config_sha256, SourceMap(),
                             search_from_log(logged))
    assert rebuilt.grid == resolved.grid and rebuilt.sweep_paths == resolved.sweep_paths
    assert rebuilt.search == resolved.search


def test_trials_are_checked_like_grid_points() -> None:
    """A drawn value the component refuses is a config error at the sweep's line, before anything runs."""
    with pytest.raises(ConfigError) as e:
        resolve_grid_search(CONFIGS / "iris_mlp.yml",
                            ["data_loaders.config.batch_size={sweep: uniform, low: 4, high: 64}"], random(2))
    assert str(e.value).startswith("command-line override '-c data_loaders.config.batch_size={sweep: uniform, low: "
                                   "4, high: 64}': at 'data_loaders.config.batch_size': data_loader/default: "
                                   "argument 'batch_size': expected an integer")
