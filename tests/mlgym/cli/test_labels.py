"""The run config's `labels:` section: checked before anything runs (exit 2, file:line), logged in
grid_search_started's run_config, and shown by MLboard as the grid search's name, tags and note."""
from __future__ import annotations

from pathlib import Path

import pytest

from mlgym.cli.main import main
from mlgym.events.event_log import read_events
from mlgym.events.websocket_sink import sync
from tests.conftest import CONFIGS
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess

HINT = "  hint: e.g. labels: {name: lr sweep, tags: [baseline, iris], note: why this run}\n"


def test_labels_reach_the_log_and_the_board(tmp_path: Path) -> None:
    run_config = tmp_path / "run.yml"
    run_config.write_text("labels:\n  name: Iris LR sweep\n  tags: [baseline, iris]\n  note: |\n"
                          "    Two learning rates.\n    One epoch.\n")
    log_dir = tmp_path / "logs"
    assert main(["train", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), "--num_epochs", "1", "--log_dir",
                 str(log_dir), "--environment", "main_process", "--run_config_path", str(run_config)]) == 0
    [log] = log_dir.glob("*/event_storage.log")
    events = list(read_events(log))
    labels = {"name": "Iris LR sweep", "tags": ["baseline", "iris"], "note": "Two learning rates.\nOne epoch.\n"}
    assert events[0]["event_type"] == "grid_search_started"
    assert events[0]["payload"]["run_config"]["labels"] == labels
    gs = log.parent.name
    with BoardProcess(tmp_path / "store") as board:
        assert sync(log_dir, gs, board.url) == len(events) - 1
        [row] = ApiClient(board.url).get("/api/grid_searches").json()
    assert {k: row[k] for k in labels} == labels


@pytest.mark.parametrize("text, where, message", [
    ("labels:\n  name: [a]\n", "2:3: at 'labels.name'", "name is a string, got list"),
    ("labels:\n  tags: [ok, 3]\n", "2:14: at 'labels.tags.1'", "a tag is a string, got int"),
    ("labels:\n  tags: baseline\n", "2:3: at 'labels.tags'", "tags is a list of strings, got str"),
    ("labels:\n  note: " + "x" * 10_001 + "\n", "2:3: at 'labels.note'",
     "note is at most 10,000 characters, got 10,001"),
    ("labels:\n  titel: x\n", "2:3: at 'labels.titel'", "unknown label 'titel'; allowed: name, tags, note"),
    ("labels: just a name\n", "1:1: at 'labels'", "labels is a mapping with name, tags and note, got str"),
], ids=["name-list", "tag-int", "tags-str", "long-note", "unknown", "not-a-mapping"])
def test_bad_labels_exit_2_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture, text: str,
                                              where: str, message: str) -> None:
    run_config = tmp_path / "run.yml"
    run_config.write_text(text)
    log_dir = tmp_path / "logs"
    assert main(["train", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), "--num_epochs", "1", "--log_dir",
                 str(log_dir), "--environment", "main_process", "--run_config_path", str(run_config)]) == 2
    assert capsys.readouterr().err == f"config error: {run_config}:{where}: {message}\n{HINT}"
    assert not log_dir.exists()
