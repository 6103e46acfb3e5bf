"""MLboard for people, in a real headless Chromium against a real `ml_board` process: the best experiment marked
in the table and drawn on top in the charts, chart legends, a log y axis, train/val overlaid, the experiment page's
own charts and its config as YAML, one number format, and the grid search's name in the breadcrumb."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from mlgym.events.event_log import read_events
from mlgym.events.results import project, results_table
from tests.ml_board.board_process import wait_until
from tests.ml_board.dashboard_helpers import (CHROMIUM, Ingestor, envelopes, grid_search_events,
                                              logged_points, running_board, screenshot, with_labels, write_store)
from tests.ml_board.test_dashboard import GS, open_run

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")


def report_best(store: Path, gs: str) -> dict[str, Any]:
    """The row the report marks ★ (mlgym/events/results.py): what the board must mark as best."""
    table = results_table(project(read_events(store / gs / "event_storage.log"), gs))
    return table[table["best"]].iloc[0].to_dict()


def chart_state(page, chart_id: str) -> dict:
    return page.evaluate("(id) => window.mlboard.view.charts.stateOf(id)", chart_id)


def chart_points(page, chart_id: str) -> dict:
    return page.evaluate("(id) => window.mlboard.view.points(id)", chart_id)


def best_rows(page) -> list[str]:
    return page.eval_on_selector_all(".exp-table tbody tr.best", "trs => trs.map(tr => tr.dataset.exp)")


# Pixels of the experiment's colour in a chart's canvas after drawing it with `best` (an id or null) as the best.
BEST_PIXELS = """async ([key, best]) => {
    const grid = window.mlboard.view.charts, c = grid.charts.get(key);
    const exp = c.lines.find((l) => l.exp.id === (best ?? grid.model.best().experiment.id)).exp;
    const probe = document.createElement("canvas").getContext("2d");
    probe.fillStyle = c.u.series[exp.index + 1]._stroke;
    probe.fillRect(0, 0, 1, 1);
    const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
    grid.setBest(new Set(best ? [best] : []));
    await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
    const px = c.u.ctx.getImageData(0, 0, c.u.ctx.canvas.width, c.u.ctx.canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) < 30) n++;
    }
    return n;
}"""


def test_best_experiment_is_marked_in_the_table_and_drawn_on_top(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    write_store(store, GS, grid_search_events(num_epochs=4, lrs=(0.001, 0.01, 0.1), batch_sizes=(16, 64),
                                              fail=frozenset({4})))
    best = report_best(store, GS)["experiment_id"]
    with running_board(store) as url:
        open_run(page, url, GS)
        assert best_rows(page) == [best]
        assert "★ best" in page.inner_text(f'tr[data-exp="{best}"]')
        assert "val/accuracy" in page.get_attribute(f'tr[data-exp="{best}"] .best-mark', "title")
        for chart in ("val/accuracy", "val/cross_entropy"):
            state = chart_state(page, chart)
            assert state["best"] == [best]
            assert {"id": best, "mark": "best"} in state["legend"]
        # drawn on top, thicker: with the best marked the canvas holds more pixels of its colour than without
        marked, plain = page.evaluate(BEST_PIXELS, ["val/accuracy", best]), page.evaluate(BEST_PIXELS, ["val/accuracy", None])
        assert marked > 1.3 * plain, (marked, plain)
        page.select_option("#metric", "val/cross_entropy")  # the best is the selection's, whatever metric is shown
        wait_until(lambda: "val/cross_entropy" in page.inner_text(".exp-table thead"), what="the table on another metric")
        assert best_rows(page) == [best]
        screenshot(page, "dashboard-best-marked")


def test_best_of_cross_validation_is_the_grid_point_with_the_best_mean(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    write_store(store, GS, grid_search_events(num_epochs=3, strategy="cross_validation", folds=3))
    gp = report_best(store, GS)["grid_point_id"]
    with running_board(store) as url:
        open_run(page, url, GS)
        assert sorted(best_rows(page)) == [f"{gp}.f{k}" for k in range(3)]
        assert page.eval_on_selector_all(".cv-table tr.best", "trs => trs.map(tr => tr.dataset.gp)") == [gp]
        assert chart_state(page, "val/accuracy")["best"] == [f"{gp}.f{k}" for k in range(3)]
        screenshot(page, "dashboard-best-cross-validation")


def test_legend_names_every_line_of_a_small_run_and_best_plus_hovered_of_a_large_one(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    write_store(store, GS, grid_search_events(num_epochs=3, lrs=(0.01, 0.1), batch_sizes=(16, 32)))
    write_store(store, "2026-11-23--11-00-00-many", grid_search_events(
        num_epochs=3, lrs=(0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3), batch_sizes=(8, 16, 32, 64)))
    with running_board(store) as url:
        open_run(page, url, GS)
        state = chart_state(page, "val/accuracy")
        ids = page.eval_on_selector_all(".exp-table tbody tr", "trs => trs.map(tr => tr.dataset.exp)")
        assert sorted(e["id"] for e in state["legend"]) == sorted(ids)  # 4 lines: all named
        legend = page.inner_text('.chart-card[data-key="val/accuracy"] .chart-legend')
        assert "more" not in legend and all(i in legend for i in ids)
        screenshot(page, "dashboard-legend-small")

        big = "2026-11-23--11-00-00-many"
        open_run(page, url, big)
        best = report_best(store, big)["experiment_id"]
        assert chart_state(page, "val/accuracy")["legend"] == [{"id": best, "mark": "best"}]
        assert "+31 more" in page.inner_text('.chart-card[data-key="val/accuracy"] .chart-legend')
        other = next(i for i in page.eval_on_selector_all(".exp-table tbody tr", "trs => trs.map(tr => tr.dataset.exp)")
                     if i != best)
        page.hover(f'tr[data-exp="{other}"]')
        wait_until(lambda: {"id": other, "mark": "focus"} in chart_state(page, "val/accuracy")["legend"],
                   what="the hovered row in the legend")
        assert "+30 more" in page.inner_text('.chart-card[data-key="val/accuracy"] .chart-legend')
        screenshot(page, "dashboard-legend-large")


def test_log_scale_is_remembered_and_values_at_or_below_zero_do_not_break_it(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    events = list(grid_search_events(num_epochs=4, lrs=(0.01, 0.1), batch_sizes=(16,)))
    # a score that is 0 or negative at some epochs: undefined on a log axis
    for event_type, payload, exp in events:
        if event_type == "evaluation_result" and payload["split"] == "val":
            payload["metric_scores"].append({"metric": "margin", "split": "val", "score": payload["epoch"] - 2.0})
            payload["metric_scores"].append({"metric": "regret", "split": "val", "score": -1.0})  # never > 0
    steps = [("training_progress", {"epoch": 1, "step": s, "num_steps": 5, "global_step": s, "loss": 1.0 / s,
                                    "lr": 0.01, "samples_per_s": 100.0}, events[-3][2]) for s in range(1, 6)]
    write_store(store, GS, iter(events[:-3] + steps + events[-3:]))
    with running_board(store) as url:
        open_run(page, url, GS)
        assert chart_state(page, "val/accuracy")["scale"] == "linear"
        page.check("#log-y")
        wait_until(lambda: chart_state(page, "val/accuracy")["scale"] == "log", what="a log y axis")
        assert chart_state(page, "val/margin")["scale"] == "log"
        note = page.inner_text('.chart-card[data-key="val/margin"] .log-note')
        assert note == "4 values ≤ 0 not drawn on the log scale"  # epochs 1 and 2 of both experiments
        assert page.inner_text('.chart-card[data-key="val/regret"] .log-note') == "8 values ≤ 0 not drawn on the log scale"
        assert chart_state(page, "val/regret")["scale"] == "log"  # an empty log chart still draws its axes
        margin = chart_points(page, "val/margin")
        assert all([e for e, _ in pts] == [3, 4] for pts in margin.values())
        assert page.evaluate("window.mlboard.view.steps.u.scales.y.distr") == 3
        assert page.is_checked('#steps-card .log-y')
        screenshot(page, "dashboard-log-scale")
        # remembered while on the page: another grid-search page view in this tab keeps it
        exp = next(iter(margin))
        page.click(f'tr[data-exp="{exp}"] a')
        page.wait_for_selector(".experiment[data-state=ready]")
        assert page.is_checked("#log-y")
        page.go_back()
        page.wait_for_selector(".run[data-state=ready]")
        assert page.is_checked("#log-y") and chart_state(page, "val/accuracy")["scale"] == "log"
        page.uncheck("#log-y")
        wait_until(lambda: chart_state(page, "val/margin")["scale"] == "linear", what="a linear y axis again")
        assert page.is_hidden('.chart-card[data-key="val/margin"] .log-note')


def test_all_splits_overlay_draws_train_and_val_of_a_metric_in_one_chart(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    write_store(store, GS, grid_search_events(num_epochs=5, lrs=(0.01, 0.1), batch_sizes=(16,),
                                              splits=("train", "val", "test")))
    with running_board(store) as url:
        open_run(page, url, GS)
        assert "all splits (overlay)" in page.inner_text("#split")
        page.select_option("#split", "*")
        page.wait_for_selector('.chart-card[data-key="*/accuracy"]')
        ids = page.eval_on_selector_all("#charts .chart-card", "cs => cs.map(c => c.dataset.key)")
        assert ids == ["*/accuracy", "*/f1", "*/cross_entropy"]
        shown = chart_points(page, "*/accuracy")
        assert set(shown) == {"train", "val", "test"}
        for split, by_exp in shown.items():
            assert by_exp == logged_points(store, GS, f"{split}/accuracy")
        state = chart_state(page, "*/accuracy")
        assert state["dashes"]["train"] == [] and state["dashes"]["val"] != [] and state["dashes"]["test"] != []
        assert state["dashes"]["val"] != state["dashes"]["test"]
        legend = page.inner_text('.chart-card[data-key="*/accuracy"] .chart-legend')
        assert re.search(r"train.*val.*test", legend)
        screenshot(page, "dashboard-overlay")


def test_experiment_page_draws_its_own_curves_live_and_downloads_its_config_as_yaml(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    store.mkdir()
    events = list(grid_search_events(num_epochs=4, lrs=(0.01,), batch_sizes=(16, 32)))
    exp = next(e[2] for e in events if e[0] == "experiment_config")
    tricky = {"optimizer": {"config": {"lr": 1e-7, "betas": [0.9, 0.999], "name": "yes", "eps": 1e21}},
              "data": {"path": "/data/train set.csv", "note": "a: b # not a comment\nsecond line", "empty": {},
                       "none": None, "flags": [True, False], "ids": ["001", "1.5", "", "null", "ünï"],
                       "layers": [{"units": 64, "act": "relu"}, {"units": 10, "act": None}]}}
    for event_type, payload, e in events:
        if event_type == "experiment_config" and e == exp:
            payload["config"] = tricky
    cut = next(i for i, (t, p, e) in enumerate(events) if t == "evaluation_result" and e == exp and p["epoch"] == 3)
    envs = envelopes(GS, iter(events))
    with running_board(store) as url:
        ingestor = Ingestor(url)
        try:
            ingestor.send(GS, envs[:cut])
            page.goto(f"{url}/#/gs/{GS}/exp/{exp}")
            page.wait_for_selector(".experiment[data-state=ready]")
            page.wait_for_selector('#exp-charts .chart-card[data-key="*/accuracy"]')
            assert page.evaluate("window.mlboard.view.charts.charts.size") == 3  # accuracy, f1, cross_entropy
            points = page.evaluate("window.mlboard.view.charts.pointsOf('*/accuracy')")
            assert set(points) == {"train", "val"} and all(set(by) == {exp} for by in points.values())
            assert [e for e, _ in points["val"][exp]] == [1, 2]
            ingestor.send(GS, envs[cut:])  # the rest of the run arrives live
            wait_until(lambda: [e for e, _ in page.evaluate(
                "window.mlboard.view.charts.pointsOf('*/accuracy')")["val"][exp]] == [1, 2, 3, 4],
                what="epochs 3 and 4 on the experiment's chart")
            for split in ("train", "val"):
                shown = page.evaluate("window.mlboard.view.charts.pointsOf('*/cross_entropy')")[split][exp]
                assert shown == logged_points(store, GS, f"{split}/cross_entropy")[exp]
            wait_until(lambda: page.inner_text("#exp-status").strip() == "done", what="the experiment done, live")
            legend = page.inner_text('#exp-charts .chart-card[data-key="*/accuracy"] .chart-legend')
            assert exp in legend and "train" in legend and "val" in legend

            text = page.inner_text("#config")
            assert "lr: 1.0e-7" in text and 'name: "yes"' in text
            with page.expect_download() as info:
                page.click("#config-download")
            download = info.value
            assert download.suggested_filename == f"{exp}.config.yml"
            config = requests.get(f"{url}/api/grid_searches/{GS}/experiments/{exp}", timeout=10).json()["config"]
            assert config == tricky
            assert yaml.safe_load(Path(download.path()).read_text(encoding="utf-8")) == config
            screenshot(page, "dashboard-experiment-charts-yaml")
        finally:
            ingestor.close()


def test_one_number_format_per_column_and_axis(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    write_store(store, GS, grid_search_events(num_epochs=3, lrs=(0.000768, 0.01254, 0.5), batch_sizes=(16,)))
    with running_board(store) as url:
        open_run(page, url, GS)
        column = page.eval_on_selector_all('.exp-table thead th', "ths => ths.map(th => th.dataset.col)")
        lr_col = column.index("hp:optimizer.config.lr")
        lrs = page.eval_on_selector_all(".exp-table tbody tr", f"trs => trs.map(tr => tr.children[{lr_col}].textContent)")
        assert sorted(lrs) == sorted(["7.68e-4", "1.25e-2", "5e-1"])  # one notation: a 7.68e-4 forces exponents
        for col in ("latest", "best"):
            i = column.index(col)
            cells = page.eval_on_selector_all(".exp-table tbody tr", f"trs => trs.map(tr => tr.children[{i}].textContent)")
            assert len({len(c.split(".")[1]) for c in cells}) == 1, cells  # the same decimals down the column
        ticks = page.evaluate("""() => { const u = window.mlboard.view.charts.charts.get('val/cross_entropy').u;
            return u.axes[1]._values.filter(v => v !== ''); }""")
        assert ticks and len({len(t.split(".")[1]) if "." in t else 0 for t in ticks}) == 1, ticks
        for typed in ("lr=7.68e-4", "lr=0.000768"):  # the filter finds a value as shown and as typed alone
            page.fill("#filter", typed)
            wait_until(lambda: page.eval_on_selector_all(".exp-table tbody tr[data-exp]", "trs => trs.length") == 1,
                       what=f"one row for {typed}")
        page.fill("#filter", "")
        screenshot(page, "dashboard-number-format")


def test_breadcrumb_shows_the_grid_search_name(tmp_path: Path, page) -> None:
    store = tmp_path / "store"
    events = list(with_labels(grid_search_events(num_epochs=2), {"name": "lr sweep on digits", "tags": ["digits"]}))
    write_store(store, GS, iter(events))
    exp = next(e[2] for e in events if e[0] == "experiment_config")
    with running_board(store) as url:
        open_run(page, url, GS)
        wait_until(lambda: page.inner_text("#crumb-gs") == "lr sweep on digits", what="the name in the breadcrumb")
        assert page.get_attribute("#crumb-gs", "title") == GS
        screenshot(page, "dashboard-breadcrumb-name")
        page.goto(f"{url}/#/gs/{GS}/exp/{exp}")
        page.wait_for_selector(".experiment[data-state=ready]")
        wait_until(lambda: page.inner_text("#crumb-gs") == "lr sweep on digits", what="the name on the experiment page")
        assert page.inner_text("#crumb-exp") == exp


def nested_cv_events(final: dict[tuple[int, str], list[float]]):
    """A nested CV: per outer fold and grid point two inner folds scored over 2 epochs (the last one = `final`),
    then each outer fold's refit of the grid point with the best inner mean, as model selection picks it."""
    gps = sorted({gp for _, gp in final})
    yield ("grid_search_started", {
        "strategy": "nested_cv", "num_experiments": len(final) * 2 + 2, "gs_config": {}, "gs_config_path": "/tmp/gs.yml",
        "gs_config_sha256": "0" * 64, "run_config": {}, "validation_config": {"outer_k": 2, "inner_k": 2},
        "sweep_paths": ["optimizer.config.lr"], "environment": {}, "seed": 0, "num_epochs": 2,
        "selection": {"split": "val", "metric": "accuracy", "mode": "max"},
        "score_directions": {"accuracy": "max"}}, None)
    for outer in (0, 1):
        for gp in gps:
            for inner, score in enumerate(final[(outer, gp)]):
                exp = f"{gp}.o{outer}.i{inner}"
                yield ("experiment_config", {"config": {}, "grid_point_id": gp, "hyperparameters": {
                    "optimizer.config.lr": 0.01 * (gps.index(gp) + 1)}, "num_epochs": 2, "seed": 0, "role": "inner",
                    "fold": {"outer": outer, "inner": inner}}, exp)
                for epoch, value in ((1, score - 0.1), (2, score)):
                    yield ("evaluation_result", {"epoch": epoch, "split": "val", "metric_scores": [
                        {"metric": "accuracy", "split": "val", "score": value}], "loss_scores": []}, exp)
                yield ("job_status", {"status": "done", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0}, exp)
        chosen = max(gps, key=lambda gp: sum(final[(outer, gp)]))
        exp = f"refit.o{outer}"
        yield ("experiment_config", {"config": {}, "grid_point_id": chosen, "hyperparameters": {
            "optimizer.config.lr": 0.01 * (gps.index(chosen) + 1)}, "num_epochs": 2, "seed": 0, "role": "refit",
            "fold": {"outer": outer}}, exp)
        yield ("evaluation_result", {"epoch": 2, "split": "test", "metric_scores": [
            {"metric": "accuracy", "split": "test", "score": 0.8}], "loss_scores": []}, exp)
        yield ("job_status", {"status": "done", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0}, exp)
    yield ("grid_search_finished", {"status": "done", "num_done": len(final) * 2 + 2, "num_failed": 0,
                                    "duration_s": 1.0}, None)


def test_best_of_nested_cv_is_each_outer_folds_choice(tmp_path: Path, page) -> None:
    final = {(0, "A"): [0.7, 0.72], (0, "B"): [0.8, 0.82], (0, "C"): [0.75, 0.7],
             (1, "A"): [0.7, 0.71], (1, "B"): [0.6, 0.7], (1, "C"): [0.9, 0.85]}
    store = tmp_path / "store"
    write_store(store, GS, nested_cv_events(final))
    with running_board(store) as url:
        open_run(page, url, GS)
        assert sorted(best_rows(page)) == ["B.o0.i0", "B.o0.i1", "C.o1.i0", "C.o1.i1", "refit.o0", "refit.o1"]
        assert page.eval_on_selector_all(".cv-table tr.best", "trs => trs.map(tr => tr.dataset.gp)") == ["B", "C"]
        assert page.eval_on_selector_all(".outer-table tbody tr", "trs => trs.map(tr => tr.children[1].textContent)") \
            == ["B", "C"]  # what the refits trained: the same choice
        screenshot(page, "dashboard-best-nested-cv")
