"""Loading YAML with locations, imports, anchors, overrides and sweeps."""
from __future__ import annotations

from pathlib import Path

import pytest

from mlgym.config import apply_overrides, expand_sweeps, load_config
from mlgym.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_locations_are_recorded_per_key_path(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yml", "model:\n  config:\n    lr: 1\n    dims: [1, 2]\n")
    _, source = load_config(path)
    assert str(source.find("model.config.lr")) == f"{path}:3:5"
    assert str(source.find("model.config.dims.1")) == f"{path}:4:15"
    assert str(source.find("model.config.unknown")) == f"{path}:2:3"


def test_imports_merge_and_this_file_wins(tmp_path: Path) -> None:
    write(tmp_path / "base.yml", "model:\n  config: {lr: 1, depth: 2}\n")
    path = write(tmp_path / "top.yml", "imports: [base.yml]\nmodel:\n  config: {lr: 5}\n")
    config, source = load_config(path)
    assert config == {"model": {"config": {"lr": 5, "depth": 2}}}
    assert source.find("model.config.depth").file == str(tmp_path / "base.yml")
    assert source.find("model.config.lr").file == str(path)


def test_circular_imports_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "a.yml", "imports: [b.yml]\n")
    write(tmp_path / "b.yml", "imports: [a.yml]\n")
    with pytest.raises(ConfigError, match="circular imports"):
        load_config(tmp_path / "a.yml")


def test_anchors_and_merge_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yml", "global_config:\n  common: &c {seed: 3, lr: 1}\n"
                                     "opt:\n  config:\n    <<: *c\n    lr: 2\n")
    config, _ = load_config(path)
    assert config["opt"]["config"] == {"seed": 3, "lr": 2}


def test_override_sets_existing_key_and_parses_yaml_values(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yml", "opt:\n  config: {lr: 1, dims: [1, 2]}\n")
    config, source = load_config(path)
    apply_overrides(config, ["opt.config.lr=0.5", "opt.config.dims.1=7"], source)
    assert config["opt"]["config"] == {"lr": 0.5, "dims": [1, 7]}


def test_override_of_missing_key_suggests_nearest(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yml", "opt:\n  config: {lr: 1}\n")
    config, source = load_config(path)
    with pytest.raises(ConfigError) as e:
        apply_overrides(config, ["opt.config.lrr=2"], source)
    assert "at 'opt.config.lrr'" in str(e.value) and "did you mean 'lr'?" in str(e.value)


def test_grid_is_the_cartesian_product_with_stable_ids(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yml", "a:\n  config:\n    lr: {sweep: absolute, values: [1, 2]}\n"
                                     "    bs: {sweep: absolute, values: [8, 16, 32]}\n")
    config, source = load_config(path)
    grid = expand_sweeps(config, source)
    assert len(grid) == 6
    assert {(g.hyperparameters["a.config.lr"], g.hyperparameters["a.config.bs"]) for g in grid} == \
        {(lr, bs) for lr in (1, 2) for bs in (8, 16, 32)}
    assert len({g.grid_point_id for g in grid}) == 6
    assert [g.grid_point_id for g in expand_sweeps(config, source)] == [g.grid_point_id for g in grid]
    assert grid[0].config["a"]["config"]["lr"] == 1


# (YAML text, value): `1e-3` without a dot is a float (PyYAML alone reads it as a string); the rest as PyYAML.
SCALARS = [
    ("1e-3", 0.001), ("1E5", 100000.0), ("-2e+3", -2000.0), ("1.5e3", 1500.0), ("1.0e-3", 0.001), ("0.01", 0.01),
    ("1_000", 1000), ("0x10", 16), ("12", 12), (".inf", float("inf")), ("-.inf", float("-inf")),
    ("1e", "1e"), ("e3", "e3"), ("1e-3x", "1e-3x"), ("abc", "abc"),
]


@pytest.mark.parametrize("text, value", SCALARS, ids=[t for t, _ in SCALARS])
def test_floats_in_config_files_and_overrides(tmp_path: Path, text: str, value: object) -> None:
    path = write(tmp_path / "a.yml", f"opt:\n  config: {{lr: {text}}}\n")
    config, source = load_config(path)
    assert config["opt"]["config"]["lr"] == value and type(config["opt"]["config"]["lr"]) is type(value)
    apply_overrides(config, [f"opt.config.lr={text}"], source)
    assert config["opt"]["config"]["lr"] == value and type(config["opt"]["config"]["lr"]) is type(value)


def test_nan_keeps_pyyaml_behaviour(tmp_path: Path) -> None:
    config, _ = load_config(write(tmp_path / "a.yml", "lr: .nan\n"))
    assert config["lr"] != config["lr"]


def test_an_overridden_key_path_is_located_at_the_override(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yml", "opt:\n  config:\n    lr: {sweep: absolute, values: [1, 2]}\n    depth: 2\n")
    config, source = load_config(path)
    apply_overrides(config, ["opt.config.lr=abc"], source)
    assert str(source.find("opt.config.lr")) == "command-line override '-c opt.config.lr=abc'"
    assert str(source.find("opt.config.lr.values.0")) == "command-line override '-c opt.config.lr=abc'"
    assert str(source.find("opt.config.depth")) == f"{path}:4:5"
    assert str(source.error("bad", "opt.config.lr")) == \
        "command-line override '-c opt.config.lr=abc': at 'opt.config.lr': bad"
