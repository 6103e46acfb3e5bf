"""deploy/compose_check.py, the judge of `make compose-test`, against a fake board (the stack itself runs in CI)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("compose_check", ROOT / "deploy" / "compose_check.py")
compose_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compose_check)

GS = "2026-01-01--00-00-00-abcd"
WORKERS = ["worker-host", "10.89.0.5"]


def log_lines(nodes: list[str | None]) -> bytes:
    events = [{"seq": 0, "event_type": "grid_search_started", "payload": {}}]
    for i, node in enumerate(nodes):
        payload = {"status": "running", "device": "cpu", "worker": 0, "pid": 7, "attempt": 0}
        if node is not None:
            payload["node"] = node
        events.append({"seq": i + 1, "event_type": "job_status", "payload": payload})
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def fake_board(monkeypatch, stored: bytes, status: str = "done", experiment_status: str = "done") -> None:
    answers = {
        "/api/grid_searches": [{"grid_search_id": GS, "status": status, "num_done": 2, "num_experiments": 2,
                                "last_seq": 2}],
        f"/api/grid_searches/{GS}/experiments": [{"experiment_id": "a", "status": "done"},
                                                 {"experiment_id": "b", "status": experiment_status}],
    }

    def get(url: str) -> bytes:
        path = url.removeprefix("http://board")
        if path.startswith(f"/api/grid_searches/{GS}/events"):
            return stored
        return json.dumps(answers[path]).encode()

    monkeypatch.setattr(compose_check, "get", get)


def run(tmp_path: Path, local: bytes, mode: str) -> None:
    (tmp_path / GS).mkdir()
    (tmp_path / GS / "event_storage.log").write_bytes(local)
    compose_check.main("http://board", str(tmp_path), 2, mode, WORKERS)


@pytest.mark.parametrize("mode, nodes", [
    pytest.param("ray", ["worker-host", "10.89.0.5"], id="ray-jobs-on-workers"),
    pytest.param("multiprocessing", [None, None], id="local-processes"),
])
def test_passes(monkeypatch, tmp_path, capsys, mode, nodes):
    fake_board(monkeypatch, log_lines(nodes))
    run(tmp_path, log_lines(nodes), mode)
    assert "compose check FAILED" not in capsys.readouterr().err


@pytest.mark.parametrize("mode, nodes, board_kwargs, message", [
    pytest.param("ray", ["gym-host", "worker-host"], {}, "jobs ran on ['gym-host'], which are not Ray workers",
                 id="ray-job-off-the-workers"),
    pytest.param("ray", [None, "worker-host"], {}, "some without `node`", id="ray-without-node"),
    pytest.param("multiprocessing", [None], {"experiment_status": "failed"}, "expected 2 experiments, all done",
                 id="experiment-not-done"),
    pytest.param("multiprocessing", [None], {"status": "running"}, "expected a done grid search",
                 id="grid-search-running"),
])
def test_fails(monkeypatch, tmp_path, capsys, mode, nodes, board_kwargs, message):
    fake_board(monkeypatch, log_lines(nodes), **board_kwargs)
    with pytest.raises(SystemExit):
        run(tmp_path, log_lines(nodes), mode)
    assert message in capsys.readouterr().err


def test_fails_when_the_board_lacks_events(monkeypatch, tmp_path, capsys):
    fake_board(monkeypatch, log_lines([None]))
    with pytest.raises(SystemExit):
        run(tmp_path, log_lines([None, None]), "multiprocessing")
    assert "the board's events differ from the gym's local log" in capsys.readouterr().err
