"""Standardisation is fitted on the training rows only: of the split, and of every fold (CV and nested CV)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from mlgym.components.data_loaders import default_data_loaders
from mlgym.components.datasets import sklearn_dataset
from mlgym.components.scaling import Standardizer
from mlgym.components.splits import random_split
from mlgym.gym.job import build_graph
from mlgym.validation.experiment_plan import resolve_grid_search
from mlgym.validation.plan import RunSettings, cross_validation_plan, dataset_targets, nested_cv_plan
from mlgym.validation.settings import ValidationSettings
from tests.conftest import CONFIGS


def _stats(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return rows.mean(axis=0), rows.std(axis=0)


def test_fit_in_chunks_equals_numpy_and_constant_columns_are_only_centred() -> None:
    x = np.random.default_rng(0).normal(5, 3, size=(1000, 4))
    x[:, 2] = 7.0
    scaler = Standardizer.fit(torch.as_tensor(x[i:i + 97]) for i in range(0, 1000, 97))
    mean, std = _stats(x)
    assert np.allclose(scaler.mean.numpy(), mean, atol=1e-12) and np.allclose(scaler.std.numpy(), std, atol=1e-12)
    scaled = scaler(torch.as_tensor(x, dtype=torch.float32))
    assert scaled.dtype == torch.float32 and torch.all(scaled[:, 2] == 0)
    assert np.allclose(scaled[:, [0, 1, 3]].numpy().std(axis=0), 1, atol=1e-5)


def test_loaders_fit_on_the_training_rows_only_and_apply_to_every_split() -> None:
    dataset = sklearn_dataset("wine")
    splits = random_split(dataset, ratios={"train": 0.6, "val": 0.4}, seed=0)
    loaders = default_data_loaders(splits, batch_size=16, standardize=True)
    raw = dataset.features.double().numpy()
    mean, std = _stats(raw[splits["train"].indices])
    assert np.allclose(loaders.scaler.mean.numpy(), mean, atol=1e-9)
    assert np.allclose(loaders.scaler.std.numpy(), std, atol=1e-9)
    assert not np.allclose(loaders.scaler.mean.numpy(), raw.mean(axis=0), atol=1e-3)  # not the whole table
    val = torch.cat([x for x, _ in loaders["val"]])
    expected = (raw[splits["val"].indices] - mean) / std
    assert np.allclose(val.numpy(), expected, atol=1e-5)


def test_fit_split_must_exist() -> None:
    splits = random_split(sklearn_dataset("iris"), ratios={"train": 0.6, "val": 0.4}, seed=0)
    with pytest.raises(ValueError, match=r"fit_split 'training' is not among the splits \['train', 'val'\]"):
        default_data_loaders(splits, standardize=True, fit_split="training")


@pytest.mark.parametrize("strategy", ["cross_validation", "nested_cv"])
def test_every_fold_fits_its_own_scaler_on_its_training_rows(strategy: str) -> None:
    resolved = resolve_grid_search(CONFIGS / "iris_mlp.yml")  # data_loaders: standardize: true
    targets = dataset_targets(resolved.nodes[0])
    run = RunSettings("gs-test", "/tmp/unused", num_epochs=1, seed=0)
    if strategy == "cross_validation":
        plan = cross_validation_plan(resolved.grid[:1], run, ValidationSettings(strategy, num_folds=3), targets)
        specs = list(plan.specs.values())
    else:
        settings = ValidationSettings(strategy, num_outer_loop_folds=2, num_inner_loop_folds=2)
        plan = nested_cv_plan(resolved.grid[:1], run, settings, targets)
        specs = [s for s in plan.specs.values() if s.role == "inner"]
        # a refit trains on the outer-train part and is tested on the outer-test part
        specs += [replace(specs[0], split_indices=job.prepare.split_indices) for job in plan.jobs if job.prepare]
    raw = sklearn_dataset("iris").features.double().numpy()
    means = []
    for spec in specs:
        scaler = build_graph(spec).first_of_kind("data_loader").scaler
        mean, std = _stats(raw[spec.split_indices["train"]])
        assert np.allclose(scaler.mean.numpy(), mean, atol=1e-9) and np.allclose(scaler.std.numpy(), std, atol=1e-9)
        assert scaler.count == len(spec.split_indices["train"])
        means.append(scaler.mean)
    assert len(specs) >= 3 and len({tuple(m.tolist()) for m in means}) == len(specs)  # one fit per fold
