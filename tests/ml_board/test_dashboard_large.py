"""A 2,000-experiment grid search (x 50 epochs x 2 splits) in a real headless Chromium against a real board: the
large path (run_view.js LARGE_ABOVE) loads the table and a few downsampled series instead of the event log, draws
the best lines over a quantile band, changes split, filters and sorts the table, and follows live events."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from bench.board_scale import write_grid_search
from tests.ml_board.board_process import wait_until
from tests.ml_board.dashboard_helpers import CHROMIUM, Ingestor, running_board, screenshot

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")

GS = "2026-12-04--07-00-00-large"
EXPERIMENTS = 2000
EPOCHS = 50
HIGHLIGHTED = 10  # band_charts.js
MAX_MB = 5.0


def accuracy(e: int, epoch: int) -> float:
    """write_grid_search's score of experiment e at `epoch` (both splits); the loss is 1 - it."""
    return (e % 97 + epoch) / (97 + EPOCHS)


def quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def chart_keys(page) -> list[str]:
    return page.eval_on_selector_all("#charts .chart-card", "cards => cards.map(c => c.dataset.key)")


def points(page, key: str) -> dict:
    return page.evaluate("(key) => window.mlboard.view.points(key)", key)


def settled(page) -> None:
    """Wait until the charts drew what they last asked for."""
    page.evaluate("() => window.mlboard.view.charts.pending")


def test_a_2000_experiment_grid_search_loads_without_the_log(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    last_seq = write_grid_search(store / GS, GS, epochs=EPOCHS, base_ts=1_780_000_000.0, experiments=EXPERIMENTS) - 1
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    with running_board(store) as url:
        page.goto(f"{url}/#/gs/{GS}")
        page.wait_for_selector(".run[data-state=ready]", timeout=120000)
        stats = page.evaluate("window.mlboard.view.stats()")
        assert stats["large"] and stats["experiments"] == EXPERIMENTS and stats["lastSeq"] == last_seq

        # the page asked for the summary, the table, bands and a few series: never the event log
        api = [u.split("/api/", 1)[1] for u in requested if "/api/" in u]
        assert not [u for u in api if "/events" in u]
        assert f"grid_searches/{GS}/table" in api
        fetched = page.evaluate("performance.getEntriesByType('resource').concat(performance.getEntriesByType("
                                "'navigation')).reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0)")
        print(f"\nlarge path: {fetched / 1e6:.2f} MB fetched, ready after "
              f"{page.evaluate('window.mlboard.readyAt') / 1000:.2f} s, {len(api)} API requests")
        assert fetched / 1e6 < MAX_MB

        # val (the selection's split): one chart per key, a band over every experiment, the best lines exact
        assert chart_keys(page) == ["val/accuracy", "val/cross_entropy"]
        acc = points(page, "val/accuracy")
        band = acc["band"]
        assert band["epochs"] == list(range(1, EPOCHS + 1)) and set(band["counts"]) == {EXPERIMENTS}
        for i in (0, 24, 49):
            scores = [accuracy(e, band["epochs"][i]) for e in range(EXPERIMENTS)]
            assert band["lo"][i] == pytest.approx(quantile(scores, 0.1), abs=1e-12)
            assert band["median"][i] == pytest.approx(quantile(scores, 0.5), abs=1e-12)
            assert band["hi"][i] == pytest.approx(quantile(scores, 0.9), abs=1e-12)
        top = [f"e{e:05d}" for e in range(EXPERIMENTS) if e % 97 == 96][:HIGHLIGHTED]  # ties: order of appearance
        assert list(acc["lines"]) == top and acc["best"] == [top[0]]
        for eid, pts in acc["lines"].items():
            assert pts == [[epoch, pytest.approx(accuracy(int(eid[1:]), epoch), abs=1e-15)]
                           for epoch in range(1, EPOCHS + 1)]
        assert points(page, "val/cross_entropy")["lines"][top[0]][-1][1] == pytest.approx(1 - accuracy(96, EPOCHS))
        screenshot(page, "dashboard-large-2000")

        # split change: only train's bands and lines are asked for, drawn within a bound
        times = []
        for split in ("train", "val", "train"):
            times.append(page.evaluate("""async (split) => {
                const sel = document.querySelector('#split'), t0 = performance.now();
                sel.value = split; sel.dispatchEvent(new Event('change'));
                await window.mlboard.view.charts.pending;
                return performance.now() - t0;
            }""", split))
        print(f"split change: {' '.join(f'{t:.0f}' for t in times)} ms")
        assert chart_keys(page) == ["train/accuracy", "train/cross_entropy"]
        assert points(page, "train/accuracy")["lines"][top[0]][-1] == [EPOCHS, pytest.approx(accuracy(96, EPOCHS))]
        assert statistics.median(times) < 1000  # the target is 200 ms; a loaded 2-core CI machine is slower

        # a log y scale: the band and the lines drawn on it, then back
        page.check("#log-y")
        scale = "(() => window.mlboard.view.charts.charts.get('train/accuracy').u.scales.y.distr)()"
        wait_until(lambda: page.evaluate(scale) == 3, what="the log scale")
        assert points(page, "train/accuracy")["lines"][top[0]][-1] == [EPOCHS, pytest.approx(accuracy(96, EPOCHS))]
        page.uncheck("#log-y")
        wait_until(lambda: page.evaluate(scale) == 1, what="the linear scale")

        # the table: virtual, filtered and sorted on the page; the lines follow the filter
        page.fill("#filter", "lr=19 e00")
        want = [f"e{e:05d}" for e in range(1000) if str(e).startswith("19")]  # lr = e: 19, 190-199
        wait_until(lambda: page.evaluate("window.mlboard.view.table.rows.map(e => e.id)") == want,
                   what="the filtered rows")
        wait_until(lambda: set(points(page, "train/accuracy")["lines"]) <= set(want)
                   and len(points(page, "train/accuracy")["lines"]) == HIGHLIGHTED, what="lines of filtered rows")
        page.click('.exp-table th[data-col="best"]')
        wait_until(lambda: page.evaluate("window.mlboard.view.table.sort.col") == "best", what="the sort")
        shown = page.eval_on_selector_all(".exp-table tbody tr[data-exp]", "trs => trs.map(tr => tr.dataset.exp)")
        assert shown == sorted(want, key=lambda e: (-accuracy(int(e[1:]), EPOCHS), int(e[1:])))
        page.fill("#filter", "")
        wait_until(lambda: page.evaluate("window.mlboard.view.table.rows.length") == EXPERIMENTS, what="no filter")

        # hovering a row whose line is not drawn asks for it
        page.click('.exp-table th[data-col="id"]')
        page.hover('tr[data-exp="e00003"]')
        wait_until(lambda: "e00003" in points(page, "train/accuracy")["lines"], what="the hovered row's line")
        # and the other way: the pointer on a line marks its row
        page.mouse.move(0, 0)
        x, y = page.evaluate("""() => {
            const c = window.mlboard.view.charts.charts.get('train/accuracy'), u = c.u, i = 4 + c.lines.indexOf(
                window.mlboard.view.model.experiments.get('e00003'));
            c.card.scrollIntoView({block: 'center'});
            const r = u.over.getBoundingClientRect(), j = 25;
            return [r.left + u.valToPos(u.data[0][j], 'x'), r.top + u.valToPos(u.data[i][j], 'y')];
        }""")
        page.mouse.move(x - 5, y)
        page.mouse.move(x, y)
        wait_until(lambda: page.evaluate("window.mlboard.view.charts.hovered?.id") == "e00003", what="the line focused")
        assert page.evaluate("window.mlboard.view.table.highlighted") == 3
        page.mouse.move(0, 0)

        # live: events appended to the store reach the table, the lines (at once) and the band (within its bound)
        ingest = Ingestor(url)
        try:
            score = 0.999
            events = [{"seq": last_seq + 1 + i, "event_type": "evaluation_result", "creation_ts": time.time(),
                       "grid_search_id": GS, "experiment_id": "e00096", "schema_version": 1,
                       "payload": {"epoch": EPOCHS + 1, "split": split,
                                   "metric_scores": [{"metric": "accuracy", "split": split, "score": score}],
                                   "loss_scores": [{"loss": "cross_entropy", "split": split, "score": 1 - score}]}}
                      for i, split in enumerate(("train", "val"))]
            ingest.send(GS, events)
        finally:
            ingest.close()
        wait_until(lambda: page.evaluate("window.mlboard.view.stats().lastSeq") == last_seq + 2, what="live events")
        wait_until(lambda: points(page, "train/accuracy")["lines"]["e00096"][-1] == [EPOCHS + 1, score],
                   what="the live point on its line")
        wait_until(lambda: points(page, "train/accuracy")["band"]["epochs"][-1] == EPOCHS + 1, timeout=10,
                   what="the band refreshed")
        assert points(page, "train/accuracy")["band"]["counts"][-1] == 1
        assert page.evaluate("window.mlboard.view.model.experiments.get('e00096').latest['val/accuracy']") == score
        stats = page.evaluate("window.mlboard.view.stats()")
        assert stats["gaps"] == 0 and stats["duplicates"] == 0
        api = [u for u in requested if "/api/" in u]
        assert not [u for u in api if "/events" in u]
        screenshot(page, "dashboard-large-2000-live")


def test_events_stored_while_the_table_travels_are_not_lost(tmp_path: Path, page) -> None:
    """The table is taken at seq S; events stored before the page joins the live room arrive from S + 1: none
    missed, none applied twice (a running grid search of 300 experiments, above the threshold)."""
    gs = "2026-12-04--08-00-00-gap"
    store = tmp_path / "store"
    last_seq = write_grid_search(store / gs, gs, epochs=3, base_ts=time.time() - 60, experiments=300) - 1
    with running_board(store) as url:
        ingest = Ingestor(url)
        held = []

        def hold_table(route) -> None:
            response = route.fetch()  # the board's table, taken now
            events = [{"seq": last_seq + 1 + i, "event_type": "evaluation_result", "creation_ts": time.time(),
                       "grid_search_id": gs, "experiment_id": f"e{i:05d}", "schema_version": 1,
                       "payload": {"epoch": 4, "split": "val",
                                   "metric_scores": [{"metric": "accuracy", "split": "val", "score": 0.99}],
                                   "loss_scores": []}} for i in range(5)]
            ingest.send(gs, events)  # stored after the table was taken, before the page joins
            held.append(response.json()["last_seq"])
            route.fulfill(response=response)

        page.route("**/table", hold_table)
        try:
            page.goto(f"{url}/#/gs/{gs}")
            page.wait_for_selector(".run[data-state=ready]", timeout=60000)
            wait_until(lambda: page.evaluate("window.mlboard.view.stats().lastSeq") == last_seq + 5, what="the events")
        finally:
            ingest.close()
        assert held == [last_seq]
        stats = page.evaluate("window.mlboard.view.stats()")
        assert stats["large"] and stats["gaps"] == 0 and stats["duplicates"] == 0
        latest = page.evaluate("[0, 1, 2, 3, 4, 5].map(i => window.mlboard.view.model.list[i].latest['val/accuracy'])")
        assert latest[:5] == [0.99] * 5 and latest[5] == pytest.approx((5 + 3) / (97 + 3))
        wait_until(lambda: page.evaluate(
            "(window.mlboard.view.points('val/accuracy').lines['e00000'] || []).slice(-1)") == [[4, 0.99]],
                   what="the live best re-ranked into the lines, its live point drawn")


def test_long_lines_are_downsampled_by_the_board_and_a_zoom_shows_every_point(tmp_path: Path, page) -> None:
    """201 experiments x 800 epochs: more epochs than a chart has pixels, so a line holds the board's min/max per
    bucket (each a logged value, the ends kept); dragging over epochs asks for that window's every point."""
    gs = "2026-12-04--09-00-00-long"
    epochs = 800
    store = tmp_path / "store"
    write_grid_search(store / gs, gs, epochs=epochs, base_ts=time.time() - 60, experiments=201)
    logged = lambda e, epoch: (e % 97 + epoch) / (97 + epochs)  # noqa: E731  write_grid_search's accuracy
    page.set_viewport_size({"width": 400, "height": 1000})  # one chart per row, ~320 px: < 800 points a line
    with running_board(store) as url:
        page.goto(f"{url}/#/gs/{gs}")
        page.wait_for_selector(".run[data-state=ready]", timeout=120000)
        assert page.evaluate("window.mlboard.view.stats().large")
        acc = points(page, "val/accuracy")
        budget = page.evaluate("window.mlboard.view.charts.askedPoints")  # twice a chart's width in pixels
        assert budget < epochs and acc["band"]["epochs"] == list(range(1, epochs + 1))
        for eid, pts in acc["lines"].items():
            e = int(eid[1:])
            assert 4 <= len(pts) <= budget and pts[0][0] == 1 and pts[-1][0] == epochs
            assert all(v == pytest.approx(logged(e, epoch), abs=1e-15) for epoch, v in pts)
        # drag over part of the chart: the zoomed window's lines hold every epoch in it
        box = page.evaluate("""() => {
            const c = window.mlboard.view.charts.charts.get('val/accuracy');
            c.card.scrollIntoView({block: 'center'});
            const r = c.u.over.getBoundingClientRect();
            return [r.left, r.top, r.width, r.height];
        }""")
        left, top, width, height = box
        page.mouse.move(left + width * 0.3, top + height / 2)
        page.mouse.down()
        page.mouse.move(left + width * 0.4, top + height / 2, steps=5)
        page.mouse.up()
        wait_until(lambda: page.evaluate("window.mlboard.view.charts.zoomed.has('val/accuracy')"), what="the zoom")
        window = page.evaluate("(() => { const z = window.mlboard.view.charts.zoomed.get('val/accuracy');"
                               " return [z.from, z.to]; })()")
        zoomed = points(page, "val/accuracy")
        assert 50 < window[1] - window[0] < 150
        for eid, pts in zoomed["lines"].items():
            assert [epoch for epoch, _ in pts] == list(range(max(1, window[0]), window[1] + 1))
            assert all(v == pytest.approx(logged(int(eid[1:]), epoch), abs=1e-15) for epoch, v in pts)
        page.dblclick(f"[data-key='val/accuracy'] .chart-body")
        wait_until(lambda: not page.evaluate("window.mlboard.view.charts.zoomed.has('val/accuracy')"), what="unzoom")
