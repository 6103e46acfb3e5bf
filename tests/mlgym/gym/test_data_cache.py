"""A worker's data cache: jobs built from the same dataset/splitter config share one build; scores do not change."""
from __future__ import annotations

import pytest
import torch

from mlgym.gym.data_cache import DataCache
from mlgym.gym.job import ExperimentRun, build_graph
from mlgym.registry import component
from mlgym.scheduler.task import TaskContext
from mlgym.validation.experiment_plan import resolve_grid_search
from mlgym.validation.plan import RunSettings, grid_search_plan
from tests.conftest import CONFIGS


@component("dataset", "test_random_rows")
def random_rows(n: int = 60) -> torch.utils.data.TensorDataset:
    """A dataset drawn from torch's global generator: building it changes the job's random state."""
    x = torch.randn(n, 4)
    return torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long())


def _specs(*overrides: str):
    resolved = resolve_grid_search(CONFIGS / "iris_mlp.yml", list(overrides))
    plan = grid_search_plan(resolved.grid, RunSettings("gs-cache", "/tmp/unused", num_epochs=2, seed=0))
    return list(plan.specs.values())


@pytest.fixture(autouse=True)
def imported() -> None:
    """The first build imports scikit-learn's modules, and an import may draw from Python's generator, so that
    build is not kept; pool workers import them before any job (the forkserver's preload)."""
    build_graph(_specs()[0], None).first_of_kind("splitter")


def test_jobs_of_a_grid_over_lr_share_the_dataset_and_splits_built_once() -> None:
    specs = _specs()
    cache = DataCache()
    graphs = [build_graph(spec, cache) for spec in specs]
    datasets = [g.first_of_kind("dataset") for g in graphs]
    splits = [g.first_of_kind("splitter") for g in graphs]
    assert len(specs) >= 2
    assert all(d is datasets[0] for d in datasets) and all(s is splits[0] for s in splits)
    assert (cache.misses, cache.hits, len(cache)) == (2, 2 * (len(specs) - 1), 2)
    loaders = [g.first_of_kind("data_loader") for g in graphs]
    assert len({id(loader) for loader in loaders}) == len(specs)  # fitted per job, never shared


def test_a_different_split_config_is_a_different_entry_and_the_dataset_is_still_shared() -> None:
    spec = _specs()[0]
    other = type(spec)(**{**spec.__dict__, "config": {**spec.config, "splits": {
        **spec.config["splits"], "config": {**spec.config["splits"]["config"], "seed": 1}}}})
    cache = DataCache()
    first, second = build_graph(spec, cache), build_graph(other, cache)
    assert first.first_of_kind("dataset") is second.first_of_kind("dataset")
    assert first.first_of_kind("splitter") is not second.first_of_kind("splitter")
    assert first.first_of_kind("splitter")["train"].indices != second.first_of_kind("splitter")["train"].indices


def test_a_build_that_draws_from_the_global_generator_is_not_kept() -> None:
    spec = _specs()[0]
    config = {**spec.config, "dataset": {"component_type_key": "dataset", "variant_key": "test_random_rows"},
              "splits": {**spec.config["splits"], "variant_key": "random"}}
    spec = type(spec)(**{**spec.__dict__, "config": config})
    cache = DataCache()
    torch.manual_seed(0)
    first = build_graph(spec, cache).first_of_kind("dataset")
    after_first = torch.get_rng_state()
    torch.manual_seed(0)
    second = build_graph(spec, cache).first_of_kind("dataset")
    assert first is not second and len(cache) == 0  # the splitter above it is not kept either: its input differs
    assert torch.equal(torch.get_rng_state(), after_first)  # the job's generator moved on exactly as without cache


def test_scores_are_bit_identical_with_and_without_the_cache() -> None:
    specs = _specs()
    cache = DataCache()
    context = TaskContext(device="cpu", worker_index=0, attempt=0, emit=lambda *a, **k: None)

    cached = [ExperimentRun(spec, context, cache).run()["history"] for spec in specs]
    fresh = [ExperimentRun(spec, context, DataCache(max_entries=0)).run()["history"] for spec in specs]
    assert cache.hits > 0 and cached == fresh
