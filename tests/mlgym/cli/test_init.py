"""`mlgym init`: every template is written and trains as it is; bad templates and used folders exit 2."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgym.cli.main import main
from mlgym.cli.project_templates import template_names
from tests.conftest import run_cli

TEMPLATES = ["cross_validation", "custom_component", "grid_search", "nested_cv", "search"]

# template -> (extra train flags beyond --gs_config_path, the jobs it runs in the test)
TRAIN = {
    "grid_search": (["--run_config_path", "run_config.yml", "--num_epochs", "1"], 4),
    "cross_validation": (["--validation_config_path", "validation_config.yml", "--num_epochs", "1"], 6),
    "nested_cv": (["--validation_config_path", "validation_config.yml", "--num_epochs", "1"], 15),
    # ASHA pauses at epoch 1 of 2 and decides how many tasks run
    "search": (["--run_config_path", "run_config.yml", "--num_samples", "3", "--num_epochs", "2"], None),
    "custom_component": (["--num_epochs", "1"], 4),
}


@pytest.fixture
def isolated_imports() -> Iterator[None]:
    """A template's `components` module is imported by name: forget it (and its folder) after the test."""
    path, before = list(sys.path), set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name == "components" or name.startswith("components."):
            del sys.modules[name]
    sys.path[:] = path


def test_the_templates_are_the_documented_ones() -> None:
    assert template_names() == TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_template_is_created_and_trains_end_to_end(template: str, tmp_path: Path, isolated_imports: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / template
    assert main(["init", "--template", template, "--output", str(project)]) == 0
    out = capsys.readouterr().out
    assert f"created {project} from template {template}" in out and "mlgym train --gs_config_path" in out
    files = sorted(p.name for p in project.iterdir())
    assert "gs_config.yml" in files and "run.py" in files
    flags, jobs = TRAIN[template]
    flags = [str(project / f) if f.endswith(".yml") else f for f in flags]
    code = main(["train", "--gs_config_path", str(project / "gs_config.yml"), *flags,
                 "--environment", "main_process", "--log_dir", str(tmp_path / "logs")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert ", 0 failed)" in out and (jobs is None or f"done ({jobs} done, 0 failed)" in out)


def test_run_py_of_a_template_trains_with_its_own_component_in_spawned_workers(tmp_path: Path) -> None:
    project = tmp_path / "project"
    assert main(["init", "--template", "custom_component", "--output", str(project)]) == 0
    done = run_cli("train", "--gs_config_path", "gs_config.yml", "--num_epochs", "1", "-c",
                   "optimizer.config.lr=0.05", script=project / "run.py", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "done (2 done, 0 failed)" in done.stdout
    assert (project / "event_storage").is_dir()


@pytest.mark.parametrize("template, make_output, expected", [
    pytest.param("grid_serch", False, "unknown template 'grid_serch'; templates: cross_validation, "
                 "custom_component, grid_search, nested_cv, search", id="unknown_template"),
    pytest.param("grid_search", True, "exists and is not an empty folder", id="output_not_empty"),
])
def test_bad_init_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str,
                                             make_output: bool, expected: str) -> None:
    output = tmp_path / "project"
    if make_output:
        output.mkdir()
        (output / "notes.txt").write_text("mine\n")
    assert main(["init", "--template", template, "--output", str(output)]) == 2
    assert expected in capsys.readouterr().err
    if make_output:
        assert sorted(p.name for p in output.iterdir()) == ["notes.txt"]
    else:
        assert not output.exists()
