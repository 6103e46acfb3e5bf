"""Adaptive searches through the real CLI on iris: ASHA pauses, promotes and stops trials (and saves compute),
Optuna asks for its trials as the run goes, and a search killed with SIGKILL warm-starts to the very same end."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgym.events.event_log import read_events
from mlgym.events.results import project, results_table
from tests.conftest import CONFIGS, run_cli, run_in_process
from tests.mlgym.checkpointing.test_warm_start import count_evaluations, kill_when, start_in_background, the_log

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def search_config(tmp_path: Path) -> Path:
    path = tmp_path / "search.yml"
    path.write_text(f"imports: [{CONFIGS / 'iris_mlp.yml'}]\n"
                    "optimizer:\n  config:\n    lr: {sweep: loguniform, low: 0.0005, high: 0.1}\n")
    return path


def events_of(log_dir: Path) -> list[dict]:
    return list(read_events(the_log(log_dir)))


def decisions(events: list[dict]) -> list[tuple]:
    """Every trial_* event as (type, payload) in log order."""
    return [(e["event_type"], json.dumps(e["payload"], sort_keys=True)) for e in events
            if e["event_type"].startswith("trial_")]


def epochs_trained(events: list[dict]) -> int:
    """Distinct (experiment, epoch) pairs evaluated on val: the epochs the search paid for."""
    return len({(e["experiment_id"], e["payload"]["epoch"]) for e in events
                if e["event_type"] == "evaluation_result" and e["payload"]["split"] == "val"})


def final_val_scores(events: list[dict]) -> dict[tuple, float]:
    """(experiment, epoch) -> val accuracy, the last logged value winning (a resumed epoch may be logged twice)."""
    return {(e["experiment_id"], e["payload"]["epoch"]): next(
        s["score"] for s in e["payload"]["metric_scores"] if s["metric"] == "accuracy")
        for e in events if e["event_type"] == "evaluation_result" and e["payload"]["split"] == "val"}


def winner(events: list[dict]) -> tuple[str, float]:
    scores = final_val_scores(events)
    best = max(scores.values())
    return min(eid for (eid, _), s in scores.items() if s == best), best


def test_asha_pauses_promotes_and_stops_trials_and_trains_less_than_the_budget(tmp_path: Path,
                                                                              search_config: Path) -> None:
    result = run_cli("train", "--gs_config_path", str(search_config), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "9", "--searcher", "random", "--num_samples", "6", "--scheduler", "asha",
                     "--process_count", "2")
    assert result.returncode == 0, result.stderr
    events = events_of(tmp_path / "logs")
    kinds = [kind for kind, _ in decisions(events)]
    assert kinds.count("trial_suggested") == 6 and kinds.count("trial_promoted") >= 2
    assert kinds.count("trial_stopped") >= 4
    started = events[0]["payload"]["search"]
    assert started["scheduler"] == {"type": "asha", "metric": "val/accuracy", "mode": "max", "min_epochs": 1,
                                    "reduction_factor": 3, "interval": 1, "min_samples": 3}
    assert started["max_concurrent"] == 2
    promoted = {json.loads(p)["trial"] for kind, p in decisions(events) if kind == "trial_promoted"}
    suggested = {json.loads(p)["trial"]: json.loads(p)["experiment_id"] for kind, p in decisions(events)
                 if kind == "trial_suggested"}
    restored = {e["experiment_id"] for e in events if e["event_type"] == "checkpoint"
                and e["payload"]["action"] == "restored"}
    assert restored == {suggested[t] for t in promoted}  # a promoted trial resumes from its checkpoint
    assert epochs_trained(events) < 6 * 9 / 3
    # every trial's last status says where it stopped; none is done unless it trained all 9 epochs
    last = {}
    for e in events:
        if e["event_type"] == "experiment_status" and e["payload"]["status"] != "training":
            last[e["experiment_id"]] = (e["payload"]["status"], e["payload"]["epoch"])
    assert all(status == "paused" and epoch < 9 or status == "done" and epoch == 9 for status, epoch in last.values())
    assert "paused" in result.stdout
    table = results_table(project(events, the_log(tmp_path / "logs").parent.name))
    by_trial = dict(zip(table["trial"], table["search"]))
    assert sorted(by_trial) == list(range(6))
    stopped = {json.loads(p)["trial"]: json.loads(p) for kind, p in decisions(events) if kind == "trial_stopped"}
    for trial, stop in stopped.items():
        assert by_trial[trial] == f"stopped at rung {stop['rung']} (epoch {stop['epoch']})"


def test_optuna_search_end_to_end(tmp_path: Path, search_config: Path) -> None:
    result = run_cli("train", "--gs_config_path", str(search_config), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "2", "--searcher", "optuna", "--num_samples", "4", "--sampler", "tpe",
                     "--process_count", "2")
    assert result.returncode == 0, result.stderr
    events = events_of(tmp_path / "logs")
    suggested = [json.loads(p) for kind, p in decisions(events) if kind == "trial_suggested"]
    assert [s["trial"] for s in suggested] == [0, 1, 2, 3]
    assert all(0.0005 <= s["params"]["optimizer.config.lr"] <= 0.1 for s in suggested)
    assert events[0]["payload"]["search"]["sampler"] == "tpe"
    done = [e for e in events if e["event_type"] == "experiment_status" and e["payload"]["status"] == "done"]
    assert len(done) == 4 and "4 done, 0 failed" in result.stdout


SEARCH = ("--num_epochs", "9", "--searcher", "optuna", "--num_samples", "5", "--scheduler", "asha",
          "--search_seed", "3", "--process_count", "1")


def test_killed_search_warm_starts_to_the_same_trials_scores_and_winner(tmp_path: Path,
                                                                       search_config: Path) -> None:
    reference = run_cli("train", "--gs_config_path", str(search_config), "--log_dir", str(tmp_path / "ref"), *SEARCH)
    assert reference.returncode == 0, reference.stderr
    expected = events_of(tmp_path / "ref")
    total = count_evaluations(tmp_path / "ref")

    log_dir = tmp_path / "killed"
    process = start_in_background("train", "--gs_config_path", str(search_config), "--log_dir", str(log_dir),
                                  *SEARCH)
    assert kill_when(process, log_dir, total // 2), "the search finished before it could be killed"
    gs_id = the_log(log_dir).parent.name
    before = events_of(log_dir)
    assert 0 < len(decisions(before)) < len(decisions(expected))
    done_before = _done_jobs(before)
    resumed = run_cli("warmstart", "--grid_search_id", gs_id, "--log_dir", str(log_dir), "--process_count", "1")
    assert resumed.returncode == 0, resumed.stderr
    events = events_of(log_dir)

    assert decisions(events) == decisions(expected)  # the same trials, promotions and stops, each logged once
    assert final_val_scores(events) == final_val_scores(expected)
    assert winner(events) == winner(expected)
    assert [e["seq"] for e in events] == list(range(len(events)))
    rescheduled = {e["payload"]["job_id"] for e in events[len(before):] if e["event_type"] == "job_scheduled"}
    assert done_before and not rescheduled & done_before  # no finished task ran again
    assert "replaying" in resumed.stdout


def _done_jobs(events: list[dict]) -> set[str]:
    """The jobs that ended done: the latest job scheduled for the experiment when its job_status said done."""
    current, done = {}, set()
    for e in events:
        if e["event_type"] == "job_scheduled":
            current[e["experiment_id"]] = e["payload"]["job_id"]
        elif e["event_type"] == "job_status" and e["payload"]["status"] == "done":
            done.add(current[e["experiment_id"]])
    return done


def refused(result, tmp_path: Path) -> str:
    assert result.returncode == 2, result.stderr
    assert not (tmp_path / "logs").exists(), "a refused run must not create its log folder"
    return result.stderr


# (case id, run config text, extra flags, exact stderr with {run_config} and {config} for the paths)
BAD = [
    ("min_epochs_over_num_epochs", "search:\n  searcher: random\n  num_samples: 3\n  scheduler:\n    type: asha\n"
     "    min_epochs: 20\n", (),
     "config error: {run_config}:6:5: at 'search.scheduler.min_epochs': min_epochs (20) is more than num_epochs "
     "(9): no trial would reach the first rung\n  hint: set min_epochs to at most 9\n"),
    ("metric_never_logged", "search:\n  searcher: random\n  num_samples: 3\n  scheduler:\n"
     "    metric: val/acuracy\n", (),
     "config error: {run_config}:5:5: at 'search.scheduler.metric': ASHA's metric 'val/acuracy' is not among the "
     "scores the experiments report: accuracy, f1_macro, cross_entropy\n  hint: did you mean 'val/accuracy'?\n"),
    ("unknown_scheduler", "search:\n  scheduler: {type: hyperband}\n", (),
     "config error: {run_config}:2:15: at 'search.scheduler.type': unknown scheduler 'hyperband'; known "
     "schedulers: none, asha, median\n  hint: did you mean 'median'?\n"),
    ("unknown_sampler", "", ("--searcher", "optuna", "--num_samples", "2", "--sampler", "tp"),
     "config error: at '--sampler': unknown sampler 'tp'; known samplers: tpe, cmaes, qmc\n"
     "  hint: did you mean 'tpe'?\n"),
]


@pytest.mark.parametrize("run_config, flags, message", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_search_settings_exit_2_before_anything_runs(tmp_path: Path, search_config: Path, run_config: str,
                                                         flags: tuple, message: str) -> None:
    run_config_path = tmp_path / "run_config.yml"
    run_config_path.write_text(run_config or "{}\n")
    result = run_in_process("train", "--gs_config_path", str(search_config), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "9", "--run_config_path", str(run_config_path), *flags)
    assert refused(result, tmp_path) == message.format(run_config=run_config_path, config=search_config)


def test_asha_without_a_kept_checkpoint_is_refused(tmp_path: Path, search_config: Path) -> None:
    result = run_in_process("train", "--gs_config_path", str(search_config), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "3", "--searcher", "random", "--num_samples", "2", "--scheduler", "asha",
                     "-c", "checkpointing.variant_key=none")
    stderr = refused(result, tmp_path)
    assert "ASHA pauses trials at rungs and resumes the promoted ones from their checkpoints, but the config saves " \
           "none (checkpointing: none)" in stderr and "variant_key: last" in stderr


def test_killed_search_with_two_workers_loses_no_finished_trial(tmp_path: Path, search_config: Path) -> None:
    search = ("--num_epochs", "3", "--searcher", "random", "--num_samples", "6", "--scheduler", "asha",
              "--process_count", "2")
    log_dir = tmp_path / "killed"
    process = start_in_background("train", "--gs_config_path", str(search_config), "--log_dir", str(log_dir),
                                  *search)
    assert kill_when(process, log_dir, 4 * 3), "the search finished before it could be killed"
    before = events_of(log_dir)
    done_before = _done_jobs(before)
    gs_id = the_log(log_dir).parent.name
    resumed = run_cli("warmstart", "--grid_search_id", gs_id, "--log_dir", str(log_dir), "--process_count", "2")
    assert resumed.returncode == 0, resumed.stderr
    events = events_of(log_dir)
    rescheduled = {e["payload"]["job_id"] for e in events[len(before):] if e["event_type"] == "job_scheduled"}
    assert done_before and not rescheduled & done_before
    kinds = [kind for kind, _ in decisions(events)]
    trials = [json.loads(p)["trial"] for kind, p in decisions(events) if kind == "trial_suggested"]
    assert trials == list(range(6))  # each suggested once, none lost
    stopped = [json.loads(p)["trial"] for kind, p in decisions(events) if kind == "trial_stopped"]
    assert len(stopped) == len(set(stopped)) and kinds.count("trial_promoted") >= 1
    ends = {}
    for e in events:
        if e["event_type"] == "experiment_status" and e["payload"]["status"] != "training":
            ends[e["experiment_id"]] = e["payload"]["status"]
    assert len(ends) == 6 and set(ends.values()) <= {"paused", "done"}
    assert [e["seq"] for e in events] == list(range(len(events)))
