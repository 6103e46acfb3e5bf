"""Grid points checked once per distinct node (validation/grid_check.py): the same plans, the same errors."""
from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import pytest

from mlgym.config.grid import Grid
from mlgym.config.loader import load_config
from mlgym.config.sweep import find_sweeps, resolve_point
from mlgym.errors import ConfigError
from mlgym.validation.experiment_plan import (ResolvedGridSearch, check_grid, check_grid_point, check_grid_search,
                                             file_sha256, resolve_grid_search)
from mlgym.validation.grid_check import GridCheck
from mlgym.validation.plan import RunSettings, build_plan
from mlgym.validation.settings import ValidationSettings, load_validation
from tests.conftest import CONFIGS, EXAMPLES, run_in_process

RUN = RunSettings("gs-test", "/tmp/unused", num_epochs=1, seed=0)
BASE = (CONFIGS / "iris_mlp.yml").read_text()


def register_example_components(path: Path) -> None:
    """An example's own components (its run.py imports them), under a name of their own: all are named
    `components`."""
    module_file = path.parent / "components.py"
    name = f"example_{path.parent.name}_components"
    if not module_file.is_file() or name in sys.modules:
        return
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, module_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except ValueError as e:  # registered already, by a test that imported it under its own name
        if "already registered" not in str(e):
            raise
    finally:
        sys.path.remove(str(path.parent))
    sys.modules[name] = module


def resolved_as_before(path: Path) -> ResolvedGridSearch:
    """What `resolve_grid_search` gave before the lazy grid: a copy of the config per point, each checked in full."""
    config, source = load_config(path)
    sweeps = find_sweeps(config, source)
    grid = [resolve_point(config, dict(zip(sweeps, combo)))
            for combo in itertools.product(*(d.finite_values() for d in sweeps.values()))]
    return ResolvedGridSearch(path.resolve(), config, file_sha256(path), source, grid, list(sweeps),
                              check_grid(grid, source), python_modules=tuple(source.python_modules))


def plan_rows(resolved: ResolvedGridSearch, settings: ValidationSettings) -> list[tuple]:
    plan = build_plan(resolved, settings, RUN)
    return [(job.job_id, job.depends_on, job.spec.grid_point_id, job.spec.config, job.spec.hyperparameters,
             job.spec.split_indices, job.spec.score_directions, job.spec.role, job.spec.fold) for job in plan.jobs]


CV = ValidationSettings("cross_validation", num_folds=3)
NESTED = ValidationSettings("nested_cv", num_outer_loop_folds=2, num_inner_loop_folds=2)
CASES = [
    *((p, ValidationSettings()) for p in sorted(CONFIGS.glob("*.yml"))),
    *((p, ValidationSettings()) for p in sorted(EXAMPLES.glob("*/gs_config.yml")) if p.parent.name != "search"),
    (CONFIGS / "iris_mlp.yml", CV),
    (CONFIGS / "iris_mlp.yml", NESTED),
    (EXAMPLES / "nested_cv" / "gs_config.yml", load_validation(EXAMPLES / "nested_cv" / "validation_config.yml")),
]


@pytest.mark.parametrize("path, settings", CASES,
                         ids=lambda c: f"{c.parent.name}/{c.name}" if isinstance(c, Path) else c.strategy)
def test_train_plans_the_same_jobs_ids_order_and_configs_as_before(path: Path, settings: ValidationSettings) -> None:
    register_example_components(path)
    before, after = resolved_as_before(path), resolve_grid_search(path)
    assert [p.grid_point_id for p in after.grid] == [p.grid_point_id for p in before.grid]
    assert after.sweep_paths == before.sweep_paths
    assert after.score_directions == before.score_directions
    assert plan_rows(after, settings) == plan_rows(before, settings)


def grid_of(tmp_path: Path, text: str) -> tuple[Grid, object]:
    path = tmp_path / "gs_config.yml"
    path.write_text(text)
    config, source = load_config(path)
    return Grid(config, source), source


def bench_grid(tmp_path: Path) -> Path:
    from bench.plan_scale import grid_config
    return grid_config(tmp_path)


def test_a_grid_is_checked_in_full_only_where_a_node_is_new(tmp_path: Path) -> None:
    import mlgym.gym.builtins
    mlgym.gym.builtins.load_builtins()
    config, source = load_config(bench_grid(tmp_path))  # batch size x hidden dims x dropout x lr, 10 values each
    grid = Grid(config, source)
    check = GridCheck(grid, source)
    for index in grid.indices():
        check.nodes(index)
    # a point is checked in full where a node is new: each of the 100 models (hidden dims x dropout), the 9
    # other learning rates and the 9 other batch sizes; the other 9,882 points are made of nodes already checked
    assert check.full_checks == 100 + 9 + 9
    sample = [(2, 3, 4, 5), (9, 9, 9, 9), (0, 7, 0, 3)]
    for index in sample:
        point = grid.point(index)
        assert check.nodes(index) == check_grid_point(point, source)


def test_check_grid_search_streams_and_reports_the_grid(tmp_path: Path) -> None:
    checked = check_grid_search(bench_grid(tmp_path))
    assert checked.size == 10_000
    assert checked.sweep_paths == ["data_loaders.config.batch_size", "model.config.hidden_dims",
                                   "model.config.dropout", "optimizer.config.lr"]
    assert checked.first_nodes["model"].config == {"input_dim": 4, "output_dim": 3, "hidden_dims": [8],
                                                   "dropout": 0.0}


BAD_LATER = [
    # (case, replace, with, expected message parts): the first point is valid, a later one is not
    ("mistyped_value", "    hidden_dims: [16]", "    hidden_dims: {sweep: absolute, values: [[16], high]}",
     ["model.config.hidden_dims", "expected a list, got 'high'"]),
    ("missing_component", "    - {name: model, component_name: model}\n  config:\n    lr",
     "    - {name: model, component_name: {sweep: absolute, values: [model, modell]}}\n  config:\n    lr",
     ["optimizer.requirements.0.component_name", "missing component 'modell'"]),
    ("bad_variant", "variant_key: adam\n", "variant_key: {sweep: absolute, values: [adam, sgd, adamm]}\n",
     ["optimizer.variant_key", "unknown variant_key 'adamm'"]),
]


@pytest.mark.parametrize("case", BAD_LATER, ids=lambda c: c[0])
def test_a_bad_later_point_gives_the_error_of_a_full_check(tmp_path: Path, case: tuple) -> None:
    _, old, new, parts = case
    assert old in BASE
    path = tmp_path / "gs_config.yml"
    path.write_text(BASE.replace(old, new, 1))
    config, source = load_config(path)
    grid = Grid(config, source)
    check = GridCheck(grid, source)
    with pytest.raises(ConfigError) as streamed:
        for index in grid.indices():
            check.nodes(index)
    with pytest.raises(ConfigError) as full:
        for point in resolved_as_before_points(config, source):
            check_grid_point(point, source)
    assert str(streamed.value) == str(full.value)
    result = run_in_process("validate", "--gs_config_path", str(path))
    assert result.returncode == 2
    assert f"{path}:" in result.stderr and all(part in result.stderr for part in parts), result.stderr


def resolved_as_before_points(config: dict, source) -> list:
    sweeps = find_sweeps(config, source)
    return [resolve_point(config, dict(zip(sweeps, combo)))
            for combo in itertools.product(*(d.finite_values() for d in sweeps.values()))]


def test_a_swept_variant_checks_each_combination_of_shapes(tmp_path: Path) -> None:
    import mlgym.gym.builtins
    mlgym.gym.builtins.load_builtins()
    text = BASE.replace("variant_key: adam\n", "variant_key: {sweep: absolute, values: [adam, sgd]}\n", 1)
    grid, source = grid_of(tmp_path, text)
    check = GridCheck(grid, source)
    nodes = [check.nodes(index) for index in grid.indices()]
    assert [n["optimizer"].variant for n in nodes] == ["adam", "adam", "sgd", "sgd"]
    assert [n["optimizer"].config["lr"] for n in nodes] == [0.01, 0.05, 0.01, 0.05]
    assert check.full_checks == 4  # the optimizer node differs at every point


def test_validate_prints_the_same_summary_for_grid_and_cross_validation(tmp_path: Path) -> None:
    config = CONFIGS / "iris_mlp.yml"
    result = run_in_process("validate", "--gs_config_path", str(config))
    assert result.returncode == 0
    assert result.stdout == (f"{config}: valid; 2 experiment configs (optimizer.config.lr); strategy grid_search: "
                             "2 jobs\n")
    validation = tmp_path / "cv.yml"
    validation.write_text("NestedCV:\n  num_outer_loop_folds: 3\n  num_inner_loop_folds: 2\n")
    result = run_in_process("validate", "--gs_config_path", str(config), "--validation_config_path",
                            str(validation))
    assert result.stdout.endswith("strategy nested_cv: 15 jobs\n"), result.stdout


def test_random_search_still_goes_through_the_list_of_trials(tmp_path: Path) -> None:
    result = run_in_process("validate", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), "--searcher", "random",
                            "--num_samples", "2")
    assert result.returncode == 0, result.stderr
    assert "valid; 2 experiment configs (optimizer.config.lr); random search, seed 0" in result.stdout


def test_score_directions_follow_a_swept_metric_list(tmp_path: Path) -> None:
    from mlgym.gym.scores import score_directions_of_nodes
    text = BASE.replace("    metrics: [accuracy, {name: f1, average: macro}]",
                        "    metrics: {sweep: absolute, values: [[accuracy], [mae, accuracy]]}", 1)
    path = tmp_path / "gs_config.yml"
    path.write_text(text)
    resolved = resolve_grid_search(path)
    assert len(resolved.grid) == 4
    directions = resolved.score_directions
    assert [directions[p.grid_point_id] for p in resolved.grid] == [score_directions_of_nodes(n)
                                                                   for n in resolved.nodes]
    assert [directions[p.grid_point_id].get("mae") for p in resolved.grid] == [None, None, "min", "min"]


def test_check_grid_search_keeps_no_point(tmp_path: Path) -> None:
    import tracemalloc
    config = bench_grid(tmp_path)
    check_grid_search(config)  # components imported, registry and signature memories filled
    tracemalloc.start()
    try:
        assert check_grid_search(config).size == 10_000
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"{peak / 1e6:.1f} MB traced: the points (~20 kB each with their nodes) must not be kept"
