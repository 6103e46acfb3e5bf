"""The experiments as columns (`GET /api/grid_searches/<gs>/table`): what a large grid search's page starts from
instead of the log.

REST: a real board, every answer checked against its OpenAPI document; the columns compared with the projection
replayed from the log on disk. Seeding: the dashboard's read model seeded from the table at some seq (Node,
static/table_seed.js) and fed the events after it concludes what a full replay concludes (test_read_model_parity.py's
dump), so the live updates of a large page apply on top of the table without drift.
"""
from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ml_board.table import table
from mlgym.events.event_log import read_events
from mlgym.events.projection import GridSearchProjection
from mlgym.events.results import project
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess
from tests.ml_board.dashboard_helpers import write_store
from tests.ml_board.read_model_logs import write_synthetic_log, write_training_log
from tests.ml_board.test_paging_series import noisy_grid
from tests.ml_board.test_read_model_parity import NODE, differences, needs_node, python_dump

GS = "tabled"
BIG = "tabled-2k"  # 2,000 experiments x 10 epochs: the board must start within 2 s per request
SEED_DUMP = Path(__file__).with_name("run_model_seed_dump.mjs")
# what a seeded model cannot know: the series before the seed (scores at the best epoch), the alerts but the last,
# a done experiment's last training_progress
NOT_SEEDED = ("scores_at_best", "alerts", "step_progress")


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiClient, Path]]:
    store = tmp_path_factory.mktemp("table") / "store"
    write_store(store, GS, noisy_grid())
    from bench.board_scale import write_grid_search
    write_grid_search(store / BIG, BIG, epochs=10, base_ts=time.time() - 60, experiments=2000)
    with BoardProcess(store) as proc:
        yield ApiClient(proc.url), store


def replayed(log: Path, upto: int | None = None) -> GridSearchProjection:
    events = read_events(log)
    return project(events if upto is None else (e for e in events if e["seq"] <= upto), log.parent.name)


def test_the_table_holds_every_experiment_as_the_log_says(board: tuple[ApiClient, Path]) -> None:
    api, store = board
    answer = api.get(f"/api/grid_searches/{GS}/table").json()
    projection = replayed(store / GS / "event_storage.log")
    views = list(projection.views().values())
    cols = answer["experiments"]
    assert answer["last_seq"] == projection.last_seq and answer["last_ts"] == projection.last_ts
    assert cols["experiment_id"] == [v.experiment_id for v in views]
    assert [k["key"] for k in answer["keys"]] == list(projection.score_keys())
    assert answer["started"]["selection"] == {"split": "val", "metric": "accuracy", "mode": "max"}
    assert cols["status"] == [v.status for v in views]  # as logged: the reader shows a stale run's interrupted
    assert cols["hyperparameters"] == [v.hyperparameters for v in views]
    assert cols["selected_score"] == [v.selected_score for v in views]
    assert cols["selection_epoch"] == [v.best_epoch for v in views]
    for key in projection.score_keys():
        latest = [None if v.latest.get(key) is None or math.isnan(v.latest[key]) else v.latest[key] for v in views]
        assert cols["latest"][key] == latest
        assert cols["best"][key] == [v.best.get(key) for v in views]
        assert cols["best_epoch"][key] == [v.best_epochs.get(key) for v in views]
        assert cols["latest_epoch"][key] == [len(v.series[key]) - 1 if key in v.series else None for v in views]
    assert all(n is None for n in cols["kinds"]) and all(n is None for n in cols["first_metric"])


def test_the_table_of_2000_experiments_is_small_and_quick(board: tuple[ApiClient, Path]) -> None:
    api, _ = board
    api.get(f"/api/grid_searches/{BIG}")  # the board builds its read model on the first request
    times = []
    for _ in range(3):
        start = time.perf_counter()
        response = api.get(f"/api/grid_searches/{BIG}/table")
        times.append(time.perf_counter() - start)
    cols = response.json()["experiments"]
    assert len(cols["experiment_id"]) == 2000 and len(cols["latest"]["val/accuracy"]) == 2000
    size = len(response.content)
    print(f"\ntable of 2,000 experiments (4 keys): {size / 1e6:.2f} MB in {min(times) * 1000:.0f} ms")
    assert size < 1.5e6  # what the page fetches instead of ~76 MB of log
    assert min(times) < 1.0


def test_the_table_of_an_unknown_or_malformed_grid_search(board: tuple[ApiClient, Path]) -> None:
    api, _ = board
    assert api.get("/api/grid_searches/nope/table").status_code == 404
    assert api.get("/api/grid_searches/bad%20id/table").status_code == 400


# -- the dashboard's read model seeded from the table ------------------------------------------------------------
def seeded_dump(tmp_path: Path, log: Path, seq: int) -> dict[str, Any]:
    """The JS read model seeded from the table at `seq` (the table as the board serves it), fed the rest of `log`."""
    path = tmp_path / f"table-{seq}.json"
    path.write_text(json.dumps(table(replayed(log, seq))))
    result = subprocess.run([NODE, str(SEED_DUMP), str(path), str(log)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def without_unseeded(dump: dict[str, Any]) -> dict[str, Any]:
    dump = json.loads(json.dumps(dump))
    for exp in dump["experiments"].values():
        for field in NOT_SEEDED:
            exp.pop(field)
    return dump


@needs_node
@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.7, 1.0])
@pytest.mark.parametrize("log_name", ["synthetic", "training", "noisy"])
def test_a_model_seeded_from_the_table_concludes_what_a_replay_does(tmp_path: Path, log_name: str,
                                                                    fraction: float) -> None:
    if log_name == "synthetic":
        log = write_synthetic_log(tmp_path)
    elif log_name == "training":
        log = write_training_log(tmp_path)
    else:
        write_store(tmp_path / "store", GS, noisy_grid())
        log = tmp_path / "store" / GS / "event_storage.log"
    last = max(e["seq"] for e in read_events(log))
    seq = max(0, round(last * fraction))
    py = python_dump(replayed(log))
    js = seeded_dump(tmp_path, log, seq)
    assert js["applied_all"] and js["last_seq"] == last
    assert differences(without_unseeded(py), without_unseeded(js)) == []
