"""example/search end to end: its run.py runs a random search with ASHA over the digits ConvNet (lr, batch size,
width) through the real CLI with the example's run_config.yml; the event log shows ASHA stopping trials, the best
trial trained to the end, and fewer epochs than every trial trained to num_epochs."""
from __future__ import annotations

import json
from pathlib import Path

from mlgym.events.event_log import read_events
from mlgym.events.results import project, results_table
from tests.conftest import EXAMPLES, run_cli

EXAMPLE = EXAMPLES / "search"
TRIALS, NUM_EPOCHS = 9, 9


def test_random_search_with_asha_stops_weak_trials_and_the_winner_finished(tmp_path: Path) -> None:
    result = run_cli("train", "--gs_config_path", "gs_config.yml", "--run_config_path", "run_config.yml",
                     "--num_samples", str(TRIALS), "--log_dir", str(tmp_path / "logs"),
                     cwd=EXAMPLE, script=EXAMPLE / "run.py", timeout=120)
    assert result.returncode == 0, result.stderr
    log = next((tmp_path / "logs").glob("*/event_storage.log"))
    events = list(read_events(log))
    search = events[0]["payload"]["search"]
    assert (search["searcher"], search["num_samples"], search["max_concurrent"]) == ("random", TRIALS, 2)
    assert search["scheduler"]["type"] == "asha"

    decisions = [(e["event_type"], e["payload"]) for e in events if e["event_type"].startswith("trial_")]
    suggested = {p["trial"]: p for kind, p in decisions if kind == "trial_suggested"}
    assert sorted(suggested) == list(range(TRIALS))
    assert all(1e-4 <= p["params"]["optimizer.config.lr"] <= 0.03 for p in suggested.values())
    stopped = [p for kind, p in decisions if kind == "trial_stopped"]
    assert stopped, "ASHA stopped no trial"
    assert all(p["epoch"] < NUM_EPOCHS for p in stopped)

    # epochs paid for: the training epochs the experiments logged (a resumed trial goes on from its checkpoint)
    trained = [e for e in events if e["event_type"] == "experiment_status" and e["payload"]["status"] == "training"]
    evaluated = {(e["experiment_id"], e["payload"]["epoch"]) for e in events
                 if e["event_type"] == "evaluation_result" and e["payload"]["split"] == "val"}
    assert len(trained) == len(evaluated) < TRIALS * NUM_EPOCHS

    table = results_table(project(events, log.parent.name))
    best = table.loc[table["val/accuracy"].idxmax()]
    assert best["status"] == "done" and best["best_epoch"] >= 1, json.dumps(table.to_dict("records"), default=str)
    finished = {e["experiment_id"] for e in events if e["event_type"] == "experiment_status"
                and e["payload"]["status"] == "done" and e["payload"]["epoch"] == NUM_EPOCHS}
    assert best["experiment_id"] in finished
    assert best["val/accuracy"] > 0.9
