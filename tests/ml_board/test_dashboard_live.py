"""The dashboard following runs live in a real headless Chromium: ingest over Socket.IO, a real CLI run,
a reload mid-run and a board that goes away and comes back, with no point lost or drawn twice."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIGS
from tests.ml_board.dashboard_helpers import (CHROMIUM, Ingestor, envelopes, free_port,
                                              grid_search_events, logged_keys, running_board, screenshot)
from tests.ml_board.test_dashboard import GS, assert_charts_hold, open_run, rows, stats, wait_until

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")


def send_in_batches(ingestor: Ingestor, events: list[dict], size: int = 7) -> None:
    for i in range(0, len(events), size):
        ingestor.send(GS, events[i:i + size])


def assert_complete(page, store: Path, total: int) -> None:
    wait_until(lambda: stats(page)["lastSeq"] == total - 1, what=f"seq {total - 1} on the page")
    s = stats(page)
    assert s["applied"] == total and s["gaps"] == 0   # every seq applied exactly once, in order
    assert_charts_hold(page, store, GS)


def test_live_rows_and_charts_update_and_a_reload_mid_run_loses_nothing(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    store.mkdir()
    events = envelopes(GS, grid_search_events(num_epochs=6, lrs=(0.01, 0.1), batch_sizes=(16, 32, 64), finish=True))
    total = len(events)
    with running_board(store) as url:
        page.goto(url)
        page.wait_for_selector("#no-runs")
        ingestor = Ingestor(url)
        try:
            send_in_batches(ingestor, events[:20])
            page.wait_for_selector(f'tr[data-gs="{GS}"]', timeout=10000)  # the list learns of the run live
            page.click(f'a[href="#/gs/{GS}"]')
            page.wait_for_selector(".run[data-state=ready]")
            page.evaluate("window.notReloaded = true")
            first = next(e["experiment_id"] for e in events if e["event_type"] == "experiment_config")
            assert rows(page)[first] == "running"

            cut = total // 2
            send_in_batches(ingestor, events[20:cut])
            wait_until(lambda: rows(page).get(first) == "done", what=f"{first} done, live")
            wait_until(lambda: stats(page)["lastSeq"] == cut - 1, what="live events on the page")
            assert page.evaluate("window.notReloaded") is True
            screenshot(page, "dashboard-live-mid-run")

            page.reload()
            page.wait_for_selector(".run[data-state=ready]")
            send_in_batches(ingestor, events[cut:])
            assert_complete(page, store, total)
            assert sorted(rows(page).values()) == ["done"] * 6
            wait_until(lambda: page.inner_text("#run-status").strip() == "done", what="run status done")
        finally:
            ingestor.close()


def test_dropped_connection_is_shown_and_reconnection_loses_no_point(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    store.mkdir()
    events = envelopes(GS, grid_search_events(num_epochs=4, finish=True))
    total, cut = len(events), len(events) // 2
    port = free_port()
    with running_board(store, port) as url:
        ingestor = Ingestor(url)
        send_in_batches(ingestor, events[:cut])
        ingestor.close()
        open_run(page, url, GS)
        page.wait_for_selector("#conn.conn-connected")
    page.wait_for_selector("#banner:not([hidden])", timeout=15000)
    assert "Connection to the board lost" in page.inner_text("#banner")
    assert page.inner_text("#conn").strip() == "disconnected"
    screenshot(page, "dashboard-disconnected")
    with running_board(store, port) as url:
        page.wait_for_selector("#conn.conn-connected", timeout=20000)
        assert page.is_hidden("#banner")
        ingestor = Ingestor(url)
        try:
            send_in_batches(ingestor, events[cut:])
        finally:
            ingestor.close()
        assert_complete(page, store, total)


def test_a_real_grid_search_streams_into_the_open_page(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    store.mkdir()
    with running_board(store) as url:
        page.goto(url)
        page.wait_for_selector("#no-runs")
        train = subprocess.Popen(
            [sys.executable, "-m", "mlgym.cli.main", "train", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"),
             "--log_dir", str(tmp_path / "logs"), "--num_epochs", "12", "--environment", "main_process",
             "--websocket_logging_servers", url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            row = page.wait_for_selector(".gs-table tbody tr[data-gs]", timeout=60000)
            gs = row.get_attribute("data-gs")
            page.click(f'a[href="#/gs/{gs}"]')
            page.wait_for_selector(".run[data-state=ready]")
            out, _ = train.communicate(timeout=120)
            assert train.returncode == 0, out
        finally:
            if train.poll() is None:
                train.kill()
        wait_until(lambda: page.inner_text("#run-status").strip() == "done", timeout=30, what="run done")
        shown = rows(page)
        assert len(shown) == 2 and set(shown.values()) == {"done"}
        headers = page.eval_on_selector_all(".exp-table thead th", "ths => ths.map(th => th.textContent.trim())")
        assert "optimizer.lr" in headers
        lrs = page.eval_on_selector_all(".exp-table tbody tr", "trs => trs.map(tr => +tr.children[3].textContent)")
        assert sorted(lrs) == [0.01, 0.05]
        local = tmp_path / "logs" / gs / "event_storage.log"
        total = sum(1 for _ in open(local))
        wait_until(lambda: stats(page)["lastSeq"] == total - 1, what="every event of the run on the page")
        assert stats(page)["applied"] == total and stats(page)["gaps"] == 0
        keys = logged_keys(tmp_path / "logs", gs)
        assert {"train/cross_entropy", "val/accuracy", "test/accuracy", "val/cross_entropy"} <= keys
        assert_charts_hold(page, tmp_path / "logs", gs, sorted(keys))
        page.select_option("#split", "val")
        screenshot(page, "dashboard-real-grid-search")
