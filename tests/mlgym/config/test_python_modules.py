"""`python_modules:` in a gs_config: a project's own components without a run.py, in validate, train (spawned pool
workers), warm start; a bad entry is a config error at its line; the entries change no experiment id."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgym.cli.main import main
from tests.conftest import CONFIGS, run_cli

BASE = (CONFIGS / "iris_mlp.yml").read_text()

COMPONENTS = '''
from torch import nn
from mlgym.registry import component


@component("model", "{variant}")
class TinyMLP(nn.Module):
    def __init__(self, input_dim: int, output_dim: int, hidden_dim: int = 8) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, output_dim))

    def forward(self, x):
        return self.net(x)
'''


def project(folder: Path, variant: str, module: str, header: str) -> Path:
    """A folder with `<module>.py` registering model `variant`, and gs_config.yml using it after `header`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(COMPONENTS.format(variant=variant))
    config = (BASE.replace("variant_key: mlp", f"variant_key: {variant}")
              .replace("    hidden_dims: [16]\n    dropout: 0.1\n", "    hidden_dim: 8\n"))
    (folder / "gs_config.yml").write_text(header + config)
    return folder / "gs_config.yml"


@pytest.fixture
def forget() -> Iterator[list[str]]:
    """Module names to drop from sys.modules (and their folders from sys.path) after the test."""
    names: list[str] = []
    path = list(sys.path)
    yield names
    for name in names:
        sys.modules.pop(name, None)
    sys.path[:] = path


def test_validate_imports_the_named_module_and_without_it_the_hint_names_python_modules(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], forget: list[str]) -> None:
    forget.append("pm_validate_components")
    config = project(tmp_path, "pm_validate_mlp", "pm_validate_components", "")
    assert main(["validate", "--gs_config_path", str(config)]) == 2
    err = capsys.readouterr().err
    assert "unknown variant_key 'pm_validate_mlp'" in err
    assert "python_modules: [components]" in err
    config.write_text("python_modules: [pm_validate_components]\n" + config.read_text())
    assert main(["validate", "--gs_config_path", str(config)]) == 0
    assert "valid; 2 experiment configs" in capsys.readouterr().out


def test_python_modules_change_no_experiment_id(tmp_path: Path, forget: list[str]) -> None:
    from mlgym.validation.experiment_plan import resolve_grid_search
    forget.append("pm_ids_components")
    with_modules = project(tmp_path, "pm_ids_mlp", "pm_ids_components", "python_modules: [pm_ids_components]\n")
    without = tmp_path / "plain.yml"
    without.write_text(with_modules.read_text().split("\n", 1)[1])  # registered by now: the first resolve imported it
    first = resolve_grid_search(with_modules)
    assert [m.name for m in first.python_modules] == ["pm_ids_components"]
    assert "python_modules" not in first.gs_config
    assert [p.grid_point_id for p in first.grid] == [p.grid_point_id for p in resolve_grid_search(without).grid]


def test_an_imported_file_names_modules_relative_to_its_own_folder(tmp_path: Path, forget: list[str]) -> None:
    from mlgym.validation.experiment_plan import resolve_grid_search
    forget.append("pm_base_components")
    base = project(tmp_path / "base", "pm_base_mlp", "pm_base_components", "python_modules: [pm_base_components]\n")
    top = tmp_path / "exp" / "gs_config.yml"
    top.parent.mkdir()
    top.write_text(f"imports: [../base/{base.name}]\noptimizer:\n  config:\n    lr: 0.1\n")
    resolved = resolve_grid_search(top)
    assert [(m.name, m.folder) for m in resolved.python_modules] == [("pm_base_components", str(base.parent))]
    assert len(resolved.grid) == 1


@pytest.mark.parametrize("entry, module_text, expected", [
    pytest.param("[pm_missing_module]", None,
                 "cannot import python module 'pm_missing_module' (not found as pm_missing_module.py or a package",
                 id="not_found"),
    pytest.param("[pm_broken]", "import torch\nraise RuntimeError('boom')\n",
                 "cannot import python module 'pm_broken': RuntimeError: boom at ", id="raises"),
    pytest.param("[components.py]", None, "python_modules entries are module names like components", id="file_name"),
])
def test_a_bad_entry_is_a_config_error_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    forget: list[str], entry: str, module_text: str | None,
                                                    expected: str) -> None:
    forget.append("pm_broken")
    if module_text:
        (tmp_path / "pm_broken.py").write_text(module_text)
    config = tmp_path / "gs_config.yml"
    config.write_text(BASE.replace("global_config:", f"python_modules: {entry}\nglobal_config:", 1))
    line = config.read_text().splitlines().index(f"python_modules: {entry}") + 1
    assert main(["train", "--gs_config_path", str(config), "--log_dir", str(tmp_path / "logs")]) == 2
    err = capsys.readouterr().err
    assert f"{config}:{line}:" in err and expected in err
    assert not (tmp_path / "logs").exists()  # nothing started


def test_train_without_run_py_imports_the_modules_in_spawned_workers_and_warm_start_finds_them(
        tmp_path: Path) -> None:
    config = project(tmp_path / "proj", "pm_train_mlp", "components", "python_modules: [components]\n")
    config.write_text(config.read_text().replace("values: [0.01, 0.05]", "values: [0.05]"))
    logs = tmp_path / "logs"
    done = run_cli("train", "--gs_config_path", "gs_config.yml", "--num_epochs", "1", "--log_dir", str(logs),
                   cwd=config.parent)
    assert done.returncode == 0, done.stderr
    (gs_id,) = [p.name for p in logs.iterdir()]
    started = json.loads((logs / gs_id / "event_storage.log").read_text().splitlines()[0])["payload"]
    assert started["python_modules"] == [{"name": "components", "folder": str(config.parent)}]
    resumed = run_cli("warmstart", "--grid_search_id", gs_id, "--log_dir", str(logs), "--num_epochs", "2",
                      "--environment", "main_process", cwd=tmp_path)  # elsewhere: found next to the logged config
    assert resumed.returncode == 0, resumed.stderr
    assert "(1 done, 0 failed)" in resumed.stdout
