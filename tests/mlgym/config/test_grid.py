"""The lazy grid (config/grid.py) lists exactly the points, ids and configs of the copying expansion it replaced."""
from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest

from mlgym.config import grid as grid_module
from mlgym.config.grid import Grid
from mlgym.config.loader import load_config
from mlgym.config.sweep import GridPoint, config_id, expand_sweeps, find_sweeps, resolve_point
from tests.conftest import CONFIGS, EXAMPLES

GRID_CONFIGS = [*sorted(CONFIGS.glob("*.yml")),
                *(p for p in sorted(EXAMPLES.glob("*/gs_config.yml")) if p.parent.name != "search")]


def copying_expansion(config: dict, source) -> list[GridPoint]:
    """The expansion as it was before the lazy grid: a full copy of the config per point, each sweep path set."""
    sweeps = find_sweeps(config, source)
    return [resolve_point(config, dict(zip(sweeps, combo)))
            for combo in itertools.product(*(d.finite_values() for d in sweeps.values()))]


def as_rows(points) -> list[tuple]:
    return [(p.grid_point_id, p.config, p.hyperparameters) for p in points]


def load(tmp_path: Path, text: str):
    path = tmp_path / "gs.yml"
    path.write_text(text)
    return load_config(path)


@pytest.mark.parametrize("path", GRID_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_grid_of_every_example_config_is_the_copying_expansion(path: Path) -> None:
    config, source = load_config(path)
    expected = as_rows(copying_expansion(config, source))
    assert as_rows(Grid(config, source)) == expected
    assert as_rows(expand_sweeps(config, source)) == expected
    assert len(Grid(config, source)) == len(expected)


TRICKY = """
zeta:       # keys out of alphabetical order: the canonical JSON sorts them, the grid goes in document order
  config:
    b: {sweep: absolute, values: [1, 2]}
    a: {sweep: absolute, values: [{x: [1, 2]}, {y: null}]}
alpha:
  layers:
    - {width: {sweep: range, start: 1, stop: 3, step: 1}}
    - {width: 5}
  nested: [[1, {sweep: choice, values: [a, "b\\"c", "\\u00e9"]}]]
global_config:
  seed: {sweep: absolute, values: [0, 1]}
  text: "a string with @@grid- in it"
"""


def test_sorted_keys_lists_values_and_odd_strings_give_the_same_points(tmp_path: Path) -> None:
    config, source = load(tmp_path, TRICKY)
    points = list(Grid(config, source))
    assert len(points) == 2 * 2 * 2 * 3 * 2
    assert as_rows(points) == as_rows(copying_expansion(config, source))
    assert all(p.grid_point_id == config_id(p.config) for p in points)


def test_a_point_copies_only_the_paths_it_changes(tmp_path: Path) -> None:
    config, source = load(tmp_path, TRICKY)
    before = copy.deepcopy(config)
    first, second = itertools.islice(Grid(config, source), 2)
    assert config == before, "the base config is never written"
    assert first.config is not config and first.config["zeta"] is not config["zeta"]
    assert first.config["alpha"]["layers"][1] is config["alpha"]["layers"][1]  # shared: no sweep below it
    assert first.config["global_config"]["text"] == config["global_config"]["text"]
    assert first.config["alpha"] is not second.config["alpha"] or first.config["alpha"] is config["alpha"]


def test_a_marker_found_in_the_config_falls_back_to_hashing_each_point(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grid_module.secrets, "token_hex", lambda n: "fixed")
    config, source = load(tmp_path, TRICKY.replace('"a string with @@grid- in it"', '"@@grid-fixed-0@@"'))
    grid = Grid(config, source)
    assert grid._pieces is None
    assert as_rows(grid) == as_rows(copying_expansion(config, source))


def test_a_config_without_sweeps_is_one_point(tmp_path: Path) -> None:
    config, source = load(tmp_path, "a: {b: 1}\n")
    (point,) = Grid(config, source)
    assert point.config == {"a": {"b": 1}} and point.hyperparameters == {}
    assert point.grid_point_id == config_id(config)


def test_the_grid_is_counted_and_indexed_without_being_listed(tmp_path: Path) -> None:
    axes = "\n".join(f"  k{i}: {{sweep: int, low: 1, high: 10}}" for i in range(5))
    config, source = load(tmp_path, f"node:\n{axes}\n")
    grid = Grid(config, source)
    assert len(grid) == 100_000
    index, point = next(grid.indexed())
    assert index == (0,) * 5 and point.hyperparameters == {f"node.k{i}": 1 for i in range(5)}
    last = grid.point((9,) * 5)
    assert last.config == {"node": {f"k{i}": 10 for i in range(5)}}
    assert last.grid_point_id == config_id(last.config)
    assert grid.axes_below("node") == (0, 1, 2, 3, 4) and grid.axes_below("other") == ()


def test_continuous_and_oversized_grids_are_still_refused(tmp_path: Path) -> None:
    from mlgym.errors import ConfigError
    config, source = load(tmp_path, "n:\n  lr: {sweep: loguniform, low: 0.001, high: 0.1}\n")
    with pytest.raises(ConfigError, match="sweep 'loguniform' is continuous"):
        Grid(config, source)
    config, source = load(tmp_path, "n:\n  a: {sweep: int, low: 1, high: 1000}\n  b: {sweep: int, low: 1, "
                                    "high: 1000}\n")
    with pytest.raises(ConfigError, match="the grid has 1000000 points"):
        Grid(config, source)
