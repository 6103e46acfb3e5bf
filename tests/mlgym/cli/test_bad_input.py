"""Every kind of bad input exits with status 2, names file, line and key path, and creates nothing."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CONFIGS, run_cli

BASE = (CONFIGS / "iris_mlp.yml").read_text()


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in config")


# (case id, replace this, with this, line marker in the new text or None, expected message parts)
CASES = [
    ("yaml_syntax", "    name: iris\n", "    name: iris: setosa\n", "name: iris: setosa",
     ["YAML syntax error", "mapping values are not allowed here"]),
    ("unknown_kind", "variant_key: mlp", "variant_key: mlp", None, []),  # replaced below
    ("unknown_variant", "variant_key: adam\n", "variant_key: adamm\n", "variant_key: adamm",
     ["at 'optimizer.variant_key'", "unknown variant_key 'adamm'", "did you mean 'adam'?"]),
    ("missing_requirement", "- {name: model, component_name: model}\n  config:\n    lr",
     "- {name: model, component_name: modell}\n  config:\n    lr", "component_name: modell",
     ["optimizer.requirements.0.component_name", "missing component 'modell'", "did you mean 'model'?"]),
    ("unknown_argument", "    hidden_dims: [16]", "    hiden_dims: [16]", "hiden_dims",
     ["model.config.hiden_dims", "unknown argument 'hiden_dims'", "did you mean 'hidden_dims'?"]),
    ("mistyped_argument", "    dropout: 0.1", "    dropout: high", "dropout: high",
     ["model.config.dropout", "expected a number, got 'high'"]),
    ("sweep_without_values", "{sweep: absolute, values: [0.01, 0.05]}", "{sweep: absolute, values: []}",
     "sweep: absolute", ["optimizer.config.lr.values", "non-empty list of values"]),
    ("unknown_sweep_kind", "{sweep: absolute, values: [0.01, 0.05]}", "{sweep: absolut, values: [0.01]}",
     "sweep: absolut", ["optimizer.config.lr.sweep", "unknown sweep kind 'absolut'", "did you mean 'absolute'?"]),
    ("non_positive_batch_size", "    batch_size: 16", "    batch_size: 0", "batch_size: 0",
     ["data_loaders.config.batch_size", "expected a number > 0"]),
]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gs_config.yml"
    path.write_text(text)
    return path


def _assert_refused(result, tmp_path: Path, parts: list[str]) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for part in parts:
        assert part in result.stderr, f"{part!r} not in:\n{result.stderr}"
    assert not (tmp_path / "logs").exists(), "a refused run must not create its log folder"


@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "unknown_kind"], ids=lambda c: c[0])
def test_bad_config_is_refused_with_location(tmp_path: Path, case: tuple) -> None:
    _, old, new, marker, parts = case
    assert old in BASE
    text = BASE.replace(old, new, 1)
    path = _write(tmp_path, text)
    result = run_cli("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "1", "--environment", "main_process")
    line = line_of(text, marker)
    _assert_refused(result, tmp_path, [f"{path}:{line}:", *parts])


def test_unknown_component_type_suggests_nearest(tmp_path: Path) -> None:
    text = BASE.replace("component_type_key: model\n", "component_type_key: modle\n", 1)
    path = _write(tmp_path, text)
    result = run_cli("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"))
    _assert_refused(result, tmp_path, [f"{path}:{line_of(text, 'modle')}:", "at 'model.component_type_key'",
                                       "unknown component_type_key 'modle'", "did you mean 'model'?"])


def test_dependency_cycle(tmp_path: Path) -> None:
    text = BASE.replace("variant_key: adam\n  requirements:\n    - {name: model, component_name: model}",
                        "variant_key: adam\n  requirements:\n    - {name: model, component_name: trainer}", 1)
    path = _write(tmp_path, text)
    result = run_cli("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"))
    _assert_refused(result, tmp_path, ["dependency cycle:", "optimizer", "trainer"])


def test_missing_imported_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "imports: [base_missing.yml]\n" + BASE)
    result = run_cli("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"))
    _assert_refused(result, tmp_path, [f"{path}:1:", "imports.0", "imported file not found",
                                       str(tmp_path / "base_missing.yml")])


def test_override_of_missing_path(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE)
    result = run_cli("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"),
                     "-c", "optimizer.config.learning_rate=0.1")
    _assert_refused(result, tmp_path, ["at 'optimizer.config.learning_rate'", "does not exist"])


@pytest.mark.parametrize("flag", ["0", "-3"])
def test_non_positive_epochs(tmp_path: Path, flag: str) -> None:
    path = _write(tmp_path, BASE)
    result = run_cli("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", flag)
    _assert_refused(result, tmp_path, ["num_epochs must be a positive integer"])


def test_missing_config_file(tmp_path: Path) -> None:
    result = run_cli("train", "--gs_config_path", str(tmp_path / "nope.yml"), "--log_dir", str(tmp_path / "logs"))
    _assert_refused(result, tmp_path, ["config file not found", "nope.yml"])
