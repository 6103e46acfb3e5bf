"""A dashboard that fetches what it shows (issue 16, point 2): experiments paged, filtered and sorted on the board,
score series downsampled on the board, quantile bands over experiments.

A real board process; every answer is checked against its OpenAPI document by `ApiClient`. Pages are compared with
the full `/experiments` list sorted and filtered here; series and bands with the scores read from the log on disk.
"""
from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy
import pytest

from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess
from tests.ml_board.dashboard_helpers import Event, Ingestor, envelopes, grid_search_events, write_store

GS = "paging"
BIG = "big"
GROWING = "growing"
NUM_EXPERIMENTS = 30
NUM_EPOCHS = 240
LRS = (0.001, 0.01, 0.1, 1.0)
ACTS = ("relu", "tanh", "gelu")
STATUS_ORDER = ["failed", "running", "interrupted", "scheduled", "paused", "done"]


def noisy_grid(seed: int = 7) -> Iterator[Event]:
    """A stale grid search (heartbeat 1 s, its last event an hour ago, not finished) of experiments with noisy
    scores: some done, some failed, some left running or scheduled (shown interrupted), some never scored; epochs
    skipped and NaN scores here and there; the batch size swept for only some of them."""
    rng = random.Random(seed)
    yield ("grid_search_started", {
        "strategy": "grid_search", "num_experiments": NUM_EXPERIMENTS, "gs_config": {}, "gs_config_path": "gs.yml",
        "gs_config_sha256": "0" * 64, "run_config": {"num_epochs": NUM_EPOCHS}, "validation_config": None,
        "sweep_paths": ["optimizer.config.lr", "model.config.act", "data_loaders.config.batch_size"],
        "environment": {}, "seed": 0, "num_epochs": NUM_EPOCHS, "heartbeat_s": 1,
        "selection": {"split": "val", "metric": "accuracy", "mode": "max"},
        "score_directions": {"accuracy": "max", "cross_entropy": "min"}}, None)
    for k in range(NUM_EXPERIMENTS):
        exp = f"x{(k * 7919) % 1000:03d}g{k:02d}"  # ids not in order of appearance
        hp: dict[str, Any] = {"optimizer.config.lr": LRS[k % 4], "model.config.act": ACTS[k % 3]}
        if k % 5:
            hp["data_loaders.config.batch_size"] = 16 * (1 + k % 4)
        yield ("experiment_config", {"config": {}, "grid_point_id": f"gp{k:02d}", "hyperparameters": hp,
                                     "num_epochs": NUM_EPOCHS, "seed": 0, "role": "train", "fold": None}, exp)
        yield ("job_scheduled", {"job_id": exp, "depends_on": [], "attempt": 0}, exp)
        if k % 10 == 9:
            continue  # scheduled, never started
        yield ("job_status", {"status": "running", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0}, exp)
        last = NUM_EPOCHS if k % 3 else rng.randrange(1, NUM_EPOCHS)
        if k % 10 == 4:
            last = 0  # running, never scored
        level = rng.random()
        for epoch in range(1, last + 1):
            if rng.random() < 0.05:
                continue  # an epoch without evaluation
            accuracy = level + 0.3 * math.sin(epoch / 7 + k) + rng.gauss(0, 0.1)
            loss = float("nan") if rng.random() < 0.03 else 2 - accuracy + rng.gauss(0, 0.05)
            yield ("evaluation_result", {
                "epoch": epoch, "split": "val",
                "metric_scores": [{"metric": "accuracy", "split": "val", "score": round(accuracy, 6)}],
                "loss_scores": [{"loss": "cross_entropy", "split": "val", "score": loss},
                                {"loss": "cross_entropy", "split": "train", "score": round(loss * 0.9, 6)}]}, exp)
        if k % 6 == 1:
            yield ("job_status", {"status": "failed", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0,
                                  "error": "RuntimeError: boom", "duration_s": 0.5, "traceback": "Traceback"}, exp)
        elif k % 3:
            yield ("experiment_status", {"status": "done", "epoch": last, "num_epochs": NUM_EPOCHS}, exp)
            yield ("job_status", {"status": "done", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0,
                                  "duration_s": 1.0}, exp)


class Board(NamedTuple):
    api: ApiClient
    store: Path
    url: str


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    store = tmp_path_factory.mktemp("paging") / "store"
    write_store(store, GS, noisy_grid())
    write_store(store, GROWING, grid_search_events(num_epochs=2, finish=False))
    from bench.board_scale import write_grid_search
    write_grid_search(store / BIG, BIG, epochs=3, base_ts=time.time() - 60, experiments=2000)
    with BoardProcess(store) as proc:
        yield Board(ApiClient(proc.url), store, proc.url)


def logged_series(store: Path, gs: str, key: str) -> dict[str, dict[int, float]]:
    """From the log on disk: experiment id -> {epoch: finite score of `key`} (a later score of an epoch wins)."""
    split, name = key.split("/", 1)
    out: dict[str, dict[int, float]] = {}
    with open(store / gs / "event_storage.log") as f:
        for line in f:
            event = json.loads(line)
            if event["event_type"] != "evaluation_result":
                continue
            payload = event["payload"]
            for s in payload.get("metric_scores", []) + payload.get("loss_scores", []):
                if s["split"] == split and s.get("metric", s.get("loss")) == name:
                    scores = out.setdefault(event["experiment_id"], {})
                    if s["score"] is not None and math.isfinite(s["score"]):  # NaN is logged as null
                        scores[payload["epoch"]] = s["score"]
                    else:
                        scores.pop(payload["epoch"], None)
    return out


# -- pages -----------------------------------------------------------------------------------------------------
def sort_value(row: dict[str, Any], sort: str) -> Any:
    if sort == "status":
        return STATUS_ORDER.index(row["status"])
    if sort in ("experiment_id", "epoch", "progress"):
        return row[sort]
    kind, _, rest = sort.partition(":")
    value = (row["hyperparameters"] if kind == "hp" else row[kind]).get(rest)
    return None if isinstance(value, float) and math.isnan(value) else value


def expected_page_order(rows: list[dict[str, Any]], sort: str | None, order: str, q: str,
                        status: str | None) -> list[str]:
    def text(row: dict[str, Any]) -> str:
        parts = [row["experiment_id"], row["grid_point_id"] or "", row["status"], row["role"]]
        for path, value in row["hyperparameters"].items():
            for name in {path, path.replace(".config.", ".")}:
                parts += [f"{name}={json.dumps(value)}"] + ([f"{name}={value}"] if isinstance(value, str) else [])
        return " ".join(parts).lower()

    chosen = [r for r in rows if (status is None or r["status"] == status)
              and all(term in text(r) for term in q.lower().split())]
    if sort is not None:
        present = [r for r in chosen if sort_value(r, sort) is not None]
        present.sort(key=lambda r: sort_value(r, sort), reverse=order == "desc")
        chosen = present + [r for r in chosen if sort_value(r, sort) is None]
    return [r["experiment_id"] for r in chosen]


def all_pages(api: ApiClient, gs: str, limit: int, **params: Any) -> tuple[list[dict[str, Any]], set[int]]:
    rows: list[dict[str, Any]] = []
    totals = set()
    offset = 0
    while True:
        page = api.get(f"/api/grid_searches/{gs}/experiments/page",
                       params={**params, "offset": offset, "limit": limit}).json()
        assert (page["offset"], page["limit"]) == (offset, limit)
        totals.add(page["total"])
        rows += page["rows"]
        if not page["rows"]:
            return rows, totals
        offset += limit


SORTS = [None, "experiment_id", "status", "epoch", "progress", "hp:optimizer.config.lr", "hp:model.config.act",
         "hp:data_loaders.config.batch_size", "hp:not.swept", "best:val/accuracy", "latest:val/cross_entropy",
         "best:train/cross_entropy", "best:test/nothing"]


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", SORTS, ids=[str(s) for s in SORTS])
def test_pages_cover_the_sorted_list_exactly_once(board: Board, sort: str | None, order: str) -> None:
    full = board.api.get(f"/api/grid_searches/{GS}/experiments").json()
    params = {"order": order, **({"sort": sort} if sort else {})}
    rows, totals = all_pages(board.api, GS, 7, **params)
    assert totals == {len(full)}
    assert [r["experiment_id"] for r in rows] == expected_page_order(full, sort, order, "", None)
    by_id = {r["experiment_id"]: r for r in full}
    assert all(row == by_id[row["experiment_id"]] for row in rows)  # the very rows of /experiments


FILTERS = [("", "done"), ("", "failed"), ("", "interrupted"), ("", "scheduled"), ("lr=0.01", None),
           ("LR=0.01 act=\"tanh\"", None), ("model.act=gelu", "done"), ("batch_size=32", None), ("gp1", None),
           ("x0", "interrupted"), ("no such thing", None)]


@pytest.mark.parametrize(("q", "status"), FILTERS, ids=[f"{q or '-'}|{s}" for q, s in FILTERS])
def test_filtered_pages_agree_with_filtering_the_full_list(board: Board, q: str, status: str | None) -> None:
    full = board.api.get(f"/api/grid_searches/{GS}/experiments").json()
    params = {"q": q, "sort": "best:val/accuracy", "order": "desc", **({"status": status} if status else {})}
    rows, totals = all_pages(board.api, GS, 4, **params)
    expected = expected_page_order(full, "best:val/accuracy", "desc", q, status)
    assert [r["experiment_id"] for r in rows] == expected
    assert totals == {len(expected)}


def test_filters_mean_what_they_say(board: Board) -> None:
    full = board.api.get(f"/api/grid_searches/{GS}/experiments").json()
    url = f"/api/grid_searches/{GS}/experiments/page"
    page = board.api.get(url, params={"q": "lr=0.01", "limit": 1000}).json()
    assert {r["hyperparameters"]["optimizer.config.lr"] for r in page["rows"]} == {0.01}
    assert page["total"] == sum(r["hyperparameters"]["optimizer.config.lr"] == 0.01 for r in full) > 0
    stale = board.api.get(url, params={"status": "interrupted", "limit": 1000}).json()
    assert stale["total"] > 0 and {r["status"] for r in stale["rows"]} == {"interrupted"}
    assert board.api.get(url, params={"status": "running"}).json() == {"total": 0, "offset": 0, "limit": 100,
                                                                       "rows": []}
    beyond = board.api.get(url, params={"offset": 10_000}).json()
    assert (beyond["total"], beyond["rows"]) == (len(full), [])


@pytest.mark.parametrize(("params", "error"), [
    ({"sort": "hp:"}, "sort must be one of experiment_id, status, epoch, progress, hp:<hyperparameter path>, "
                      "best:<split>/<name> or latest:<split>/<name>, got 'hp:'"),
    ({"sort": "best:accuracy"}, None), ({"sort": "name"}, None),
    ({"order": "up"}, "order must be one of asc, desc, got 'up'"),
    ({"status": "stale"}, "status must be one of scheduled, running, done, failed, paused, interrupted, got 'stale'"),
    ({"limit": 1001}, "limit must be between 1 and 1000"), ({"offset": -1}, "offset must be >= 0"),
    ({"q": "x" * 1001}, "q is at most 1000 characters, got 1001")], ids=lambda v: str(v)[:30])
def test_a_malformed_page_request_is_400_with_the_reason(board: Board, params: dict, error: str | None) -> None:
    response = board.api.get(f"/api/grid_searches/{GS}/experiments/page", params=params)
    assert response.status_code == 400
    if error is not None:
        assert response.json() == {"error": error}


def test_a_page_of_2000_experiments_is_right_and_quick(board: Board) -> None:
    full = board.api.get(f"/api/grid_searches/{BIG}/experiments").json()
    assert len(full) == 2000
    url = f"/api/grid_searches/{BIG}/experiments/page"
    for params in ({"sort": "best:val/accuracy", "order": "desc"}, {"sort": "experiment_id", "order": "desc"},
                   {"sort": "latest:train/cross_entropy", "q": "lr=1"}):
        started = time.perf_counter()
        page = board.api.get(url, params={**params, "offset": 300, "limit": 100}).json()
        elapsed = time.perf_counter() - started
        expected = expected_page_order(full, params["sort"], params.get("order", "asc"), params.get("q", ""), None)
        assert page["total"] == len(expected)
        assert [r["experiment_id"] for r in page["rows"]] == expected[300:400]
        print(f"page of 100 of 2000 experiments {params}: {elapsed * 1000:.1f} ms")
        assert elapsed < 2.0  # typically ~20 ms; generous for a shared machine


# -- series ----------------------------------------------------------------------------------------------------
def buckets(n: int, points: int) -> list[range]:
    """The inner points' buckets of a series of `n` points cut to `points` (docs/design.md)."""
    inner, count = n - 2, (points - 2) // 2
    return [range(1 + b * inner // count, 1 + (b + 1) * inner // count) for b in range(count)]


@pytest.mark.parametrize("points", [4, 5, 20, 101])
def test_downsampled_series_keep_every_extreme(board: Board, points: int) -> None:
    exact = logged_series(board.store, GS, "val/accuracy")
    ids = [eid for eid, scores in exact.items() if len(scores) > 150][:5]
    assert len(ids) == 5
    answer = board.api.get(f"/api/grid_searches/{GS}/series",
                           params={"key": "val/accuracy", "experiments": ",".join(ids), "points": points}).json()
    assert answer["downsampled"] is True and answer["key"] == "val/accuracy" and set(answer["series"]) == set(ids)
    for eid in ids:
        epochs = sorted(exact[eid])
        values = [exact[eid][e] for e in epochs]
        got = answer["series"][eid]
        assert len(got["epochs"]) <= points and got["epochs"] == sorted(set(got["epochs"]))
        assert got["values"] == [exact[eid][e] for e in got["epochs"]]  # exact values, at their epochs
        kept = set(got["epochs"])
        assert {epochs[0], epochs[-1]} <= kept
        assert max(values) in got["values"] and min(values) in got["values"]
        for bucket in buckets(len(epochs), points):
            assert min(values[i] for i in bucket) in got["values"]
            assert max(values[i] for i in bucket) in got["values"]


def test_a_zoom_window_has_exact_values(board: Board) -> None:
    exact = logged_series(board.store, GS, "val/cross_entropy")
    eid = max(exact, key=lambda e: len(exact[e]))
    answer = board.api.get(f"/api/grid_searches/{GS}/series", params={
        "key": "val/cross_entropy", "experiments": eid, "points": 50, "from_epoch": 100, "to_epoch": 140}).json()
    window = {e: v for e, v in exact[eid].items() if 100 <= e <= 140}
    assert answer["series"][eid] == {"epochs": sorted(window), "values": [window[e] for e in sorted(window)]}
    assert answer["downsampled"] is False and (answer["from_epoch"], answer["to_epoch"]) == (100, 140)
    whole = board.api.get(f"/api/grid_searches/{GS}/series", params={
        "key": "val/cross_entropy", "experiments": eid, "points": 100_000}).json()["series"][eid]
    assert whole == {"epochs": sorted(exact[eid]), "values": [exact[eid][e] for e in sorted(exact[eid])]}


def test_series_without_experiments_go_by_order_of_appearance_and_default_to_the_selection_key(board: Board) -> None:
    full = board.api.get(f"/api/grid_searches/{GS}/experiments").json()
    exact = logged_series(board.store, GS, "val/accuracy")
    seen = []
    for offset in range(0, NUM_EXPERIMENTS, 8):
        answer = board.api.get(f"/api/grid_searches/{GS}/series",
                               params={"offset": offset, "limit": 8, "points": 100_000}).json()
        assert (answer["key"], answer["total"], answer["offset"], answer["limit"]) == (
            "val/accuracy", NUM_EXPERIMENTS, offset, 8)
        seen += list(answer["series"])
        for eid, got in answer["series"].items():
            assert got["epochs"] == sorted(exact.get(eid, {}))
    assert sorted(seen) == sorted(r["experiment_id"] for r in full)


@pytest.mark.parametrize(("params", "status", "error"), [
    ({"key": "accuracy"}, 400, "key must be <split>/<metric or loss name>, got 'accuracy'"),
    ({"experiments": "nope"}, 404, f"unknown experiment 'nope' in grid search '{GS}'"),
    ({"experiments": "a b"}, 400, "invalid experiment_id 'a b': ids must match [A-Za-z0-9._-]+"),
    ({"experiments": ",".join(f"e{i}" for i in range(201))}, 400, "experiments lists at most 200 ids, got 201"),
    ({"points": 3}, 400, "points must be between 4 and 100000"),
    ({"limit": 201}, 400, "limit must be between 1 and 200")], ids=lambda v: str(v)[:30])
def test_a_malformed_series_request_says_why(board: Board, params: dict, status: int, error: str) -> None:
    response = board.api.get(f"/api/grid_searches/{GS}/series", params=params)
    assert (response.status_code, response.json()) == (status, {"error": error})


def test_a_key_nobody_scored_has_empty_series_and_band(board: Board) -> None:
    answer = board.api.get(f"/api/grid_searches/{GS}/series", params={"key": "test/nothing", "limit": 2}).json()
    assert list(answer["series"].values()) == [{"epochs": [], "values": []}] * 2
    band = board.api.get(f"/api/grid_searches/{GS}/series/band", params={"key": "test/nothing"}).json()
    assert band == {"key": "test/nothing", "quantiles": [0.1, 0.5, 0.9], "epochs": [], "counts": [],
                    "values": [[], [], []]}


# -- bands -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["val/accuracy", "val/cross_entropy", "train/cross_entropy"])
def test_band_quantiles_equal_numpys_over_the_logged_scores(board: Board, key: str) -> None:
    quantiles = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]
    band = board.api.get(f"/api/grid_searches/{GS}/series/band",
                         params={"key": key, "quantiles": ",".join(map(str, quantiles))}).json()
    by_epoch: dict[int, list[float]] = {}
    for scores in logged_series(board.store, GS, key).values():
        for epoch, value in scores.items():
            by_epoch.setdefault(epoch, []).append(value)
    assert band["key"] == key and band["quantiles"] == quantiles
    assert band["epochs"] == sorted(by_epoch)
    assert band["counts"] == [len(by_epoch[e]) for e in band["epochs"]]
    for j, q in enumerate(quantiles):
        expected = [float(numpy.quantile(by_epoch[e], q)) for e in band["epochs"]]
        assert band["values"][j] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_band_of_2000_experiments(board: Board) -> None:
    band = board.api.get(f"/api/grid_searches/{BIG}/series/band", params={"key": "val/accuracy",
                                                                          "quantiles": "0.5"}).json()
    by_epoch: dict[int, list[float]] = {}
    for scores in logged_series(board.store, BIG, "val/accuracy").values():
        for epoch, value in scores.items():
            by_epoch.setdefault(epoch, []).append(value)
    assert band["epochs"] == [1, 2, 3] and band["counts"] == [2000] * 3
    assert band["values"][0] == pytest.approx([float(numpy.median(by_epoch[e])) for e in (1, 2, 3)])


def test_a_band_follows_newly_stored_scores(board: Board) -> None:
    url = f"/api/grid_searches/{GROWING}/series/band"
    before = board.api.get(url, params={"key": "val/accuracy"}).json()
    assert before["epochs"] == [1, 2] and before["counts"] == [4, 4]
    assert board.api.get(url, params={"key": "val/accuracy"}).json() == before
    eid = board.api.get(f"/api/grid_searches/{GROWING}/experiments").json()[0]["experiment_id"]
    last_seq = board.api.get(f"/api/grid_searches/{GROWING}").json()["last_seq"]
    ingest = Ingestor(board.url)
    try:
        ingest.send(GROWING, envelopes(GROWING, [("evaluation_result", {
            "epoch": 3, "split": "val", "metric_scores": [{"metric": "accuracy", "split": "val", "score": 0.25}],
            "loss_scores": []}, eid)], first_seq=last_seq + 1))
    finally:
        ingest.close()
    after = board.api.get(url, params={"key": "val/accuracy"}).json()
    assert after["epochs"] == [1, 2, 3] and after["counts"] == [4, 4, 1]
    assert [values[2] for values in after["values"]] == [0.25] * 3


@pytest.mark.parametrize("quantiles", ["", "0.5,x", "1.5", "-0.1", "nan", ",".join(["0.5"] * 21)])
def test_malformed_quantiles_are_400(board: Board, quantiles: str) -> None:
    response = board.api.get(f"/api/grid_searches/{GS}/series/band", params={"quantiles": quantiles})
    assert response.status_code == 400
    assert response.json()["error"].startswith("quantiles must be 1 to 20 comma-separated numbers in [0, 1]")


# -- the pure functions, at their edges ------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "points"), [(0, 4), (1, 4), (4, 4), (5, 4), (6, 5), (7, 6), (1000, 7), (1000, 999)])
def test_downsample_stays_within_points_and_keeps_the_ends(n: int, points: int) -> None:
    from ml_board.series import downsample
    rng = random.Random(n * 31 + points)
    epochs = sorted(rng.sample(range(3 * n + 1), n))
    values = [rng.choice([0.0, 1.0, rng.random()]) for _ in range(n)]  # ties, to see a point kept only once
    kept_epochs, kept_values = downsample(epochs, values, points)
    assert len(kept_epochs) <= points and kept_epochs == sorted(set(kept_epochs))
    assert kept_values == [values[epochs.index(e)] for e in kept_epochs]
    if n <= points:
        assert (kept_epochs, kept_values) == (epochs, values)
    else:
        assert kept_epochs[0] == epochs[0] and kept_epochs[-1] == epochs[-1]
        assert min(values) in kept_values and max(values) in kept_values


def test_a_constant_series_keeps_one_point_per_bucket() -> None:
    from ml_board.series import downsample
    epochs, values = downsample(list(range(1, 101)), [0.5] * 100, 10)
    assert epochs == [1, 2, 26, 51, 75, 100] and values == [0.5] * 6


@pytest.mark.parametrize("values", [[3.0], [1.0, 2.0], [5.0, 1.0, 4.0, 2.0, 3.0, 9.0, -1.0]])
def test_quantile_is_numpys_linear_one(values: list[float]) -> None:
    from ml_board.series import quantile
    for q in (0.0, 0.05, 0.1, 0.33, 0.5, 0.9, 1.0):
        assert quantile(sorted(values), q) == pytest.approx(float(numpy.quantile(values, q)), rel=1e-12)
