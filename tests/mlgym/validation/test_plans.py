"""Cross-validation and nested CV plans: job counts, fold disjointness, selection only on inner-fold data."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mlgym.scheduler.task import TaskResult
from mlgym.validation.experiment_plan import check_strategy, resolve_grid_search
from mlgym.validation.plan import RunSettings, build_plan, cross_validation_plan, dataset_targets, nested_cv_plan
from mlgym.validation.settings import Selection, ValidationSettings
from tests.conftest import CONFIGS

RUN = RunSettings("gs-test", "/tmp/unused", num_epochs=1, seed=0)


def resolved():
    return resolve_grid_search(CONFIGS / "iris_mlp.yml")


def test_cross_validation_plan_has_grid_times_folds_disjoint_jobs() -> None:
    r = resolved()
    targets = dataset_targets(r.nodes[0])
    plan = cross_validation_plan(r.grid, RUN, ValidationSettings("cross_validation", num_folds=3), targets)
    assert len(plan.jobs) == len(r.grid) * 3
    for spec in plan.specs.values():
        train, val = set(spec.split_indices["train"]), set(spec.split_indices["val"])
        assert not train & val and len(train | val) == len(targets)
    held_out = [spec.split_indices["val"] for spec in plan.specs.values() if spec.grid_point_id == r.grid[0].grid_point_id]
    assert sorted(i for fold in held_out for i in fold) == list(range(len(targets)))


def test_nested_cv_job_graph_and_inner_folds_see_only_outer_train() -> None:
    r = resolved()
    targets = dataset_targets(r.nodes[0])
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
    targets = dataset_targets(r.nodes[0])
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


FOUR_POINTS = ["-c", "model.config.dropout={sweep: absolute, values: [0.0, 0.1]}"]  # x 2 learning rates


def _count_parse_nodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap parse_nodes wherever an MLgym module has imported it; the list grows by one per call."""
    import mlgym.cli.commands  # noqa: F401 - import every module that may parse, so each gets the wrapper
    import mlgym.gym.job  # noqa: F401
    import mlgym.run  # noqa: F401
    import mlgym.registry.graph as graph
    calls: list[str] = []
    original = graph.parse_nodes

    def counting(config, *args, **kwargs):
        calls.append(config["model"]["config"]["dropout"])
        return original(config, *args, **kwargs)

    for name, module in list(sys.modules.items()):
        if name.startswith("mlgym") and getattr(module, "parse_nodes", None) is original:
            monkeypatch.setattr(module, "parse_nodes", counting)
    return calls


def test_validate_parses_each_grid_point_at_most_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys) -> None:
    from mlgym.cli.main import main
    calls = _count_parse_nodes(monkeypatch)
    validation = tmp_path / "cv.yml"
    validation.write_text("CROSS_VALIDATION:\n  num_folds: 2\n")
    assert main(["validate", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"),
                 "--validation_config_path", str(validation), *FOUR_POINTS]) == 0
    assert "valid; 4 experiment configs" in capsys.readouterr().out
    # (dropout, lr): the 4th point, (0.1, 0.05), has the model of the 3rd and the optimizer of the 2nd
    assert calls == [0.0, 0.0, 0.1]


def test_a_cross_validation_plan_reuses_the_parsed_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_parse_nodes(monkeypatch)
    r = resolve_grid_search(CONFIGS / "iris_mlp.yml", FOUR_POINTS[1:])
    settings = ValidationSettings("cross_validation", num_folds=2)
    check_strategy(settings, r)
    plan = build_plan(r, settings, RUN)
    assert len(r.grid) == len(r.nodes) == 4 and len(plan.jobs) == 8
    assert calls == [0.0, 0.0, 0.1]  # the 4th point's nodes were all checked before (validation/grid_check.py)
