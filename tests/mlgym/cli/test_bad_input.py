"""Every kind of bad input exits with status 2, names file, line and key path, and creates nothing."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CONFIGS, run_in_process

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
    ("loguniform_low_not_positive", "{sweep: absolute, values: [0.01, 0.05]}",
     "{sweep: loguniform, low: 0, high: 0.1}", "sweep: loguniform",
     ["optimizer.config.lr.low", "sweep 'loguniform': low must be > 0 on a log scale, got 0"]),
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
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "1", "--environment", "main_process")
    line = line_of(text, marker)
    _assert_refused(result, tmp_path, [f"{path}:{line}:", *parts])


def test_unknown_component_type_suggests_nearest(tmp_path: Path) -> None:
    text = BASE.replace("component_type_key: model\n", "component_type_key: modle\n", 1)
    path = _write(tmp_path, text)
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"))
    _assert_refused(result, tmp_path, [f"{path}:{line_of(text, 'modle')}:", "at 'model.component_type_key'",
                                       "unknown component_type_key 'modle'", "did you mean 'model'?"])


def test_dependency_cycle(tmp_path: Path) -> None:
    text = BASE.replace("variant_key: adam\n  requirements:\n    - {name: model, component_name: model}",
                        "variant_key: adam\n  requirements:\n    - {name: model, component_name: trainer}", 1)
    path = _write(tmp_path, text)
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"))
    _assert_refused(result, tmp_path, ["dependency cycle:", "optimizer", "trainer"])


def test_missing_imported_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "imports: [base_missing.yml]\n" + BASE)
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"))
    _assert_refused(result, tmp_path, [f"{path}:1:", "imports.0", "imported file not found",
                                       str(tmp_path / "base_missing.yml")])


def test_override_of_missing_path(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE)
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"),
                     "-c", "optimizer.config.learning_rate=0.1")
    _assert_refused(result, tmp_path, ["at 'optimizer.config.learning_rate'", "does not exist"])


@pytest.mark.parametrize("flag", ["0", "-3"])
def test_non_positive_epochs(tmp_path: Path, flag: str) -> None:
    path = _write(tmp_path, BASE)
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", flag)
    _assert_refused(result, tmp_path, ["num_epochs must be a positive integer"])


def test_missing_config_file(tmp_path: Path) -> None:
    result = run_in_process("train", "--gs_config_path", str(tmp_path / "nope.yml"), "--log_dir", str(tmp_path / "logs"))
    _assert_refused(result, tmp_path, ["config file not found", "nope.yml"])


KNOWN_METRICS = "accuracy, auroc, f1, mae, precision, recall, rmse, top_k_accuracy"
METRICS_LINE = "    metrics: [accuracy, {name: f1, average: macro}]\n"

# (case id, metrics line, key path below metrics.config, text the location points at, message, hint)
METRIC_CASES = [
    ("unknown_metric", "    metrics: [accuracy, {name: f1x}]\n", "metrics.1.name", "name: f1x",
     f"unknown metric 'f1x'; known metrics: {KNOWN_METRICS}", "did you mean 'f1'?"),
    ("unknown_metric_name_only", "    metrics: [acuracy]\n", "metrics.0", "acuracy",
     f"unknown metric 'acuracy'; known metrics: {KNOWN_METRICS}", "did you mean 'accuracy'?"),
    ("bad_option_choice", "    metrics: [accuracy, {name: f1, average: macrox}]\n", "metrics.1.average",
     "average: macrox",
     "metric 'f1': option 'average': expected one of ['macro', 'micro', 'weighted'], got 'macrox'",
     "did you mean 'macro'?"),
    ("unknown_option", "    metrics: [accuracy, {name: f1, avrage: macro}]\n", "metrics.1.avrage", "avrage",
     "metric 'f1' has no option 'avrage'; accepted: average", "did you mean 'average'?"),
    ("option_of_wrong_type", "    metrics: [accuracy, {name: top_k_accuracy, k: two}]\n", "metrics.1.k", "k: two",
     "metric 'top_k_accuracy': option 'k': expected an integer, got 'two'", None),
]


@pytest.mark.parametrize("case", METRIC_CASES, ids=lambda c: c[0])
def test_bad_metric_is_found_by_validate(tmp_path: Path, case: tuple) -> None:
    _, line_text, below, marker, message, hint = case
    assert METRICS_LINE in BASE
    text = BASE.replace(METRICS_LINE, line_text, 1)
    path = _write(tmp_path, text)
    result = run_in_process("validate", "--gs_config_path", str(path))
    line = line_of(text, line_text.strip())
    column = line_text.index(marker) + 1
    expected = (f"config error: {path}:{line}:{column}: at 'metrics.config.{below}': metrics/default: {message}"
                + (f"\n  hint: {hint}" if hint else "") + "\n")
    assert result.returncode == 2, result.stderr
    assert result.stderr == expected


def test_bad_metric_is_refused_by_train_before_anything_starts(tmp_path: Path) -> None:
    text = BASE.replace(METRICS_LINE, "    metrics: [accuracy, {name: f1x}]\n", 1)
    path = _write(tmp_path, text)
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"))
    _assert_refused(result, tmp_path, [f"{path}:{line_of(text, 'f1x')}:", "metrics.config.metrics.1.name",
                                       "did you mean 'f1'?"])


@pytest.mark.parametrize("command", ["validate", "train"])
def test_error_in_an_override_names_the_override(tmp_path: Path, command: str) -> None:
    path = _write(tmp_path, BASE)
    extra = ["--log_dir", str(tmp_path / "logs")] if command == "train" else []
    result = run_in_process(command, "--gs_config_path", str(path), *extra, "-c", "optimizer.config.lr=abc")
    _assert_refused(result, tmp_path, [])
    assert result.stderr == ("config error: command-line override '-c optimizer.config.lr=abc': "
                             "at 'optimizer.config.lr': optimizer/adam: argument 'lr': expected a number, "
                             "got 'abc'\n")


def test_lr_written_1e_minus_3_is_a_float_in_the_file_and_in_overrides(tmp_path: Path) -> None:
    old = "lr: {sweep: absolute, values: [0.01, 0.05]}"
    path = _write(tmp_path, BASE.replace(old, "lr: 1e-3", 1))
    result = run_in_process("validate", "--gs_config_path", str(path))
    assert result.returncode == 0, result.stderr
    sweep = _write(tmp_path, BASE.replace(old, "lr: {sweep: absolute, values: [1e-3, 5E-2]}", 1))
    result = run_in_process("validate", "--gs_config_path", str(sweep))
    assert result.returncode == 0, result.stderr
    assert "valid; 2 experiment configs (optimizer.config.lr)" in result.stdout
    result = run_in_process("validate", "--gs_config_path", str(path), "-c", "optimizer.config.lr=1e-3")
    assert result.returncode == 0, result.stderr


def _gpu_count() -> int:
    import torch
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _no_such_gpu(given: str, index: int) -> str:
    count = _gpu_count()
    has = "no GPU (CUDA is not available)" if count == 0 else \
        f"{count} GPU{'s' if count != 1 else ''} ({', '.join(f'cuda:{i}' for i in range(count))})"
    return f"device '{given}' is GPU cuda:{index}, but this machine has {has}"


ACCEPTED = "accepted: cpu, a GPU index N (0, 1, ...) or cuda:N"


@pytest.mark.parametrize("given, message", [
    ("gpu0", f"'gpu0' is not a device name; {ACCEPTED}\n  hint: for GPU 0 write 0 or cuda:0"),
    ("cudaX", f"'cudaX' is not a device name; {ACCEPTED}\n  hint: use cpu, or leave it out to run on the CPU"),
    ("cuda:9", None),
    pytest.param("0", None, marks=pytest.mark.skipif(_gpu_count() > 0, reason="this machine has a GPU")),
], ids=["gpu0", "cudaX", "cuda9", "0"])
def test_bad_device_id_exits_2_before_anything_is_created(tmp_path: Path, given: str, message: str | None) -> None:
    path = _write(tmp_path, BASE)
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"),
                     "--computation_device_ids", "cpu", given)
    _assert_refused(result, tmp_path, [])
    if message is None:
        message = _no_such_gpu(given, int(given.split(":")[-1]))
    assert result.stderr.startswith(f"config error: at '--computation_device_ids': {message}"), result.stderr


def test_bad_device_id_in_run_config_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE)
    run_config = tmp_path / "run_config.yml"
    run_config.write_text("environment:\n  process_count: 1\n  computation_device_ids: [cpu, gpu1]\n")
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"),
                     "--run_config_path", str(run_config))
    _assert_refused(result, tmp_path, [])
    assert result.stderr == (f"config error: {run_config}:3:3: at 'environment.computation_device_ids': "
                             f"'gpu1' is not a device name; {ACCEPTED}\n  hint: for GPU 1 write 1 or cuda:1\n")
