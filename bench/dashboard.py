"""Dashboard benchmark in headless Chromium against a real `ml_board` process.

load:  a stored grid search of 100 experiments x 200 epochs x 5 scores x 3 splits; time from navigation to the
       fully drawn page (table, charts), side by side with the floor of the same work: downloading and JSON-parsing
       the same NDJSON in the same browser with nothing applied or drawn.
table: a stored grid search of 2,000 experiments x 2 epochs; time of one filter keystroke in the experiments table
       (the input handler: filter, sort, the table's rows, the charts' hidden lines), median of 10 keystrokes.
live:  a run ingested over Socket.IO at 1,000 events/s while the page is open; lag = time from sending a batch to
       the page drawing its last event, side by side with a plain Python Socket.IO client in the same room.

    .venv/bin/python bench/dashboard.py [--reps 5] [--seconds 6] [--rate 1000]

Prints `load_s: X`, `table_filter_ms: X` and `live_lag_s: X` (medians over the repetitions; live lag is each
repetition's p95; the filter time is the median over every repetition's keystrokes).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_scale import write_grid_search  # noqa: E402
from tests.ml_board.dashboard_helpers import (CHROMIUM_ARGS, CHROMIUM, FILTER_KEYSTROKES_JS, Ingestor,  # noqa: E402
                                              envelopes, grid_search_events, running_board, write_store)

BIG = "2026-01-01--00-00-00-big0"
LIVE = "2026-01-02--00-00-00-live"
TABLE = "2026-01-03--00-00-00-tbl0"
TABLE_EXPERIMENTS = 2000
LRS = tuple(round(0.001 * (i + 1), 4) for i in range(10))
BATCH_SIZES = tuple(8 * (i + 1) for i in range(10))


def big_run_events():
    return grid_search_events(lrs=LRS, batch_sizes=BATCH_SIZES, num_epochs=200, splits=("train", "val", "test"),
                              metrics=("accuracy", "f1", "precision"), losses=("cross_entropy", "l2"))


def live_run_events(epochs: int):
    """A live-looking run: 50 experiments training side by side, every epoch 3 splits of each."""
    gen = grid_search_events(lrs=LRS[:5], batch_sizes=BATCH_SIZES, num_epochs=epochs, splits=("train", "val", "test"),
                             metrics=("accuracy", "f1", "precision"), losses=("cross_entropy", "l2"), finish=False)
    head, per_exp = [], {}
    for event in gen:
        t, _, exp = event
        if exp is None or t == "job_scheduled":
            head.append(event)
        else:
            per_exp.setdefault(exp, []).append(event)
    # interleave the experiments' streams, as parallel workers would
    streams = [iter(v) for v in per_exp.values()]
    out = list(head)
    while streams:
        alive = []
        for s in streams:
            chunk = [e for _, e in zip(range(4), s)]
            out.extend(chunk)
            if len(chunk) == 4:
                alive.append(s)
        streams = alive
    return out


def measure_load(browser, url: str) -> tuple[float, float]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    page.goto(f"{url}/#/gs/{BIG}")
    page.wait_for_selector(".run[data-state=ready]", timeout=60000)
    load = page.evaluate("window.mlboard.readyAt") / 1000
    n = page.evaluate("window.mlboard.view.stats().applied")
    floor = page.evaluate("""async (gs) => {
        const t0 = performance.now();
        const text = await (await fetch(`/api/grid_searches/${gs}/events?from_seq=0&format=ndjson`)).text();
        let n = 0;
        for (const line of text.split("\\n")) if (line) { JSON.parse(line); n++; }
        return [(performance.now() - t0) / 1000, n];
    }""", BIG)
    ctx.close()
    assert floor[1] == n, (floor, n)
    return load, floor[0]


def measure_table_filter(browser, url: str) -> list[float]:
    """Ten filter keystrokes in the table of TABLE (alternating between 1,000 and 2,000 matching rows), in ms."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    page.goto(f"{url}/#/gs/{TABLE}")
    page.wait_for_selector(".run[data-state=ready]", timeout=120000)
    times = page.evaluate(FILTER_KEYSTROKES_JS)
    ctx.close()
    return times


def measure_live(browser, url: str, store: Path, rate: int, seconds: float, rep: int) -> tuple[float, float, float]:
    import socketio
    gs = f"{LIVE}{rep}"
    events = envelopes(gs, live_run_events(epochs=400))
    head = 1 + 50  # grid_search_started + job_scheduled: sent before the page opens
    ing = Ingestor(url)
    ing.send(gs, events[:head])
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    page.goto(f"{url}/#/gs/{gs}")
    page.wait_for_selector(".run[data-state=ready]", timeout=60000)
    page.evaluate("() => { window.drawLog = []; window.mlboard.onDraw = (seq) => window.drawLog.push([Date.now(), seq]); }")

    received: list[tuple[float, int]] = []
    plain = socketio.Client(reconnection=False)
    plain.on("events", lambda msg: received.append((time.time(), msg["events"][-1]["seq"])))
    plain.connect(url, transports=["websocket"], wait_timeout=10)
    plain.emit("join", {"grid_search_id": gs, "from_seq": head})

    batch = max(1, rate // 20)  # a batch every 50 ms
    sent: list[tuple[float, int]] = []
    body = events[head:head + int(rate * seconds)]
    t0 = time.time()
    for i in range(0, len(body), batch):
        due = t0 + i / rate
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        chunk = body[i:i + batch]
        sent.append((time.time(), chunk[-1]["seq"]))
        ing.send(gs, chunk)
    send_rate = len(body) / (time.time() - t0)
    last = body[-1]["seq"]
    deadline = time.time() + 30
    while page.evaluate("window.mlboard.view.stats().lastSeq") < last and time.time() < deadline:
        time.sleep(0.05)
    while (not received or received[-1][1] < last) and time.time() < deadline:
        time.sleep(0.05)
    draws = page.evaluate("window.drawLog")
    plain.disconnect()
    ing.close()
    ctx.close()
    return p95(lags(sent, [(t / 1000, s) for t, s in draws])), p95(lags(sent, received)), send_rate


def lags(sent, seen) -> list[float]:
    """For each sent batch, the time until `seen` first shows a seq at least its last one."""
    out, j = [], 0
    for t_sent, seq in sent:
        while j < len(seen) and seen[j][1] < seq:
            j += 1
        out.append(seen[j][0] - t_sent if j < len(seen) else float("inf"))
    return out


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        t = time.perf_counter()
        n = write_store(store, BIG, big_run_events())
        size = (store / BIG / "event_storage.log").stat().st_size
        print(f"stored run: {n} events, {size / 1e6:.1f} MB, written in {time.perf_counter() - t:.1f} s")
        write_grid_search(store / TABLE, TABLE, epochs=2, base_ts=time.time() - 3600, experiments=TABLE_EXPERIMENTS)
        with running_board(store) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            measure_load(browser, url)  # warm-up: the board's first read of the store, the browser's module cache
            loads, floors = [], []
            for _ in range(args.reps):
                load, floor = measure_load(browser, url)
                loads.append(load)
                floors.append(floor)
            print(f"load (navigation -> fully drawn)     median {statistics.median(loads):.3f} s  "
                  f"runs {' '.join(f'{x:.3f}' for x in loads)}")
            print(f"baseline (fetch + JSON.parse only)   median {statistics.median(floors):.3f} s  "
                  f"runs {' '.join(f'{x:.3f}' for x in floors)}")
            filters = [ms for _ in range(args.reps) for ms in measure_table_filter(browser, url)]
            print(f"filter keystroke, {TABLE_EXPERIMENTS:,} experiments  median {statistics.median(filters):.1f} ms  "
                  f"p90 {sorted(filters)[int(0.9 * len(filters))]:.1f} ms")
            page_lags, plain_lags, rates = [], [], []
            for rep in range(args.reps):
                page_lag, plain_lag, rate = measure_live(browser, url, store, args.rate, args.seconds, rep)
                page_lags.append(page_lag)
                plain_lags.append(plain_lag)
                rates.append(rate)
            print(f"live at {statistics.median(rates):.0f} events/s for {args.seconds:.0f} s, p95 lag per run:")
            print(f"  page (sent -> drawn)               median {statistics.median(page_lags):.3f} s  "
                  f"runs {' '.join(f'{x:.3f}' for x in page_lags)}")
            print(f"  baseline (plain Socket.IO client)  median {statistics.median(plain_lags):.3f} s  "
                  f"runs {' '.join(f'{x:.3f}' for x in plain_lags)}")
            browser.close()
    print(f"load_s: {statistics.median(loads):.3f}")
    print(f"table_filter_ms: {statistics.median(filters):.1f}")
    print(f"live_lag_s: {statistics.median(page_lags):.3f}")


if __name__ == "__main__":
    main()
