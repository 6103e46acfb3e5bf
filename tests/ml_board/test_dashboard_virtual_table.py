"""The experiments table of a 2,000-experiment grid search in a real headless Chromium: virtualised (only the rows in
view are in the DOM), sorted, filtered and scrolled as the log on disk says, and a filter keystroke timed."""
from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from bench.board_scale import write_grid_search
from tests.ml_board.board_process import wait_until
from tests.ml_board.dashboard_helpers import CHROMIUM, FILTER_KEYSTROKES_JS, running_board

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")

GS = "2026-12-04--06-00-00-virt"
EXPERIMENTS = 2000
MAX_ROWS_IN_DOM = 100


def read_log(store: Path) -> tuple[list[str], dict[str, dict], dict[str, float]]:
    """From the log on disk: experiment ids in order of appearance, their hyperparameters, their last val/accuracy."""
    order, hps, latest = [], {}, {}
    with open(store / GS / "event_storage.log") as f:
        for line in f:
            ev = json.loads(line)
            exp, p = ev["experiment_id"], ev["payload"]
            if ev["event_type"] == "experiment_config":
                order.append(exp)
                hps[exp] = p["hyperparameters"]
            elif ev["event_type"] == "evaluation_result":
                for s in p["metric_scores"]:
                    if s["split"] == "val" and s["metric"] == "accuracy":
                        latest[exp] = s["score"]
    return order, hps, latest


def matching(query: str, order: list[str], hps: dict[str, dict]) -> list[str]:
    """The table's filter rule (docs/design.md) for these done experiments: every term in id, status, role or
    `short.path=value`, case-insensitive."""
    def text(exp: str) -> str:
        hp = " ".join(f"{'.'.join(p for p in k.split('.') if p != 'config')}={json.dumps(v)}"
                      for k, v in hps[exp].items())
        return f"{exp} done train {hp}".lower()
    terms = query.lower().split()
    return [e for e in order if all(t in text(e) for t in terms)]


def dom_rows(page) -> list[str]:
    return page.eval_on_selector_all(".exp-table tbody tr[data-exp]", "trs => trs.map(tr => tr.dataset.exp)")


def scroll_table(page, where: str) -> list[str]:
    """Scroll the table's box to the top or bottom (or leave it); the rows in the DOM once it has drawn."""
    page.evaluate("""(where) => new Promise((done) => {
        const box = document.querySelector('#table');
        if (where !== 'stay') box.scrollTop = where === 'top' ? 0 : box.scrollHeight;
        requestAnimationFrame(() => requestAnimationFrame(done));
    })""", where)
    return dom_rows(page)


def type_filter(page, query: str) -> None:
    page.fill("#filter", query)
    wait_until(lambda: page.evaluate("window.mlboard.view.table.query") == query.strip().lower(), what="the filter")


def test_a_2000_experiment_table_is_virtualised_sorted_filtered_and_fast(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    write_grid_search(store / GS, GS, epochs=2, base_ts=1_780_000_000.0, experiments=EXPERIMENTS)
    order, hps, latest = read_log(store)
    assert len(order) == EXPERIMENTS
    with running_board(store) as url:
        page.goto(f"{url}/#/gs/{GS}")
        page.wait_for_selector(".run[data-state=ready]", timeout=120000)
        page.wait_for_selector(".exp-table tbody tr[data-exp]")

        # only a window of rows is in the DOM, and the scrollbar stands for all of them
        first = dom_rows(page)
        assert 10 <= len(first) <= MAX_ROWS_IN_DOM
        assert first == order[:len(first)]
        geometry = page.evaluate("""() => {
            const box = document.querySelector('#table'), t = window.mlboard.view.table;
            return { scroll: box.scrollHeight, head: t.thead.offsetHeight, rowH: t.rowH, box: box.clientHeight,
                     trs: document.querySelectorAll('.exp-table tr').length };
        }""")
        assert len(first) * geometry["rowH"] >= geometry["box"] - geometry["head"]  # the rows fill the box
        assert geometry["trs"] <= MAX_ROWS_IN_DOM + 3  # header row and two spacers
        assert abs(geometry["scroll"] - geometry["head"] - EXPERIMENTS * geometry["rowH"]) < EXPERIMENTS * 0.5

        # scrolled to the bottom: the last experiments, in order
        bottom = scroll_table(page, "bottom")
        assert len(bottom) <= MAX_ROWS_IN_DOM
        assert bottom == order[-len(bottom):]

        # sorted by the latest score (best first for accuracy, ties in order of appearance): the bottom, then the top
        page.click('.exp-table th[data-col="latest"]')
        by_latest = sorted(order, key=lambda e: (-latest[e], order.index(e)))
        wait_until(lambda: page.evaluate("window.mlboard.view.table.sort.col") == "latest", what="the sort")
        bottom = scroll_table(page, "bottom")
        assert bottom == by_latest[-len(bottom):]
        top = scroll_table(page, "top")
        assert top == by_latest[:len(top)]
        # the best by the selection (val/accuracy, max) is marked in the rows it has in view
        best_ids = set(page.evaluate("[...window.mlboard.view.table.best.ids]"))
        marked = page.eval_on_selector_all(".exp-table tbody tr.best", "trs => trs.map(tr => tr.dataset.exp)")
        assert best_ids and marked == [e for e in top if e in best_ids]

        # hover highlights the row under the pointer
        page.hover(f'tr[data-exp="{top[3]}"]')
        wait_until(lambda: page.eval_on_selector_all(".exp-table tr.hl", "trs => trs.map(tr => tr.dataset.exp)") == [top[3]],
                   what="the hovered row marked")
        page.click('.exp-table th[data-col="id"]')  # ids ascending: here the order of appearance
        wait_until(lambda: page.evaluate("window.mlboard.view.table.sort.col") == "id", what="the sort")
        page.mouse.move(0, 0)

        # a filter that leaves few rows: all of them in the DOM, as the log says
        type_filter(page, "lr=19")
        want = matching("lr=19", order, hps)
        assert 0 < len(want) <= 200
        wait_until(lambda: dom_rows(page) == want, what="the filtered rows")
        assert page.query_selector(".exp-table tr.spacer") is None
        # one that leaves many, typed while scrolled to the bottom: virtualised again, the same rows in the model,
        # and the box (its scroll clamped to the fewer rows) shows the last of them
        type_filter(page, "")
        wait_until(lambda: page.evaluate("window.mlboard.view.table.rows.length") == EXPERIMENTS, what="no filter")
        assert scroll_table(page, "bottom")[-1] == order[-1]
        type_filter(page, "LR=1")
        want = matching("LR=1", order, hps)
        assert len(want) > 200
        assert page.evaluate("window.mlboard.view.table.rows.map(e => e.id)") == want
        shown = scroll_table(page, "stay")
        assert 10 <= len(shown) <= MAX_ROWS_IN_DOM and shown == want[-len(shown):]
        assert page.evaluate("""() => { const b = document.querySelector('#table');
                                        return b.scrollTop + b.clientHeight >= b.scrollHeight - 1; }""")
        # two terms, all required
        type_filter(page, "lr=1 e001")
        want = matching("lr=1 e001", order, hps)
        wait_until(lambda: dom_rows(page) == want, what="the rows matching both terms")

        # a filter keystroke: the input handler (filter, sort, table window, charts' hidden lines), median of 10
        times = page.evaluate(FILTER_KEYSTROKES_JS)
        median = statistics.median(times)
        print(f"\ntable_filter_ms (2,000 experiments, median of 10): {median:.1f}  runs {' '.join(f'{t:.1f}' for t in times)}"
              f"  (row height {geometry['rowH']:.1f} px, {geometry['trs']} rows in the DOM at first)")
        assert median < 200
        assert len(dom_rows(page)) <= MAX_ROWS_IN_DOM
