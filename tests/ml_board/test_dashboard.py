"""The dashboard in a real headless Chromium against a real `ml_board` process: stored runs, live runs, errors."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.ml_board.board_process import wait_until
from tests.ml_board.dashboard_helpers import (CHROMIUM, Ingestor, envelopes, grid_search_events,
                                              logged_points, running_board, screenshot, write_store)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")

GS = "2026-11-23--10-00-00-a1b2"
KEYS = ("train/accuracy", "train/f1", "train/cross_entropy", "val/accuracy", "val/f1", "val/cross_entropy")


def stats(page) -> dict:
    return page.evaluate("window.mlboard.view.stats()")


def chart_points(page, key: str) -> dict:
    return page.evaluate("(key) => window.mlboard.view.points(key)", key)


def rows(page) -> dict[str, str]:
    """Experiment id -> status shown in its row."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.exp-table tbody tr[data-exp]')]
        .map(tr => [tr.dataset.exp, tr.querySelector('.badge').textContent.trim()]))""")


def assert_charts_hold(page, store: Path, gs: str, keys=KEYS) -> None:
    """Every chart of the shown split holds exactly the logged points of every experiment."""
    for key in keys:
        split = key.split("/")[0]
        if page.eval_on_selector("#split", "el => el.value") != split:
            page.select_option("#split", split)
            page.wait_for_selector(f'.chart-card[data-key="{key}"]')
        expected = logged_points(store, gs, key)
        shown = {exp: pts for exp, pts in chart_points(page, key).items() if pts}
        assert shown == expected, key


def open_run(page, url: str, gs: str) -> None:
    page.goto(f"{url}/#/gs/{gs}")
    page.wait_for_selector(".run[data-state=ready]", timeout=20000)


def test_empty_board_explains_how_to_start_a_run(tmp_path: Path, page) -> None:
    (tmp_path / "store").mkdir()
    with running_board(tmp_path / "store") as url:
        page.goto(url)
        page.wait_for_selector("#no-runs")
        assert "No grid searches yet" in page.inner_text("#no-runs")
        assert f"--websocket_logging_servers {url}" in page.inner_text("#no-runs")
        screenshot(page, "dashboard-empty")


def test_finished_run_from_disk_replays_to_the_full_picture(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    write_store(store, GS, grid_search_events(num_epochs=5, lrs=(0.001, 0.01, 0.1), batch_sizes=(16, 64),
                                              fail=frozenset({2})))
    write_store(store, "2026-11-22--09-00-00-old0", grid_search_events(num_epochs=2), start_ts=time.time() - 86400)
    with running_board(store) as url:
        page.goto(url)
        page.wait_for_selector(f'tr[data-gs="{GS}"]')
        listed = page.eval_on_selector_all(".gs-table tbody tr", "trs => trs.map(tr => tr.dataset.gs)")
        assert listed == [GS, "2026-11-22--09-00-00-old0"]  # newest first
        first = page.inner_text(f'tr[data-gs="{GS}"]')
        assert "grid search" in first and "failed" in first and "6 total" in first
        screenshot(page, "dashboard-list")

        page.click(f'a[href="#/gs/{GS}"]')
        page.wait_for_selector(".run[data-state=ready]")
        shown = rows(page)
        assert len(shown) == 6
        assert sorted(shown.values()) == ["done"] * 5 + ["failed"]
        headers = page.eval_on_selector_all(".exp-table thead th", "ths => ths.map(th => th.textContent.trim())")
        assert "optimizer.lr" in headers and "data_loaders.batch_size" in headers
        assert page.inner_text("#run-status").strip() == "failed"
        lrs = page.eval_on_selector_all(".exp-table tbody tr", "trs => trs.map(tr => tr.children[3].textContent)")
        assert sorted(set(lrs)) == ["0.001", "0.01", "0.1"]
        assert_charts_hold(page, store, GS)
        assert stats(page)["gaps"] == 0 and stats(page)["duplicates"] == 0
        page.select_option("#split", "val")
        page.hover(".exp-table tbody tr:nth-child(2)")
        screenshot(page, "dashboard-run-finished")


def test_table_sorts_filters_and_shows_cross_validation_mean_and_std(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    write_store(store, GS, grid_search_events(num_epochs=3, strategy="cross_validation", folds=3))
    with running_board(store) as url:
        open_run(page, url, GS)
        assert len(rows(page)) == 12
        page.fill("#filter", "lr=0.1 batch_size=16")
        wait_until(lambda: len(rows(page)) == 3, what="filtered rows")
        hidden = page.evaluate("""() => { const u = [...window.mlboard.view.charts.charts.values()][0].u;
            return u.series.slice(1).filter(s => !s.show).length; }""")
        assert hidden == 9  # filtered-out experiments leave the charts too
        page.fill("#filter", "")
        page.click('.exp-table th[data-col="latest"]')  # best first for a higher-is-better metric
        wait_until(lambda: len(rows(page)) == 12, what="all rows")
        latest = page.eval_on_selector_all(".exp-table tbody tr", "trs => trs.map(tr => +tr.children[6].textContent)")
        assert latest == sorted(latest, reverse=True)

        cv = page.inner_text("#cv")
        assert "Cross-validation" in cv
        means = page.eval_on_selector_all(".cv-table tbody tr", """trs => trs.map(tr => [tr.dataset.gp,
            +tr.children[4].textContent, +tr.children[5].textContent])""")
        points = logged_points(store, GS, "val/accuracy")
        for gp, mean, std in means:
            finals = [pts[-1][1] for exp, pts in points.items() if exp.startswith(gp + ".")]
            assert len(finals) == 3
            expected_mean = sum(finals) / 3
            expected_std = (sum((v - expected_mean) ** 2 for v in finals) / 2) ** 0.5
            assert mean == pytest.approx(expected_mean, rel=1e-3)
            assert std == pytest.approx(expected_std, rel=1e-2)
        screenshot(page, "dashboard-cross-validation")


def test_unknown_ids_get_a_clear_message(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    write_store(store, GS, grid_search_events(num_epochs=1))
    with running_board(store) as url:
        page.goto(f"{url}/#/gs/no-such-run")
        page.wait_for_selector("#run-error")
        assert "Grid search “no-such-run” does not exist" in page.inner_text("#run-error")
        screenshot(page, "dashboard-unknown-run")
        page.goto(f"{url}/#/gs/{GS}/exp/nope")
        page.wait_for_selector("#exp-error")
        assert "Experiment “nope” does not exist" in page.inner_text("#exp-error")


def test_experiment_page_shows_config_history_failure_and_checkpoints(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    events = list(grid_search_events(num_epochs=3, fail=frozenset({1})))
    write_store(store, GS, iter(events))
    exps = [e[2] for e in events if e[0] == "experiment_config"]
    ckpt = store / GS / "checkpoints" / exps[0] / "epoch_3.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"weights" * 100)
    with running_board(store) as url:
        page.goto(f"{url}/#/gs/{GS}/exp/{exps[1]}")
        page.wait_for_selector(".experiment[data-state=ready]")
        assert page.inner_text("#exp-status").strip() == "failed"
        failure = page.inner_text("#exp-failure")
        assert "RuntimeError: loss is NaN" in failure and "Traceback (most recent call last)" in failure
        history = page.eval_on_selector_all("#history tbody tr td:last-child", "tds => tds.map(td => td.textContent)")
        assert history[0] == "scheduled" and history[-1] == "failed" and "running" in history
        screenshot(page, "dashboard-experiment-failed")

        page.goto(f"{url}/#/gs/{GS}/exp/{exps[0]}")
        page.wait_for_selector("#checkpoints")
        assert "lr: 0.01" in page.inner_text("#config")
        href = page.get_attribute("#checkpoints a", "href")
        body = page.evaluate("(href) => fetch(href).then(r => r.text())", href)
        assert body == "weights" * 100
        screenshot(page, "dashboard-experiment-done")
