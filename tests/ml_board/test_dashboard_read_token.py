"""The dashboard of a board started with --read_token, in a real headless Chromium: it asks once, then shows runs."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.ml_board.board_process import BoardProcess, wait_until
from tests.ml_board.dashboard_helpers import (CHROMIUM, Ingestor, chromium_page, envelopes, grid_search_events,
                                              screenshot, write_store)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")

GS = "2026-11-23--10-00-00-a1b2"
LIVE_GS = "2026-11-23--11-00-00-live"
READ = "read-s3cret"


def test_dashboard_asks_for_the_read_token_once_then_shows_a_run(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_store(store, GS, grid_search_events(num_epochs=3))
    with BoardProcess(store, "--read_token", READ) as board, chromium_page() as page:
        page.goto(board.url)
        page.wait_for_selector("#token-form")
        assert page.query_selector(".gs-table") is None  # nothing of the board's data before the token
        page.fill("#token-input", "wrong")
        page.click("#token-form button")
        page.wait_for_selector("#token-error:not([hidden])")
        assert page.inner_text("#token-error") == "The board did not accept this token."
        screenshot(page, "dashboard-read-token")

        page.fill("#token-input", READ)
        page.click("#token-form button")
        page.wait_for_selector(f'tr[data-gs="{GS}"]')
        page.click(f'a[href="#/gs/{GS}"]')
        page.wait_for_selector(".run[data-state=ready]", timeout=20000)
        assert len(page.query_selector_all(".exp-table tbody tr[data-exp]")) == 4
        assert page.evaluate("sessionStorage.getItem('mlboard.read_token')") == READ

        # the live feed joined with the token: a new run appears in the list without asking again
        page.goto(f"{board.url}/#/")
        page.reload()
        page.wait_for_selector(f'tr[data-gs="{GS}"]')
        assert page.query_selector("#token-form") is None
        wait_until(lambda: page.evaluate("window.mlboard.live && window.mlboard.live.state") == "connected",
                   what="the live connection")
        events = list(grid_search_events(num_epochs=2))
        ingestor = Ingestor(board.url)
        try:
            ingestor.send(LIVE_GS, envelopes(LIVE_GS, events[:-1]))
            page.wait_for_selector(f'tr[data-gs="{LIVE_GS}"]', timeout=10000)
            page.click(f'a[href="#/gs/{LIVE_GS}"]')
            page.wait_for_selector(".run[data-state=ready]", timeout=20000)
            # the run view gets what comes next only through its Socket.IO room, which needs the token
            ingestor.send(LIVE_GS, envelopes(LIVE_GS, events[-1:], first_seq=len(events) - 1))
        finally:
            ingestor.close()
        wait_until(lambda: page.evaluate("window.mlboard.view.stats().lastSeq") == len(events) - 1, timeout=10,
                   what="the live event")
        assert page.evaluate("window.mlboard.view.stats().gaps") == 0
        page.wait_for_function("document.querySelector('#run-status').textContent.trim() === 'done'")
        assert page.query_selector("#token-form") is None
        assert page.errors == [], f"JavaScript errors on the page: {page.errors}"
