"""Labels on the dashboard, in a real headless Chromium against a real board started with an ingest token: the list
shows names and tag chips, its search box and a click on a tag filter it, and a note edited on the run page is
stored (a reload shows it) and reaches another open list page live."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ml_board.board_process import BoardProcess
from tests.ml_board.dashboard_helpers import (CHROMIUM, chromium_page, grid_search_events,
                                              screenshot, with_labels, write_store)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")

NAMED = "2026-12-01--10-00-00-aaaa"
PLAIN = "2026-12-02--10-00-00-bbbb"
INGEST = "ingest-s3cret"


def row_ids(page) -> list[str]:
    return page.eval_on_selector_all("#gs-list tr[data-gs]", "rows => rows.map(r => r.dataset.gs)")


def wait_rows(page, ids: list[str]) -> None:
    page.wait_for_function("ids => JSON.stringify([...document.querySelectorAll('#gs-list tr[data-gs]')]"
                           ".map(r => r.dataset.gs)) === JSON.stringify(ids)", arg=ids, timeout=10000)


def test_list_shows_names_and_tags_filters_and_a_note_edit_persists(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_store(store, NAMED, with_labels(grid_search_events(num_epochs=1), {
        "name": "LR sweep on iris", "tags": ["baseline", "iris"], "note": "first try"}), start_ts=1_000_000.0)
    write_store(store, PLAIN, grid_search_events(num_epochs=1), start_ts=2_000_000.0)
    with BoardProcess(store, "--ingest_token", INGEST) as board, chromium_page() as page:
        other = page.context.browser.new_page()  # a second list page, which must follow the edit live
        other.goto(board.url)
        page.goto(board.url)
        wait_rows(page, [PLAIN, NAMED])
        wait_rows(other, [PLAIN, NAMED])
        other.evaluate("clearInterval(window.mlboard.view.timer)")  # no polling: only the live feed updates it
        other.wait_for_function("window.mlboard.live.state === 'connected'")
        assert page.inner_text(f'tr[data-gs="{NAMED}"] .gs-name') == "LR sweep on iris"
        assert page.inner_text(f'tr[data-gs="{PLAIN}"] .gs-name') == PLAIN  # no name: the id
        chips = page.eval_on_selector_all(f'tr[data-gs="{NAMED}"] .chip', "cs => cs.map(c => c.textContent)")
        assert chips == ["baseline", "iris"]
        screenshot(page, "dashboard-labels-list")

        page.fill("#gs-search", "SWEEP")
        wait_rows(page, [NAMED])
        page.fill("#gs-search", "zzz")
        page.wait_for_selector("#no-match")
        page.fill("#gs-search", "")
        wait_rows(page, [PLAIN, NAMED])
        page.click(f'tr[data-gs="{NAMED}"] .chip[data-tag="iris"]')
        wait_rows(page, [NAMED])
        assert page.inner_text("#gs-active-tag").startswith("tag: iris")
        page.click("#gs-active-tag [data-clear-tag]")
        wait_rows(page, [PLAIN, NAMED])

        # edit on the run page: a wrong token is refused, the right one stores the labels
        page.click(f'tr[data-gs="{PLAIN}"] a.gs-name')
        page.wait_for_selector(".run[data-state=ready]", timeout=20000)
        assert page.inner_text("#run-name") == PLAIN
        page.click("#labels-edit")
        page.fill("#label-name", "Dropout study")
        page.fill("#label-tags", "ablation, dropout")
        page.fill("#label-note", "0.1 beats 0.3.\nKeep 0.1.")
        page.fill("#label-token", "wrong")
        page.click("#labels-form button[type=submit]")
        page.wait_for_selector("#labels-error:not([hidden])")
        assert page.inner_text("#labels-error") == "The board did not accept this ingest token."
        page.fill("#label-token", INGEST)
        page.click("#labels-form button[type=submit]")
        page.wait_for_selector("#run-note")
        assert page.eval_on_selector("#run-note", "e => e.textContent") == "0.1 beats 0.3.\nKeep 0.1."
        page.wait_for_function("document.querySelector('#run-name').textContent === 'Dropout study'")
        assert page.eval_on_selector_all("#run-tags .chip", "cs => cs.map(c => c.textContent)") == [
            "ablation", "dropout"]
        screenshot(page, "dashboard-labels-run")

        # the other list page (polling stopped) was told live, by grid_searches_changed
        other.wait_for_function(f"document.querySelector('tr[data-gs=\"{PLAIN}\"] .gs-name')?.textContent "
                                "=== 'Dropout study'", timeout=5000)

        page.reload()
        page.wait_for_selector(".run[data-state=ready]", timeout=20000)
        assert page.eval_on_selector("#run-note", "e => e.textContent") == "0.1 beats 0.3.\nKeep 0.1."
        assert page.inner_text("#run-name") == "Dropout study"
        edits = [json.loads(line)["set"] for line in (store / PLAIN / "labels.log").read_text().splitlines()]
        assert edits == [{"name": "Dropout study", "tags": ["ablation", "dropout"],
                          "note": "0.1 beats 0.3.\nKeep 0.1."}]
        assert page.errors == [], f"JavaScript errors on the page: {page.errors}"


def test_filters_live_in_the_url_and_a_run_is_archived_and_deleted_from_its_page(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_store(store, NAMED, with_labels(grid_search_events(num_epochs=1), {
        "name": "LR sweep on iris", "tags": ["baseline", "iris"]}), start_ts=1_000_000.0)
    write_store(store, PLAIN, grid_search_events(num_epochs=1), start_ts=2_000_000.0)
    with BoardProcess(store, "--ingest_token", INGEST) as board, chromium_page() as page:
        # a filtered list is a URL: opening it shows the filter and its rows
        page.goto(f"{board.url}/#/?q=sweep&tag=iris")
        wait_rows(page, [NAMED])
        assert page.input_value("#gs-search") == "sweep"
        assert page.inner_text("#gs-active-tag").startswith("tag: iris")
        page.fill("#gs-search", "")
        page.click("#gs-active-tag [data-clear-tag]")
        wait_rows(page, [PLAIN, NAMED])
        page.wait_for_function("location.hash === '#/'")

        # archive from the run page: the token is asked for because the tab has none yet
        page.goto(f"{board.url}/#/gs/{NAMED}")
        page.wait_for_selector(".run[data-state=ready]")
        page.click("#gs-archive")
        page.wait_for_selector("#gs-confirm")
        page.fill("#gs-token", "wrong")
        page.click("#gs-confirm-go")
        page.wait_for_selector("#gs-action-error:not([hidden])")
        assert page.inner_text("#gs-action-error") == "The board did not accept this ingest token."
        page.fill("#gs-token", INGEST)
        page.click("#gs-confirm-go")
        page.wait_for_selector("#gs-archived")
        assert page.inner_text("#gs-archive") == "Unarchive"
        screenshot(page, "dashboard-archived-run")

        page.goto(f"{board.url}/#/")
        wait_rows(page, [PLAIN])
        page.select_option("#gs-archived", "all")
        wait_rows(page, [PLAIN, NAMED])
        page.wait_for_function("location.hash === '#/?archived=all'")
        assert page.inner_text(f'tr[data-gs="{NAMED}"] .badge-archived') == "archived"
        page.reload()
        wait_rows(page, [PLAIN, NAMED])
        assert page.input_value("#gs-archived") == "all"

        # delete asks to confirm, goes back to the list, and another open page of that run says it is gone
        other = page.context.browser.new_page()
        other.goto(f"{board.url}/#/gs/{PLAIN}")
        other.wait_for_selector(".run[data-state=ready]")
        other.wait_for_function("window.mlboard.live.state === 'connected'")
        page.goto(f"{board.url}/#/gs/{PLAIN}")
        page.wait_for_selector(".run[data-state=ready]")
        page.click("#gs-delete")
        page.wait_for_selector("#gs-confirm")
        assert page.input_value("#gs-token") == INGEST  # kept from the archive
        screenshot(page, "dashboard-delete-confirm")
        page.click("#gs-confirm-go")
        page.wait_for_function("location.hash === '#/'")
        wait_rows(page, [])
        other.wait_for_selector("#run-deleted")
        assert not (store / PLAIN).exists()
        assert (store / NAMED / "event_storage.log").exists()
