"""Liveness: a run logs a `heartbeat` every `logging.heartbeat_s`; once its process is killed, `report` and MLboard
show it as `stale` (its running experiments `interrupted`) after 3 missed heartbeats, and warm start finishes it."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlgym.cli.main import main
from mlgym.events.event_log import read_events
from mlgym.events.websocket_sink import sync
from tests.conftest import CONFIGS
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess
from tests.mlgym.checkpointing.test_warm_start import kill_when, start_in_background, the_log

pytestmark = pytest.mark.timeout(180)
BEAT = 0.4


def test_a_killed_run_turns_stale_on_report_and_board_and_warm_start_finishes_it(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run_config = tmp_path / "run.yml"
    run_config.write_text(f"logging:\n  heartbeat_s: {BEAT}\n")
    log_dir = tmp_path / "logs"
    process = start_in_background("train", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), "--log_dir",
                                  str(log_dir), "--run_config_path", str(run_config), "--num_epochs", "12",
                                  "--process_count", "1")
    assert kill_when(process, log_dir, 12), "the run finished before it could be killed"
    events = list(read_events(the_log(log_dir)))
    gs_id = the_log(log_dir).parent.name
    assert events[0]["payload"]["heartbeat_s"] == BEAT
    beats = [e for e in events if e["event_type"] == "heartbeat"]
    assert beats and all(e["payload"]["running"] in (0, 1) for e in beats)

    time.sleep(max(0.0, events[-1]["creation_ts"] + 3 * BEAT + 0.2 - time.time()))
    assert main(["report", "--grid_search_id", gs_id, "--log_dir", str(log_dir)]) == 0
    out = capsys.readouterr().out
    assert f"grid search {gs_id}: stale (no event since" in out and f"warmstart --grid_search_id {gs_id}" in out
    assert "interrupted" in out

    with BoardProcess(tmp_path / "store") as board:
        assert sync(log_dir, gs_id, board.url) == len(events) - 1
        api = ApiClient(board.url)  # every answer checked against the served OpenAPI
        listed = {row["grid_search_id"]: row for row in api.get("/api/grid_searches").json()}
        assert listed[gs_id]["status"] == "stale" and listed[gs_id]["num_running"] == 0
        assert listed[gs_id]["last_event_ts"] == events[-1]["creation_ts"]
        statuses = {row["status"] for row in api.get(f"/api/grid_searches/{gs_id}/experiments").json()}
        assert "interrupted" in statuses and "running" not in statuses

    assert main(["warmstart", "--grid_search_id", gs_id, "--log_dir", str(log_dir),
                 "--environment", "main_process"]) == 0
    capsys.readouterr()
    assert main(["report", "--grid_search_id", gs_id, "--log_dir", str(log_dir)]) == 0
    out = capsys.readouterr().out
    assert f"grid search {gs_id}: done" in out and "interrupted" not in out
