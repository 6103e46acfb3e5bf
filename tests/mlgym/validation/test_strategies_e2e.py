"""Cross-validation and nested CV through the real CLI on worker processes."""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from mlgym.events.event_log import read_events
from tests.conftest import CONFIGS, run_cli


def run(tmp_path: Path, validation: str) -> tuple[list[dict], dict]:
    path = tmp_path / "validation.yml"
    path.write_text(validation)
    result = run_cli("train", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), "--validation_config_path",
                     str(path), "--log_dir", str(tmp_path / "logs"), "--num_epochs", "2", "--process_count", "2")
    assert result.returncode == 0, result.stderr
    log = next((tmp_path / "logs").glob("*/event_storage.log"))
    report = run_cli("report", "--grid_search_id", log.parent.name, "--log_dir", str(tmp_path / "logs"),
                     "--format", "json")
    assert report.returncode == 0, report.stderr
    return list(read_events(log)), json.loads(report.stdout)


def test_cross_validation_reports_mean_and_std_per_grid_point(tmp_path: Path) -> None:
    events, report = run(tmp_path, "CROSS_VALIDATION:\n  num_folds: 3\n  seed: 1\n")
    done = [e for e in events if e["event_type"] == "job_status" and e["payload"]["status"] == "done"]
    assert len(done) == 2 * 3
    assert report["strategy"] == "cross_validation" and len(report["rows"]) == 2
    for row in report["rows"]:
        assert row["folds_done"] == "3/3"
        assert 0 <= row["val/accuracy_mean"] <= 1 and row["val/accuracy_std"] >= 0
    # the mean in the report is the mean of the folds' final val accuracy in the log
    gp = report["rows"][0]["grid_point_id"]
    finals = {}
    for e in events:
        if e["event_type"] == "evaluation_result" and e["experiment_id"].startswith(gp) and e["payload"]["split"] == "val":
            finals[e["experiment_id"]] = e["payload"]["metric_scores"][0]["score"]
    assert abs(sum(finals.values()) / 3 - report["rows"][0]["val/accuracy_mean"]) < 1e-12
    # ... and its std is the sample std (ddof=1) of those scores
    assert abs(statistics.stdev(finals.values()) - report["rows"][0]["val/accuracy_std"]) < 1e-12


def test_nested_cv_runs_the_job_graph_and_reports_per_outer_fold(tmp_path: Path) -> None:
    events, report = run(tmp_path, "NestedCV:\n  num_outer_loop_folds: 2\n  num_inner_loop_folds: 2\n"
                                   "  selection: {split: val, metric: accuracy, mode: max}\n")
    done = [e["experiment_id"] for e in events if e["event_type"] == "job_status" and e["payload"]["status"] == "done"]
    assert len(done) == 2 * (2 * 2 + 1)
    order = {eid: i for i, eid in enumerate(done)}
    for o in range(2):
        inner = [eid for eid in done if f".o{o}.i" in eid]
        assert all(order[eid] < order[f"refit.o{o}"] for eid in inner)
    refit_configs = [e["payload"] for e in events if e["event_type"] == "experiment_config"
                     and e["experiment_id"].startswith("refit.")]
    assert len(refit_configs) == 2 and all(p["inner_scores"] for p in refit_configs)
    rows = report["rows"]
    assert [r["outer_fold"] for r in rows] == ["0", "1", "mean", "std"]
    assert rows[0]["chosen_grid_point"] in refit_configs[0]["inner_scores"]
    tests = [r["test/accuracy"] for r in rows[:2]]
    assert abs(rows[2]["test/accuracy"] - sum(tests) / 2) < 1e-12
    assert abs(rows[3]["test/accuracy"] - statistics.stdev(tests)) < 1e-12  # sample std over the outer folds
