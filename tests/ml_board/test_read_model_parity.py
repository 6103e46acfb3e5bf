"""One read model: the Python projection and the dashboard's run_model.js conclude the same from the same log.

Node imports src/ml_board/static/run_model.js (tests/ml_board/run_model_dump.mjs) and prints what it concluded;
GridSearchProjection replays the same log; every status, epoch, latest / best score, best epoch, score direction and
cross-validation n / mean / std must agree (floats to 1e-12, nulls equal).
"""
from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlgym.events.event_log import read_events
from mlgym.events.projection import GridSearchProjection
from mlgym.events.results import project, results_table
from tests.conftest import run_cli
from tests.ml_board.read_model_logs import write_synthetic_log, write_training_log

NODE = shutil.which("node")
DUMP = Path(__file__).with_name("run_model_dump.mjs")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


@pytest.fixture(scope="session")
def synthetic_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_log(tmp_path_factory.mktemp("read_model_synthetic"))


def projection_of(log: Path) -> GridSearchProjection:
    return project(read_events(log), log.parent.name)


def python_dump(projection: GridSearchProjection) -> dict[str, Any]:
    """What the Python read model concluded, in the shape run_model_dump.mjs prints."""
    experiments = {
        eid: {"status": v.status, "epoch": v.epoch, "num_epochs": v.num_epochs, "latest": v.latest, "best": v.best,
              "best_epochs": v.best_epochs, "best_epoch": v.best_epoch, "scores_at_best": v.scores_at_best,
              "directions": v.directions(projection.score_directions), "progress": v.progress,
              "step_progress": v.step_progress, "num_alerts": v.num_alerts, "alerts": v.alerts,
              "trial": v.trial, "search_decision": v.search_decision, "search_status": v.search_status,
              "selected_score": v.selected_score, "shown_status": projection.shown_status(v)}
        for eid, v in projection.views().items()}
    cv = {key: projection.cv_stats(key) for key in projection.score_keys()}
    return {"applied_all": True, "best": python_best(projection), "status": projection.live_status(), "last_seq": projection.last_seq,
            "selection": projection.selection,
            "keys": list(projection.score_keys()), "experiments": experiments, "cv": cv,
            "search": projection.search_summary()}


def python_best(projection: GridSearchProjection) -> dict[str, Any]:
    """The best the report marks (its results table's `best` row); for nested CV the grid point each refit trained,
    which is the one model selection chose (mlgym/validation/selection.py) and the dashboard highlights."""
    if projection.strategy == "nested_cv":
        return {"experiment": None, "grid_points": [{"outer": (v.fold or {}).get("outer"), "grid_point_id": v.grid_point_id}
                                                    for v in projection.refits()]}
    table = results_table(projection)
    rows = table[table["best"]] if "best" in table else table.iloc[0:0]
    if rows.empty:
        return {"experiment": None, "grid_points": []}
    row = rows.iloc[0]
    if projection.strategy == "cross_validation":
        return {"experiment": None, "grid_points": [{"outer": None, "grid_point_id": row["grid_point_id"]}]}
    return {"experiment": row["experiment_id"], "grid_points": []}


def node_dump(log: Path) -> dict[str, Any]:
    result = subprocess.run([NODE, str(DUMP), str(log)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def differences(py: Any, js: Any, path: str = "") -> list[str]:
    """Where two dumps differ: floats beyond 1e-12 (relative or absolute), anything else not equal."""
    if isinstance(py, dict) and isinstance(js, dict):
        if set(py) != set(js):
            return [f"{path}: keys {sorted(set(py) ^ set(js))} only on one side"]
        return [d for k in py for d in differences(py[k], js[k], f"{path}/{k}")]
    if isinstance(py, list) and isinstance(js, list):
        if len(py) != len(js):
            return [f"{path}: {len(py)} items in Python, {len(js)} in JS"]
        return [d for i, (a, b) in enumerate(zip(py, js)) for d in differences(a, b, f"{path}[{i}]")]
    numbers = (int, float)
    if isinstance(py, numbers) and isinstance(js, numbers) and not isinstance(py, bool) and not isinstance(js, bool):
        return [] if math.isclose(py, js, rel_tol=1e-12, abs_tol=1e-12) else [f"{path}: {py!r} != {js!r}"]
    return [] if py == js else [f"{path}: {py!r} != {js!r}"]


def assert_parity(log: Path) -> dict[str, Any]:
    py = python_dump(projection_of(log))
    js = node_dump(log)
    assert differences(py, js) == []
    return py


REAL = ["example_grid_search", "example_nested_cv", "cross_validation", "regression"]


@needs_node
@pytest.mark.parametrize("name", REAL)
def test_dashboard_reads_a_real_run_like_the_projection(real_logs: dict[str, Path], name: str) -> None:
    dump = assert_parity(real_logs[name])
    # written with event schema 2: configs as overrides of a config base, which neither model mistakes for data
    kinds = [e["event_type"] for e in read_events(real_logs[name])]
    assert "config_base" in kinds and kinds.index("config_base") < kinds.index("experiment_config")
    experiments = dump["experiments"]
    assert experiments and all(e["status"] == "done" for e in experiments.values())
    assert dump["best"]["experiment"] or dump["best"]["grid_points"]  # a finished run has a best (what the board marks)
    # a nested-CV refit is scored on train and test only: no validation score to select an epoch by
    assert all((e["best_epoch"] is None) == eid.startswith("refit.") for eid, e in experiments.items())
    if name in ("cross_validation", "example_nested_cv"):
        key = f"val/{dump['selection']['metric']}"
        groups = dump["cv"][key]
        assert groups and all(g["n"] == g["folds"] >= 2 and g["std"] is not None for g in groups)


@needs_node
def test_dashboard_reads_an_old_log_like_the_projection(synthetic_log: Path) -> None:
    assert_parity(synthetic_log)


@pytest.fixture(scope="session")
def training_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_training_log(tmp_path_factory.mktemp("read_model_training"))


@needs_node
def test_dashboard_reads_step_progress_and_alerts_like_the_projection(training_log: Path) -> None:
    assert_parity(training_log)


def test_step_progress_and_alerts_follow_the_read_model_rules(training_log: Path) -> None:
    views = projection_of(training_log).views()
    t1, t2, t3, t4 = (views[e] for e in ("T1", "T2", "T3", "T4"))
    assert t1.status == "running" and t1.epoch == 2 and t1.progress == pytest.approx((2 + 3 / 4) / 3, abs=1e-15)
    assert t1.step_progress == {"epoch": 3, "step": 3, "num_steps": 4, "global_step": 11, "loss": 0.085,
                                "lr": 0.01, "samples_per_s": 111.0, "skipped_steps": 0, "max_memory_allocated": None}
    assert t1.latest["train/cross_entropy"] == 0.125 and t1.best_epoch == 2 and t1.num_alerts == 1
    assert t2.progress == pytest.approx(0.0) and t2.step_progress["skipped_steps"] == 1  # no num_steps: epochs only
    assert t2.step_progress["loss"] is None and t2.num_alerts == 102 and len(t2.alerts) == 100
    assert t2.alerts[0]["message"] == "alert 2" and t2.alerts[-1]["value"] is None
    assert t3.status == "failed" and t3.progress == 0.0 and t3.alerts[0]["action"] == "stop"
    assert t4.progress == pytest.approx(2 / 3, abs=1e-15)  # step 7 of 5: the end of epoch 2


def test_old_log_follows_the_read_model_rules(synthetic_log: Path) -> None:
    p = projection_of(synthetic_log)
    rows = {r["experiment_id"]: r for r in p.experiments()}
    assert p.selection == {"split": "val", "metric": "accuracy", "mode": "max"}
    assert {eid: r["status"] for eid, r in rows.items()} == {
        "A.f0": "done", "A.f1": "done", "B.f0": "done", "B.f1": "failed", "C.f0": "running"}
    a0 = rows["A.f0"]
    assert a0["epoch"] == 3 and a0["latest"]["val/accuracy"] is None  # NaN at the highest epoch
    assert a0["best"]["val/accuracy"] == 0.8 and a0["best_epoch"] == 2
    assert a0["scores_at_best"] == {"train/accuracy": 0.8, "train/mse": 0.6, "val/accuracy": 0.8,
                                    "val/error_rate": 0.3, "val/mse": 0.6}
    assert a0["directions"] == {"accuracy": "max", "mse": "min", "error_rate": "max"}  # no guessing from names
    assert a0["best"]["val/error_rate"] == 0.4 and a0["best"]["val/mse"] == 0.6
    a1 = rows["A.f1"]
    assert a1["best_epoch"] == 2 and p.views()["A.f1"].best_epochs["val/accuracy"] == 2  # a tie keeps the first
    assert a1["latest"]["val/mse"] is None and "val/mse" not in a1["best"]  # infinity is not a score
    stats = {(g["outer"], g["grid_point_id"]): g for g in p.cv_stats("val/error_rate")}
    assert {k: (g["folds"], g["done"], g["n"]) for k, g in stats.items()} == {
        (None, "A"): (2, 2, 2), (None, "B"): (2, 1, 1), (None, "C"): (1, 0, 0)}
    assert stats[(None, "A")]["mean"] == pytest.approx(0.275, abs=1e-12)
    assert stats[(None, "A")]["std"] == pytest.approx(math.sqrt(2 * 0.075 ** 2), abs=1e-12)  # ddof=1
    assert stats[(None, "B")]["std"] is None and stats[(None, "C")]["mean"] is None
    accuracy = {(g["outer"], g["grid_point_id"]): g["n"] for g in p.cv_stats("val/accuracy")}
    assert accuracy[(None, "A")] == 1  # A.f0's latest accuracy is NaN


def test_differences_finds_a_changed_score(synthetic_log: Path) -> None:
    py = python_dump(projection_of(synthetic_log))
    changed = json.loads(json.dumps(py))
    changed["experiments"]["A.f0"]["best"]["val/accuracy"] += 1e-9
    changed["cv"]["val/error_rate"][0]["std"] = None
    assert differences(py, changed) == ["/experiments/A.f0/best/val/accuracy: 0.8 != 0.800000001",
                                        f"/cv/val/error_rate[0]/std: {py['cv']['val/error_rate'][0]['std']!r} != None"]


def _val_mae_by_epoch(log: Path) -> dict[str, dict[int, float]]:
    scores: dict[str, dict[int, float]] = {}
    for e in read_events(log):
        if e["event_type"] == "evaluation_result" and e["payload"]["split"] == "val":
            mae = next(s["score"] for s in e["payload"]["metric_scores"] if s["metric"] == "mae")
            scores.setdefault(e["experiment_id"], {})[e["payload"]["epoch"]] = mae
    return scores


@needs_node
def test_regression_best_is_lowest_mae(real_logs: dict[str, Path]) -> None:
    log = real_logs["regression"]
    maes = _val_mae_by_epoch(log)
    lowest = {eid: min(by_epoch, key=by_epoch.get) for eid, by_epoch in maes.items()}
    assert lowest and all(len(set(by_epoch.values())) == len(by_epoch) for by_epoch in maes.values())
    report = run_cli("report", "--grid_search_id", log.parent.name, "--log_dir", str(log.parent.parent),
                     "--format", "json")
    assert report.returncode == 0, report.stderr
    assert {r["experiment_id"]: r["best_epoch"] for r in json.loads(report.stdout)["rows"]} == lowest
    rows = {r["experiment_id"]: r for r in projection_of(log).experiments()}
    js = node_dump(log)["experiments"]
    for eid, epoch in lowest.items():
        assert rows[eid]["directions"]["mae"] == js[eid]["directions"]["mae"] == "min"
        assert rows[eid]["best"]["val/mae"] == js[eid]["best"]["val/mae"] == maes[eid][epoch]
        assert rows[eid]["best_epoch"] == js[eid]["best_epoch"] == epoch


@needs_node
def test_a_paused_trial_reads_as_paused_in_both_read_models(tmp_path: Path) -> None:
    from tests.ml_board.read_model_logs import write_search_log
    dump = assert_parity(write_search_log(tmp_path))
    paused, done = dump["experiments"]["P"], dump["experiments"]["D"]
    assert (paused["status"], paused["epoch"], paused["progress"]) == ("paused", 3, pytest.approx(3 / 9))
    assert (done["status"], done["progress"]) == ("done", 1.0)
    assert (paused["trial"], paused["search_status"]) == (0, "stopped at rung 1 (epoch 3)")
    assert paused["search_decision"] == {"decision": "stopped", "trial": 0, "rung": 1, "epoch": 3, "score": 0.3,
                                         "cut": None}
    assert (done["trial"], done["search_status"], done["selected_score"]) == (1, "done", 0.9)
    assert dump["experiments"]["Q"]["search_status"] == "scheduled"
    assert dump["search"] == {"searcher": "random", "scheduler": {
        "type": "asha", "metric": "val/accuracy", "mode": "max", "min_epochs": 1, "reduction_factor": 3},
        "trials": ["P", "D", "Q"], "epochs_trained": 3 + 9 + 0, "epochs_full": 27, "winner": "D"}


@needs_node
def test_dashboard_reads_a_real_asha_search_like_the_projection(asha_search_log: Path) -> None:
    dump = assert_parity(asha_search_log)
    events = list(read_events(asha_search_log))
    stopped = {e["experiment_id"]: e["payload"] for e in events if e["event_type"] == "trial_stopped"}
    suggested = {e["payload"]["trial"]: e["experiment_id"] for e in events if e["event_type"] == "trial_suggested"}
    assert stopped and len(suggested) == 9 and dump["search"]["trials"] == [suggested[t] for t in range(9)]
    for eid, e in dump["experiments"].items():
        assert e["trial"] is not None
        if eid in stopped:
            assert e["status"] == "paused" and e["search_decision"] == {"decision": "stopped", **stopped[eid]}
            assert e["search_status"] == f"stopped at rung {stopped[eid]['rung']} (epoch {stopped[eid]['epoch']})"
        else:
            assert e["status"] == "done" and e["search_status"] == "done"
    assert dump["search"]["epochs_full"] == 9 * 9
    assert dump["search"]["epochs_trained"] == sum(e["epoch"] for e in dump["experiments"].values()) < 81


@needs_node
def test_a_run_silent_for_three_heartbeats_is_stale_in_both_read_models(tmp_path: Path) -> None:
    import time
    from tests.ml_board.read_model_logs import write_crashed_log
    old = assert_parity(write_crashed_log(tmp_path, base_ts=time.time() - 200))  # last event ~180 s ago > 3 x 30 s
    assert old["status"] == "stale"
    assert {eid: e["shown_status"] for eid, e in old["experiments"].items()} == {"A": "done", "B": "interrupted"}
    assert old["experiments"]["B"]["status"] == "running"  # what the log says; only what is shown changes
    recent = assert_parity(write_crashed_log(tmp_path, base_ts=time.time() - 60))  # last event ~40 s ago
    assert recent["status"] == "running" and recent["experiments"]["B"]["shown_status"] == "running"
    projection = projection_of(write_crashed_log(tmp_path, base_ts=1000.0))
    last = projection.last_ts
    assert not projection.is_stale(now=last + 90.0) and projection.is_stale(now=last + 90.001)
