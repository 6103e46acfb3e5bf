"""Searches inside cross-validation and nested CV, with real worker processes: a trial is scored by its mean over
the folds, every outer fold of nested CV runs its own seeded search and refits its own winner, and a killed
nested search warm-starts to the very same end."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from mlgym.config.loader import load_config
from mlgym.config.sweep import find_sweeps
from mlgym.events.event_log import read_events
from mlgym.events.results import project, results_table
from mlgym.run import ExecutionSettings, RunRequest, start
from mlgym.run.search_run import study_seed
from mlgym.search.random_search import random_points
from mlgym.search.settings import SchedulerSettings, SearchSettings
from tests.conftest import CONFIGS, run_cli
from tests.mlgym.checkpointing.test_warm_start import count_evaluations, kill_when, start_in_background, the_log
from tests.mlgym.cli.test_adaptive_search_cli import search_config  # noqa: F401 - the same search config

pytestmark = pytest.mark.timeout(240)
NESTED = "NestedCV:\n  num_outer_loop_folds: 2\n  num_inner_loop_folds: 2\n  shuffle: true\n  seed: 0\n"
CV = "CROSS_VALIDATION:\n  num_folds: 2\n  shuffle: true\n  seed: 0\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name


def events_of(log_dir: Path) -> list[dict]:
    return list(read_events(the_log(log_dir)))


def val_accuracy(events: list[dict]) -> dict[tuple[str, int], float]:
    """(experiment, epoch) -> val accuracy (a resumed epoch logged twice: the last value)."""
    return {(e["experiment_id"], e["payload"]["epoch"]): next(
        s["score"] for s in e["payload"]["metric_scores"] if s["metric"] == "accuracy")
        for e in events if e["event_type"] == "evaluation_result" and e["payload"]["split"] == "val"}


def configs(events: list[dict]) -> dict[str, dict]:
    return {e["experiment_id"]: e["payload"] for e in events if e["event_type"] == "experiment_config"}


def suggested_by_outer(events: list[dict]) -> dict[int, dict[int, float]]:
    """outer fold -> trial -> lr, from the trial_suggested events (one per inner fold: all must agree)."""
    folds = {eid: p.get("fold") or {} for eid, p in configs(events).items()}
    trials: dict[int, dict[int, float]] = defaultdict(dict)
    for e in events:
        if e["event_type"] == "trial_suggested":
            outer, p = folds[e["experiment_id"]]["outer"], e["payload"]
            lr = p["params"]["optimizer.config.lr"]
            assert trials[outer].setdefault(p["trial"], lr) == lr
    return dict(trials)


def test_nested_cv_runs_a_seeded_random_search_per_outer_fold_and_refits_each_winner(
        tmp_path: Path, search_config: Path, capsys: pytest.CaptureFixture) -> None:
    from mlgym.cli.main import main
    validation = write(tmp_path, "nested.yml", NESTED)
    run_config = write(tmp_path, "run.yml", "search: {searcher: random, num_samples: 3, seed: 5}\n")
    assert main(["validate", "--gs_config_path", str(search_config), "--validation_config_path", str(validation),
                 "--run_config_path", str(run_config)]) == 0
    assert "random search of 3 trials per outer fold, each drawing its own, seed 5; strategy nested_cv: " \
           "14 jobs" in capsys.readouterr().out
    outcome = start(RunRequest(search_config, tmp_path / "logs", 2, validation_config_path=validation,
                               execution=ExecutionSettings(process_count=2),
                               search=SearchSettings("random", 3, 5)))
    assert outcome.status == "done" and len(outcome.results) == 14
    events = events_of(tmp_path / "logs")

    # each outer fold's trials are the random draws of its own seed (the same seed gives the same trials)
    config, source = load_config(search_config)
    sweeps = find_sweeps(config, source)
    trials = suggested_by_outer(events)
    for outer in (0, 1):
        drawn = random_points(config, sweeps, SearchSettings("random", 3, study_seed(5, outer)))
        assert trials[outer] == {k: p.hyperparameters["optimizer.config.lr"] for k, p in enumerate(drawn)}
    assert set(trials[0].values()).isdisjoint(trials[1].values())

    # the refit of each outer fold trains the trial with the best mean inner val accuracy at the last epoch
    scores, by_id = val_accuracy(events), configs(events)
    for outer in (0, 1):
        means = defaultdict(list)
        for eid, p in by_id.items():
            if p.get("role") == "inner" and p["fold"]["outer"] == outer:
                means[p["grid_point_id"]].append(scores[(eid, 2)])
        means = {gp: float(np.mean(v)) for gp, v in means.items()}
        refit = by_id[f"refit.o{outer}"]
        assert len(means) == 3 and refit["grid_point_id"] == max(means, key=means.get)
        assert refit["inner_scores"] == pytest.approx(means)
        assert (f"refit.o{outer}", 2) in {(e["experiment_id"], e["payload"]["epoch"]) for e in events
                                          if e["event_type"] == "evaluation_result" and
                                          e["payload"]["split"] == "test"}


def test_asha_inside_cross_validation_scores_each_trial_by_its_mean_over_folds(tmp_path: Path,
                                                                               search_config: Path) -> None:
    search = SearchSettings("random", 4, 2, scheduler=SchedulerSettings("asha", min_epochs=1, reduction_factor=2))
    outcome = start(RunRequest(search_config, tmp_path / "logs", 4, validation_config_path=write(tmp_path, "cv.yml",
                                                                                                  CV),
                               execution=ExecutionSettings(kind="main_process"), search=search))
    assert outcome.status == "done"
    events = events_of(tmp_path / "logs")
    scores, by_id = val_accuracy(events), configs(events)
    decided = [e for e in events if e["event_type"] in ("trial_promoted", "trial_stopped")]
    assert {e["event_type"] for e in decided} == {"trial_promoted", "trial_stopped"}
    per_trial = defaultdict(set)
    for e in decided:
        p = e["payload"]
        gp = by_id[e["experiment_id"]]["grid_point_id"]
        per_trial[(e["event_type"], p["trial"], p["rung"])].add(e["experiment_id"])
        folds = [scores[(f"{gp}.f{k}", p["epoch"])] for k in (0, 1)]
        assert p["score"] == pytest.approx(float(np.mean(folds)), abs=1e-6)
    assert all(len(ids) == 2 for ids in per_trial.values())  # each decision logged on both folds' experiments
    trained = {(eid, epoch) for eid, epoch in scores}
    assert len(trained) < 4 * 2 * 4  # the scheduler saved epochs
    table = results_table(project(events, outcome.grid_search_id))  # one row per trial, where the search left it
    stopped = {e["payload"]["trial"] for e in decided if e["event_type"] == "trial_stopped"}
    assert sorted(table["trial"]) == [0, 1, 2, 3]
    assert set(table.loc[table["search"].str.startswith("stopped at rung"), "trial"]) == stopped


def decisions(events: list[dict]) -> list[tuple]:
    return [(e["event_type"], e["experiment_id"], json.dumps(e["payload"], sort_keys=True)) for e in events
            if e["event_type"].startswith("trial_")]


def test_a_killed_nested_cv_optuna_search_with_median_stopping_warm_starts_to_the_same_end(
        tmp_path: Path, search_config: Path) -> None:
    validation = write(tmp_path, "nested.yml", NESTED)
    text = "search:\n  searcher: optuna\n  num_samples: 3\n  seed: 4\n  scheduler: {type: median, min_samples: 1}\n"
    run_config = write(tmp_path, "run.yml", text)
    search = SearchSettings("optuna", 3, 4, "tpe", SchedulerSettings("median", min_samples=1))
    reference = start(RunRequest(search_config, tmp_path / "ref", 3, validation_config_path=validation,
                                 execution=ExecutionSettings(kind="main_process"), search=search))
    assert reference.status == "done"
    expected = events_of(tmp_path / "ref")
    total = count_evaluations(tmp_path / "ref")

    log_dir = tmp_path / "killed"
    process = start_in_background("train", "--gs_config_path", str(search_config), "--log_dir", str(log_dir),
                                  "--validation_config_path", str(validation), "--run_config_path", str(run_config),
                                  "--num_epochs", "3", "--process_count", "1")
    assert kill_when(process, log_dir, total // 2), "the search finished before it could be killed"
    before = events_of(log_dir)
    resumed = run_cli("warmstart", "--grid_search_id", the_log(log_dir).parent.name, "--log_dir", str(log_dir),
                      "--process_count", "1")
    assert resumed.returncode == 0, resumed.stderr
    events = events_of(log_dir)
    assert 0 < len(decisions(before)) < len(decisions(expected))
    assert decisions(events) == decisions(expected)  # same trials and decisions per outer fold, each logged once
    assert val_accuracy(events) == val_accuracy(expected)
    refits = {eid: (p["grid_point_id"], p["inner_scores"]) for eid, p in configs(events).items()
              if eid.startswith("refit")}
    assert refits == {eid: (p["grid_point_id"], p["inner_scores"]) for eid, p in configs(expected).items()
                      if eid.startswith("refit")} and len(refits) == 2
    assert [e["seq"] for e in events] == list(range(len(events)))
