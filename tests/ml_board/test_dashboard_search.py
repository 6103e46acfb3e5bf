"""The grid-search page of a real random search with ASHA, in a real headless Chromium against a real `ml_board`:
stopped trials have their own badge, one scatter point per trial for every swept hyperparameter (log axis for the
learning rate, discrete positions for the activation, the winner highlighted), and the compute ASHA saved."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.ml_board.board_process import wait_until
from tests.ml_board.dashboard_helpers import CHROMIUM, Ingestor, chromium_page, running_board, screenshot

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")


def expected(log: Path) -> dict:
    """What the page must show, worked out from the log itself (not through either read model)."""
    events = [json.loads(line) for line in log.read_text().splitlines()]
    started = events[0]["payload"]
    trials = {e["experiment_id"]: e["payload"]["trial"] for e in events if e["event_type"] == "trial_suggested"}
    params = {e["experiment_id"]: e["payload"]["params"] for e in events if e["event_type"] == "trial_suggested"}
    stopped = {e["experiment_id"]: e["payload"] for e in events if e["event_type"] == "trial_stopped"}
    done = {e["experiment_id"] for e in events if e["event_type"] == "experiment_status"
            and e["payload"]["status"] == "done"}
    reached: dict[str, int] = {}
    best: dict[str, float] = {}
    for e in events:
        if e["event_type"] == "evaluation_result":
            eid, p = e["experiment_id"], e["payload"]
            reached[eid] = max(reached.get(eid, 0), p["epoch"])
            for s in p["metric_scores"]:
                if s["split"] == "val" and s["metric"] == "accuracy" and math.isfinite(s["score"]):
                    best[eid] = max(best.get(eid, -math.inf), s["score"])
    by_trial = sorted(trials, key=trials.get)
    winner = max(by_trial, key=lambda eid: best[eid])  # max keeps the first of equal scores: the earlier trial
    trained, full = sum(reached[eid] for eid in trials), len(trials) * started["num_epochs"]
    pct = round(100 * trained / full)
    return {"trials": trials, "params": params, "stopped": stopped, "done": done, "best": best, "winner": winner,
            "sweep_paths": started["sweep_paths"],
            "saved": f"ASHA trained {trained} of {full} epochs ({pct}%), saved {100 - pct}%",
            "trained": trained, "full": full}


def test_search_page_shows_stopped_trials_scatters_and_compute_saved(asha_search_log: Path) -> None:
    search_log = asha_search_log
    want = expected(search_log)
    gs = search_log.parent.name
    assert want["stopped"] and want["done"] and len(want["trials"]) == 9
    with chromium_page() as page, running_board(search_log.parent.parent) as url:
        page.goto(f"{url}/#/gs/{gs}")
        page.wait_for_selector(".run[data-state=ready]", timeout=20000)
        page.wait_for_selector("#search-card:not([hidden]) .search-chart")
        rows = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.exp-table tbody tr[data-exp]')]
            .map(tr => [tr.dataset.exp, {trial: tr.querySelector('td.trial').textContent.trim(),
                                         badge: tr.querySelector('.badge').textContent.trim(),
                                         cls: tr.querySelector('.badge').className}]))""")
        assert set(rows) == set(want["trials"])
        for eid, row in rows.items():
            assert row["trial"] == str(want["trials"][eid])
            if eid in want["stopped"]:
                stop = want["stopped"][eid]
                assert row["badge"] == f"stopped at rung {stop['rung']} (epoch {stop['epoch']})"
                assert "badge-stopped" in row["cls"]
            else:
                assert eid in want["done"] and row["badge"] == "done" and "badge-done" in row["cls"]
        assert page.locator(".exp-table .badge-stopped").count() == len(want["stopped"])

        shown = page.evaluate("window.mlboard.view.searchPoints()")
        charts = shown["charts"]
        assert sorted(charts) == sorted(want["sweep_paths"])
        for path, chart in charts.items():
            points = {p["id"]: p for p in chart["points"]}
            assert len(chart["points"]) == len(points) == len(want["trials"])  # one point per trial
            assert {eid: p["value"] for eid, p in points.items()} == {
                eid: want["params"][eid][path] for eid in want["trials"]}
            assert {eid: p["y"] for eid, p in points.items()} == pytest.approx(want["best"], abs=1e-12)
            assert {eid: p["trial"] for eid, p in points.items()} == want["trials"]
            kinds = {eid: p["kind"] for eid, p in points.items()}
            assert kinds[want["winner"]] == "winner"
            assert all(kinds[eid] == "stopped" for eid in want["stopped"] if eid != want["winner"])
            assert all(kinds[eid] == "done" for eid in want["done"] if eid != want["winner"])
        lrs = [want["params"][eid]["optimizer.config.lr"] for eid in want["trials"]]
        log_axis = max(lrs) / min(lrs) >= 100
        assert charts["optimizer.config.lr"]["axis"] == ("log" if log_axis else "linear")
        assert (charts["optimizer.config.lr"]["distr"] == 3) == log_axis
        assert charts["model.config.activation"]["axis"] == "category"
        # categorical: positions around the index of the value's category, in order of first appearance
        order = list(dict.fromkeys(p["value"] for p in sorted(charts["model.config.activation"]["points"],
                                                                  key=lambda p: want["trials"][p["id"]])))
        for p in charts["model.config.activation"]["points"]:
            assert abs(p["x"] - order.index(p["value"])) < 0.35

        assert shown["saved"]["trained"] == want["trained"] and shown["saved"]["full"] == want["full"]
        assert want["saved"] in page.inner_text("#compute-saved")
        winner = f"winner: trial {want['trials'][want['winner']]} · {want['winner']}"
        assert winner in page.inner_text("#search-counts")
        screenshot(page, "dashboard-search")
        rules = page.evaluate("""async () => {
            const m = await import('./search_view.js');
            const axes = [[0.01, 0.5], [1e-4, 1e-2], [0, 1, 100], [-1e-3, 1], ["a", 1], [true, false], [[8], [16]]]
              .map((values) => m.axisOf(values));
            return { axes, saved: m.computeSaved({ scheduler: { type: "asha" }, epochsTrained: 1, epochsFull: 8 }, true),
                     none: m.computeSaved({ scheduler: null, epochsTrained: 1, epochsFull: 8 }, true) };
        }""")
        assert [a["kind"] for a in rules["axes"]] == ["linear", "log", "linear", "linear", "category", "category",
                                                      "category"]
        assert rules["axes"][4]["categories"] == ["a", "1"] and rules["axes"][6]["categories"] == ["[8]", "[16]"]
        assert rules["saved"]["text"] == "ASHA trained 1 of 8 epochs (13%), saved 87%" and rules["none"] is None

        # a click on a stopped trial's point opens its experiment page, which says where the search left it
        eid, x, y = page.evaluate("""() => {  // the stopped point farthest from any other (points may overlap)
            const c = window.mlboard.view.search.charts.get('optimizer.config.lr');
            c.u.over.scrollIntoView({ block: 'center' });  // a mouse click does not scroll: bring the chart on screen
            const r = c.u.over.getBoundingClientRect();
            const at = c.points.map((q) => [q, c.u.valToPos(q.x, 'x'), c.u.valToPos(q.y, 'y')]);
            const room = ([q, x, y]) => Math.min(...at.filter((o) => o[0] !== q).map(([, ox, oy]) => Math.hypot(ox - x, oy - y)));
            const [p, x, y] = at.filter(([q]) => q.kind === 'stopped').sort((a, b) => room(b) - room(a))[0];
            return [p.exp.id, r.left + x, r.top + y];
        }""")
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        page.wait_for_selector(".experiment[data-state=ready]")
        assert page.url.endswith(f"/exp/{eid}")
        stop = want["stopped"][eid]
        assert page.inner_text("#exp-trial").strip() == str(want["trials"][eid])
        assert page.inner_text("#exp-search").startswith(f"stopped at rung {stop['rung']} (epoch {stop['epoch']})")
        assert page.errors == [], page.errors


def test_a_search_followed_live_turns_paused_trials_into_stopped_ones(tmp_path: Path, asha_search_log: Path) -> None:
    """The same search sent to a board over Socket.IO: before ASHA's stops the waiting trials read "paused" and the
    compute line says "so far"; the stops arrive live and turn them into stopped badges."""
    events = [json.loads(line) for line in asha_search_log.read_text().splitlines()]
    gs = asha_search_log.parent.name
    first_stop = next(i for i, e in enumerate(events) if e["event_type"] == "trial_stopped")
    stopped = {e["experiment_id"] for e in events if e["event_type"] == "trial_stopped"}
    store = tmp_path / "store"
    store.mkdir()
    with chromium_page() as page, running_board(store) as url:
        ingestor = Ingestor(url)
        try:
            ingestor.send(gs, events[:first_stop])
            page.goto(f"{url}/#/gs/{gs}")
            page.wait_for_selector(".run[data-state=ready]", timeout=20000)
            page.wait_for_selector("#search-card:not([hidden]) .search-chart")
            assert set(badges(page).values()) <= {"paused", "done"} and "paused" in badges(page).values()
            assert "so far" in page.inner_text("#compute-saved")
            ingestor.send(gs, events[first_stop:])
            wait_until(lambda: page.locator(".exp-table .badge-stopped").count() == len(stopped),
                       what="the stopped badges, live")
            shown = badges(page)
            assert all(shown[eid].startswith("stopped at rung") for eid in stopped)
            wait_until(lambda: "so far" not in page.inner_text("#compute-saved"), what="the finished compute line")
            points = page.evaluate("window.mlboard.view.searchPoints()")["charts"]["optimizer.config.lr"]["points"]
            assert sorted(p["id"] for p in points if p["kind"] == "stopped") == sorted(stopped)
        finally:
            ingestor.close()
        assert page.errors == [], page.errors


def badges(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.exp-table tbody tr[data-exp]')]
        .map(tr => [tr.dataset.exp, tr.querySelector('.badge').textContent.trim()]))""")


def _hp_points(log: Path, folds: bool) -> tuple[dict[str, tuple[float, float]], str]:
    """From the log itself: per experiment (grid) or grid point (CV: the mean of its folds' last val/accuracy),
    (lr, score), and the best one."""
    events = [json.loads(line) for line in log.read_text().splitlines()]
    config = {e["experiment_id"]: e["payload"] for e in events if e["event_type"] == "experiment_config"}
    scores: dict[str, list[float]] = {}
    for e in events:
        if e["event_type"] == "evaluation_result":
            for s in e["payload"]["metric_scores"]:
                if s["split"] == "val" and s["metric"] == "accuracy":
                    scores.setdefault(e["experiment_id"], []).append(s["score"])
    points: dict[str, tuple[float, float]] = {}
    if not folds:
        for eid, values in scores.items():
            points[eid] = (config[eid]["hyperparameters"]["optimizer.config.lr"], max(values))
    else:
        by_gp: dict[str, list[float]] = {}
        for eid, values in scores.items():
            by_gp.setdefault(config[eid]["grid_point_id"], []).append(values[-1])
        lr = {c["grid_point_id"]: c["hyperparameters"]["optimizer.config.lr"] for c in config.values()}
        points = {gp: (lr[gp], sum(v) / len(v)) for gp, v in by_gp.items()}
    return points, max(points, key=lambda k: points[k][1])


@pytest.mark.parametrize("folds", [0, 3], ids=["grid_search", "cross_validation"])
def test_a_grid_without_a_search_shows_hyperparameters_against_the_score(tmp_path: Path, folds: int) -> None:
    from tests.ml_board.dashboard_helpers import grid_search_events, write_store
    gs = "2026-12-04--10-00-00-hpvs"
    write_store(tmp_path / "store", gs, grid_search_events(
        num_epochs=3, folds=folds, strategy="cross_validation" if folds else "grid_search"))
    points, best = _hp_points(tmp_path / "store" / gs / "event_storage.log", bool(folds))
    with chromium_page() as page, running_board(tmp_path / "store") as url:
        page.goto(f"{url}/#/gs/{gs}")
        page.wait_for_selector(".run[data-state=ready]", timeout=20000)
        page.wait_for_selector("#search-card:not([hidden]) .search-chart")
        assert page.inner_text("#search-card h2") == "Hyperparameters vs score"
        page.locator("#search-card").scroll_into_view_if_needed()
        screenshot(page, f"dashboard-hp-vs-score-{'cv' if folds else 'grid'}")
        drawn = page.evaluate("window.mlboard.view.searchPoints()")["charts"]["optimizer.config.lr"]["points"]
    assert len(drawn) == len(points)
    got = sorted((p["value"], round(p["y"], 12), p["kind"]) for p in drawn)
    if folds:  # a grid point is drawn at its mean, linked to its first fold
        gp_of = {p["id"]: p["id"].split(".")[0] for p in drawn}
        want = sorted((points[gp][0], round(points[gp][1], 12), "winner" if gp == best else "done")
                      for gp in gp_of.values())
    else:
        want = sorted((lr, round(score, 12), "winner" if eid == best else "done") for eid, (lr, score) in points.items())
    assert got == want
