"""`mlgym sync` pushes a run that was logged offline to a real board, which then serves it as its spec says."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import CONFIGS, run_cli
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess


def test_offline_run_is_synced_exactly_once(tmp_path: Path) -> None:
    trained = run_cli("train", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), "--log_dir", str(tmp_path / "local"),
                      "--num_epochs", "1", "--environment", "main_process")
    assert trained.returncode == 0, trained.stderr
    local = next((tmp_path / "local").glob("*/event_storage.log"))
    gs_id = local.parent.name
    unreachable = run_cli("sync", "--grid_search_id", gs_id, "--server", "http://127.0.0.1:9", "--log_dir",
                          str(tmp_path / "local"))
    assert unreachable.returncode == 1 and "cannot reach MLboard at http://127.0.0.1:9" in unreachable.stderr
    board = BoardProcess(tmp_path / "store").start()
    try:
        for _ in range(2):  # a second sync sends nothing new and stores nothing twice
            synced = run_cli("sync", "--grid_search_id", gs_id, "--server", board.url, "--log_dir",
                             str(tmp_path / "local"))
            assert synced.returncode == 0, synced.stderr
            assert (tmp_path / "store" / gs_id / "event_storage.log").read_bytes() == local.read_bytes()
        api = ApiClient(board.url)  # a real run's summaries, every answer checked against the served spec
        assert api.get(f"/api/grid_searches/{gs_id}").json()["status"] == "done"
        rows = api.get(f"/api/grid_searches/{gs_id}/experiments").json()
        assert len(rows) == 2
        for row in rows:
            detail = api.get(f"/api/grid_searches/{gs_id}/experiments/{row['experiment_id']}").json()
            assert detail["status"] == "done" and [c["action"] for c in detail["checkpoints"]] == ["saved"]
        assert len(api.get(f"/api/grid_searches/{gs_id}/results").json()["rows"]) == 2
        assert api.get(f"/api/grid_searches/{gs_id}/events?format=ndjson").content == local.read_bytes()
    finally:
        board.stop()
