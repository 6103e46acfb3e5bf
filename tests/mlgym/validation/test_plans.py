"""Cross-validation and nested CV plans: job counts, fold disjointness, selection only on inner-fold data."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mlgym.scheduler.task import TaskResult
from mlgym.validation.experiment_plan import resolve_grid_search
from mlgym.validation.plan import RunSettings, cross_validation_plan, dataset_targets, nested_cv_plan
from mlgym.validation.settings import Selection, ValidationSettings
from tests.conftest import CONFIGS

RUN = RunSettings("gs-test", "/tmp/unused", num_epochs=1, seed=0)


def resolved():
    return resolve_grid_search(CONFIGS / "iris_mlp.yml")


def test_cross_validation_plan_has_grid_times_folds_disjoint_jobs() -> None:
    r = resolved()
    targets = dataset_targets(r.grid[0].config)
    plan = cross_validation_plan(r.grid, RUN, ValidationSettings("cross_validation", num_folds=3), targets)
    assert len(plan.jobs) == len(r.grid) * 3
    for spec in plan.specs.values():
        train, val = set(spec.split_indices["train"]), set(spec.split_indices["val"])
        assert not train & val and len(train | val) == len(targets)
    held_out = [spec.split_indices["val"] for spec in plan.specs.values() if spec.grid_point_id == r.grid[0].grid_point_id]
    assert sorted(i for fold in held_out for i in fold) == list(range(len(targets)))


def test_nested_cv_job_graph_and_inner_folds_see_only_outer_train() -> None:
    r = resolved()
    targets = dataset_targets(r.grid[0].config)
    settings = ValidationSettings("nested_cv", num_outer_loop_folds=3, num_inner_loop_folds=2)
    plan = nested_cv_plan(r.grid, RUN, settings, targets)
    assert len(plan.jobs) == 3 * (len(r.grid) * 2 + 1)
    refits = [t for t in plan.jobs if t.prepare is not None]
    assert [t.job_id for t in refits] == ["refit.o0", "refit.o1", "refit.o2"]
    for o, refit in enumerate(refits):
        assert len(refit.depends_on) == len(r.grid) * 2
        outer_train = set(refit.prepare.split_indices["train"])
        outer_test = set(refit.prepare.split_indices["test"])
        assert not outer_train & outer_test
        for eid in refit.depends_on:
            spec = plan.specs[eid]
            assert spec.fold["outer"] == o
            inner = set(spec.split_indices["train"]) | set(spec.split_indices["val"])
            assert inner == outer_train, "inner folds must partition exactly the outer training part"
            assert not inner & outer_test


def test_refit_picks_the_grid_point_with_the_best_inner_mean() -> None:
    r = resolved()
    targets = dataset_targets(r.grid[0].config)
    settings = ValidationSettings("nested_cv", num_outer_loop_folds=2, num_inner_loop_folds=2,
                                  selection=Selection("val", "accuracy", "max"))
    plan = nested_cv_plan(r.grid, RUN, settings, targets)
    refit = next(t for t in plan.jobs if t.job_id == "refit.o0")
    good, bad = r.grid[1].grid_point_id, r.grid[0].grid_point_id
    results = {}
    for eid in refit.depends_on:
        score = 0.9 if eid.startswith(good) else 0.5
        results[eid] = TaskResult(eid, True, {"history": {1: {"val/accuracy": score, "val/cross_entropy": 0.1}}})
    spec = refit.prepare(results)
    assert spec.grid_point_id == good and spec.role == "refit"
    assert spec.split_indices == refit.prepare.split_indices
    assert spec.extra["inner_scores"] == {good: 0.9, bad: 0.5}
    assert np.isclose(spec.extra["inner_scores"][good], 0.9)
