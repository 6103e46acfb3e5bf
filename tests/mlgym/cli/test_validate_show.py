"""`mlgym validate --show`: the merged config as YAML which, validated again from a file, gives the same experiments."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlgym.cli.main import main
from mlgym.validation.experiment_plan import resolve_grid_search
from tests.conftest import CONFIGS


def test_show_round_trips_imports_anchors_overrides_and_sweeps_to_the_same_ids(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    top = tmp_path / "exp" / "gs_config.yml"
    top.parent.mkdir()
    top.write_text(f"imports: [{CONFIGS / 'iris_mlp.yml'}]\n"  # anchors (*seed) and a sweep of lr live there
                   "data_loaders:\n  config:\n    batch_size: {sweep: absolute, values: [8, 16]}\n")
    overrides = ["model.config.hidden_dims=[32]", "optimizer.config.lr={sweep: absolute, values: [1e-3, 0.05]}"]
    args = ["validate", "--gs_config_path", str(top)] + [x for o in overrides for x in ("-c", o)]
    assert main([*args, "--show"]) == 0
    out, err = capsys.readouterr()
    assert "valid; 4 experiment configs" in err
    shown = yaml.safe_load(out)
    assert "imports" not in shown and "&" not in out and "*seed" not in out
    assert shown["splits"]["config"]["seed"] == 0 and shown["model"]["config"]["hidden_dims"] == [32]
    assert shown["optimizer"]["config"]["lr"] == {"sweep": "absolute", "values": [0.001, 0.05]}
    copy = tmp_path / "elsewhere" / "shown.yml"
    copy.parent.mkdir()
    copy.write_text(out)
    assert main(["validate", "--gs_config_path", str(copy)]) == 0
    assert "valid; 4 experiment configs" in capsys.readouterr().out
    expected = [p.grid_point_id for p in resolve_grid_search(top, overrides).grid]
    assert [p.grid_point_id for p in resolve_grid_search(copy).grid] == expected
    assert len(set(expected)) == 4


def test_show_keeps_python_modules_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pm_show_components.py").write_text("X = 1\n")
    config = tmp_path / "gs_config.yml"
    config.write_text("python_modules: [pm_show_components]\n" + (CONFIGS / "iris_mlp.yml").read_text())
    try:
        assert main(["validate", "--gs_config_path", str(config), "--show"]) == 0
    finally:
        import sys
        sys.modules.pop("pm_show_components", None)
        if str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))
    assert yaml.safe_load(capsys.readouterr().out)["python_modules"] == ["pm_show_components"]
