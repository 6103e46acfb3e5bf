"""The real CLI in a subprocess: a small grid search end to end, its log, its report, its reproducibility."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgym.events.event_log import read_events
from tests.conftest import CONFIGS, run_cli


def train(tmp_path: Path, *extra: str, log_dir: str = "logs") -> tuple[object, Path]:
    result = run_cli("train", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), "--log_dir",
                     str(tmp_path / log_dir), "--num_epochs", "3", *extra)
    assert result.returncode == 0, result.stderr
    logs = list((tmp_path / log_dir).glob("*/event_storage.log"))
    assert len(logs) == 1
    return result, logs[0]


def evaluation_scores(path: Path) -> list[tuple]:
    return [(e["experiment_id"], e["payload"]["epoch"], e["payload"]["split"],
             tuple((s["metric"], s["score"]) for s in e["payload"]["metric_scores"]),
             tuple((s["loss"], s["score"]) for s in e["payload"]["loss_scores"]))
            for e in read_events(path) if e["event_type"] == "evaluation_result"]


def test_train_writes_a_complete_gapless_log(tmp_path: Path) -> None:
    result, path = train(tmp_path, "--environment", "main_process")
    events = list(read_events(path))
    assert [e["seq"] for e in events] == list(range(len(events)))
    first = events[0]
    assert first["event_type"] == "grid_search_started"
    env = first["payload"]["environment"]
    assert {"mlgym_version", "git_commit", "git_dirty", "hostname", "python_version", "torch_version"} <= set(env)
    assert first["payload"]["seed"] == 0 and first["payload"]["num_experiments"] == 2
    assert first["payload"]["gs_config"]["optimizer"]["config"]["lr"] == {"sweep": "absolute",
                                                                         "values": [0.01, 0.05]}
    configs = [e for e in events if e["event_type"] == "experiment_config"]
    assert sorted(c["payload"]["hyperparameters"]["optimizer.config.lr"] for c in configs) == [0.01, 0.05]
    scores = evaluation_scores(path)
    assert len(scores) == 2 * 3 * 3  # experiments x epochs x splits
    assert {(s[1], s[2]) for s in scores} == {(e, sp) for e in (1, 2, 3) for sp in ("train", "val", "test")}
    assert events[-1]["event_type"] == "grid_search_finished"
    assert events[-1]["payload"]["status"] == "done"
    assert str(path) in result.stdout and "results" in result.stdout


def test_same_config_and_seed_give_bit_identical_metrics(tmp_path: Path) -> None:
    _, first = train(tmp_path, "--environment", "main_process", log_dir="a")
    _, second = train(tmp_path, "--process_count", "2", log_dir="b")
    assert evaluation_scores(first) and sorted(evaluation_scores(first)) == sorted(evaluation_scores(second))


def test_report_rebuilds_the_results_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from mlgym.cli.main import main
    _, path = train(tmp_path, "--environment", "main_process")
    gs_id = path.parent.name
    assert main(["report", "--grid_search_id", gs_id, "--log_dir", str(tmp_path / "logs"), "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["strategy"] == "grid_search" and len(table["rows"]) == 2
    assert {"lr", "best_epoch", "val/accuracy", "test/accuracy"} <= set(table["columns"])
    assert main(["report", "--grid_search_id", gs_id, "--log_dir", str(tmp_path / "logs"), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("experiment_id,status,lr,best_epoch")
    missing = run_cli("report", "--grid_search_id", "nope", "--log_dir", str(tmp_path / "logs"))
    assert missing.returncode == 2 and "no event log for grid search 'nope'" in missing.stderr


def test_validate_counts_experiments_and_trains_nothing(tmp_path: Path) -> None:
    result = run_cli("validate", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 experiment configs" in result.stdout and "optimizer.config.lr" in result.stdout
    assert not (tmp_path / "event_storage").exists()


def test_run_config_file_supplies_settings_and_flags_win(tmp_path: Path) -> None:
    run_config = tmp_path / "run_config.yml"
    run_config.write_text("run_configuration:\n  num_epochs: 2\nenvironment:\n  type: main_process\n"
                          f"logging:\n  log_dir: {tmp_path / 'from_file'}\n")
    result = run_cli("train", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), "--run_config_path",
                     str(run_config), "--num_epochs", "1")
    assert result.returncode == 0, result.stderr
    path = next((tmp_path / "from_file").glob("*/event_storage.log"))
    assert {s[1] for s in evaluation_scores(path)} == {1}


def test_a_failing_experiment_is_reported_and_the_exit_status_says_so(tmp_path: Path) -> None:
    config = tmp_path / "gs.yml"
    text = (CONFIGS / "iris_mlp.yml").read_text().replace(
        "    input_dim: 4", "    input_dim: {sweep: absolute, values: [4, 5]}")
    config.write_text(text)
    result = run_cli("train", "--gs_config_path", str(config), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "1", "--environment", "main_process")
    assert result.returncode == 1
    path = next((tmp_path / "logs").glob("*/event_storage.log"))
    statuses = [e["payload"] for e in read_events(path) if e["event_type"] == "job_status"
                and e["payload"]["status"] in ("done", "failed")]
    assert sum(s["status"] == "done" for s in statuses) == 2
    failed = [s for s in statuses if s["status"] == "failed"]
    assert len(failed) == 2 and all("Traceback" in s["traceback"] for s in failed)
    assert "FAILED" in result.stderr
