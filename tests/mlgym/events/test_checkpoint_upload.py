"""A real `mlgym train` streaming to a real board: the store equals the local log and checkpoints are uploaded."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import CONFIGS, run_cli
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess


def test_train_streams_events_and_uploads_checkpoints(tmp_path: Path) -> None:
    board = BoardProcess(tmp_path / "store", "--ingest_token", "s3cret").start()
    try:
        result = run_cli("train", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), "--log_dir",
                         str(tmp_path / "local"), "--num_epochs", "2", "--environment", "main_process",
                         "--websocket_logging_servers", board.url, "--ingest_token", "s3cret")
        assert result.returncode == 0, result.stderr
        local = next((tmp_path / "local").glob("*/event_storage.log"))
        gs_id = local.parent.name
        assert (tmp_path / "store" / gs_id / "event_storage.log").read_bytes() == local.read_bytes()
        api = ApiClient(board.url)
        listing = api.get(f"/api/grid_searches/{gs_id}/checkpoints").json()
        uploaded = {item["path"] for item in listing}
        final = sorted(local.parent.glob("checkpoints/*/epoch_2.pt"))
        assert len(final) == 2
        for path in final:
            relative = str(path.relative_to(local.parent))
            assert relative in uploaded
            download = api.get(f"/api/grid_searches/{gs_id}/checkpoints/{relative}")
            assert download.status_code == 200 and download.content == path.read_bytes()
    finally:
        board.stop()
