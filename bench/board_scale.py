"""MLboard at scale: the first list after a restart, with millions of stored events.

A storage root of `--grid_searches` finished grid searches (`--events` events in all, mostly evaluation results of
1,000 experiments each) is written once (kept in `--storage`, reused while its parameters match). Then, side by side
on the same store, a real `ml_board` process is started and its first `GET /api/grid_searches` timed:

  rebuild: with no snapshot and no list index (a board before issue 16, or one whose snapshots were removed): every
           grid search's read model is built from its whole log before the list answers;
  cold:    after a board stopped cleanly (SIGTERM) and left its snapshots and list index: the list answers from the
           index (the time the issue targets: < 100 ms with 10M events).

    .venv/bin/python bench/board_scale.py [--events 10000000] [--reps 5]
    .venv/bin/python bench/board_scale.py --dashboard [--reps 3] [--replay] [--big 10000]

Prints `cold_list_ms:` (median of the cold starts), `rebuild_list_ms:` (one rebuild: it is slow) and their ratio.
With --dashboard instead: a finished grid search of 2,000 experiments x 50 epochs x 2 splits (200,000 evaluation
results) opened in headless Chromium against a real board: `dashboard_2000x50_load_s:` (navigation to the drawn
page, median; issue 16's target < 1.5), `dashboard_2000x50_mb:` (bytes the page fetched; target < 5),
`split_change_ms:` (select -> charts drawn; target < 200), `table_filter_ms:` (one keystroke's handler; target < 50)
and `dashboard_10000x50_load_s:` / `_mb:` for a grid search of `--big` experiments. `--replay` forces the page's
full replay of the log (sessionStorage `mlboard.large_above`), the path every page took before the board's table.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml_board.list_index import INDEX_FILE_NAME  # noqa: E402
from mlgym.events.snapshot import SNAPSHOT_FILE_NAME  # noqa: E402
from mlgym.events.event_log import LOG_FILE_NAME  # noqa: E402
from tests.ml_board.dashboard_helpers import free_port  # noqa: E402

EXPERIMENTS = 1000
SPLITS = ("train", "val")


def write_grid_search(folder: Path, gs: str, epochs: int, base_ts: float, experiments: int = EXPERIMENTS) -> int:
    """One finished grid search of `experiments` x `epochs` x SPLITS evaluation results; returns its events."""
    folder.mkdir(parents=True, exist_ok=True)
    seq = 0
    out = open(folder / LOG_FILE_NAME, "w")

    def emit(event_type: str, payload: dict, exp: str | None = None) -> None:
        nonlocal seq
        out.write(json.dumps({"seq": seq, "event_type": event_type, "creation_ts": base_ts + seq * 1e-3,
                              "grid_search_id": gs, "experiment_id": exp, "payload": payload,
                              "schema_version": 1}, separators=(",", ":")) + "\n")
        seq += 1

    emit("grid_search_started", {
        "strategy": "grid_search", "num_experiments": experiments, "gs_config": {}, "gs_config_path": "gs.yml",
        "gs_config_sha256": "0" * 64, "run_config": {"num_epochs": epochs, "labels": {"name": gs, "tags": ["scale"]}},
        "validation_config": None, "sweep_paths": ["optimizer.config.lr"], "environment": {}, "seed": 0,
        "num_epochs": epochs, "selection": {"split": "val", "metric": "accuracy", "mode": "max"},
        "score_directions": {"accuracy": "max", "cross_entropy": "min"}, "heartbeat_s": 30})
    for e in range(experiments):
        exp = f"e{e:05d}"
        emit("experiment_config", {"config": {"optimizer": {"config": {"lr": e}}}, "grid_point_id": exp,
                                   "hyperparameters": {"optimizer.config.lr": e}, "num_epochs": epochs, "seed": 0,
                                   "role": "train", "fold": None}, exp)
        emit("job_status", {"status": "running", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0}, exp)
        head = f'"grid_search_id":"{gs}","experiment_id":"{exp}","payload":{{"epoch":'
        lines = []
        for epoch in range(1, epochs + 1):
            for split in SPLITS:
                acc = (e % 97 + epoch) / (97 + epochs)
                lines.append(f'{{"seq":{seq},"event_type":"evaluation_result","creation_ts":{base_ts + seq * 1e-3},'
                             f'{head}{epoch},"split":"{split}","metric_scores":[{{"metric":"accuracy","split":'
                             f'"{split}","score":{acc}}}],"loss_scores":[{{"loss":"cross_entropy","split":"{split}",'
                             f'"score":{1 - acc}}}]}},"schema_version":1}}\n')
                seq += 1
        out.write("".join(lines))
        emit("job_status", {"status": "done", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0,
                            "duration_s": 1.0}, exp)
    emit("grid_search_finished", {"status": "done", "num_done": experiments, "num_failed": 0, "duration_s": 60.0})
    out.close()
    return seq


def make_store(storage: Path, events: int, grid_searches: int) -> int:
    """Write the store unless `storage` already holds one made with these parameters; returns its event count."""
    stamp = storage / "params.json"
    params = {"events": events, "grid_searches": grid_searches, "experiments": EXPERIMENTS}
    if stamp.exists() and json.loads(stamp.read_text())["params"] == params:
        return json.loads(stamp.read_text())["total"]
    shutil.rmtree(storage, ignore_errors=True)
    storage.mkdir(parents=True)
    epochs = max(1, events // grid_searches // EXPERIMENTS // len(SPLITS))
    total = 0
    for g in range(grid_searches):
        total += write_grid_search(storage / f"2026-01-01--00-00-{g:02d}-scale", f"2026-01-01--00-00-{g:02d}-scale",
                                   epochs, 1_700_000_000.0 + g * 10_000)
        print(f"  wrote grid search {g + 1}/{grid_searches} ({total:,} events)", file=sys.stderr, flush=True)
    stamp.write_text(json.dumps({"params": params, "total": total}))
    return total


@contextlib.contextmanager
def board_process(storage: Path) -> Iterator[str]:
    """A real board on `storage` once it serves (no grid search is read before the caller asks); stopped with
    SIGTERM (it snapshots)."""
    port = free_port()
    board = subprocess.Popen([sys.executable, "-m", "ml_board.cli", "--host", "127.0.0.1", "--port", str(port),
                              "--event_storage_path", str(storage)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                requests.get(f"{url}/api/openapi.json", timeout=2)  # up (the list is not asked before the timing)
                break
            except requests.ConnectionError:
                time.sleep(0.02)
        yield url
    finally:
        board.terminate()
        board.wait(timeout=3600)


def first_list_ms(storage: Path) -> tuple[float, int]:
    """Start a board on `storage`, wait until it serves, time its first list; stop it with SIGTERM (it snapshots)."""
    with board_process(storage) as url:
        start = time.perf_counter()
        rows = requests.get(f"{url}/api/grid_searches", timeout=3600).json()
        elapsed = (time.perf_counter() - start) * 1000
    return elapsed, len(rows)


# One split change in the open page: time from the select's change to the charts drawn (bands and lines fetched).
SPLIT_CHANGE_JS = """async (split) => {
    const sel = document.querySelector('#split'), t0 = performance.now();
    sel.value = split; sel.dispatchEvent(new Event('change'));
    await window.mlboard.view.charts.pending;
    return performance.now() - t0;
}"""
FETCHED_JS = ("performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))"
              ".reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0)")


def open_page(browser, url: str, gs: str, replay: bool) -> Any:
    """A new page on the run page of `gs`, drawn; `replay`: the full-replay path whatever the size (the "before")."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    if replay:
        page.add_init_script("sessionStorage.setItem('mlboard.large_above', '1000000000')")
    page.goto(f"{url}/#/gs/{gs}")
    page.wait_for_selector(".run[data-state=ready]", timeout=600_000)
    return page


def dashboard(reps: int, replay: bool, big: int) -> None:
    """Open a 2,000 x 50 grid search in headless Chromium `reps` times: load time, megabytes fetched, a split change
    (large path only) and a filter keystroke; then a `big` x 50 one (0: skipped) for its load time."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from tests.ml_board.dashboard_helpers import CHROMIUM, CHROMIUM_ARGS, FILTER_KEYSTROKES_JS
    gs = "2026-01-01--00-00-00-d2k50"
    gs_big = f"2026-01-01--00-00-00-d{big // 1000}k50"
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        events = write_grid_search(store / gs, gs, 50, 1_700_000_000.0, experiments=2000)
        big_events = write_grid_search(store / gs_big, gs_big, 50, 1_700_000_000.0, experiments=big) if big else 0
        loads, mbs, splits, backs, filters, big_loads, big_mbs, big_filters = [], [], [], [], [], [], [], []
        with board_process(store) as url, sync_playwright() as pw:
            for warm in (gs, gs_big) if big else (gs,):  # the board builds each read model on its first request
                requests.get(f"{url}/api/grid_searches/{warm}", timeout=3600).raise_for_status()
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            open_page(browser, url, gs, replay).close()  # warm-up: the browser's cache
            for _ in range(reps):
                page = open_page(browser, url, gs, replay)
                loads.append(page.evaluate("window.mlboard.readyAt") / 1000)
                mbs.append(page.evaluate(FETCHED_JS) / 1e6)
                if not replay:
                    splits.append(page.evaluate(SPLIT_CHANGE_JS, "train"))  # train's bands and lines fetched
                    backs.append(page.evaluate(SPLIT_CHANGE_JS, "val"))  # val's kept from the load
                filters += page.evaluate(FILTER_KEYSTROKES_JS)
                page.close()
            if big:
                open_page(browser, url, gs_big, replay).close()
                for _ in range(reps):
                    page = open_page(browser, url, gs_big, replay)
                    big_loads.append(page.evaluate("window.mlboard.readyAt") / 1000)
                    big_mbs.append(page.evaluate(FETCHED_JS) / 1e6)
                    big_filters += page.evaluate(FILTER_KEYSTROKES_JS)
                    page.close()
            browser.close()
    runs = lambda values: ", ".join(f"{v:.2f}" for v in values)  # noqa: E731
    print(f"dashboard_path: {'replay (the whole log)' if replay else 'large (table + bands + series)'}")
    print(f"dashboard_events: {events}")
    print(f"dashboard_2000x50_load_s: {statistics.median(loads):.2f}  (runs: {runs(loads)})")
    print(f"dashboard_2000x50_mb: {statistics.median(mbs):.2f}  (runs: {runs(mbs)})")
    if splits:
        print(f"split_change_ms: {statistics.median(splits):.0f}  (runs: {', '.join(f'{v:.0f}' for v in splits)}; "
              f"to a split not shown before: its bands and lines fetched)")
        print(f"split_back_ms: {statistics.median(backs):.0f}  (runs: {', '.join(f'{v:.0f}' for v in backs)}; "
              f"back to one shown before)")
    print(f"table_filter_ms: {statistics.median(filters):.1f}  (p90 {sorted(filters)[int(0.9 * len(filters))]:.1f})")
    if big:
        print(f"dashboard_big_events: {big_events}")
        print(f"dashboard_{big}x50_load_s: {statistics.median(big_loads):.2f}  (runs: {runs(big_loads)})")
        print(f"dashboard_{big}x50_mb: {statistics.median(big_mbs):.2f}  (runs: {runs(big_mbs)})")
        print(f"table_filter_{big}_ms: {statistics.median(big_filters):.1f}  "
              f"(p90 {sorted(big_filters)[int(0.9 * len(big_filters))]:.1f})")


def drop_snapshots(storage: Path) -> None:
    (storage / INDEX_FILE_NAME).unlink(missing_ok=True)
    for snapshot in storage.glob(f"*/{SNAPSHOT_FILE_NAME}"):
        snapshot.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events stored in all")
    parser.add_argument("--grid_searches", type=int, default=40, help="how many grid searches hold them")
    parser.add_argument("--reps", type=int, default=5, help="cold starts to take the median of")
    parser.add_argument("--storage", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "mlboard-scale",
                        help="where the store is written (and reused by the next run)")
    parser.add_argument("--dashboard", action="store_true",
                        help="measure the dashboard on a 2,000 x 50 grid search instead of the list")
    parser.add_argument("--replay", action="store_true",
                        help="with --dashboard: force the page's full replay of the log (the path before the table)")
    parser.add_argument("--big", type=int, default=10_000,
                        help="with --dashboard: experiments (x 50 epochs) of the second, larger grid search; 0: none")
    args = parser.parse_args()
    if args.dashboard:
        dashboard(args.reps, args.replay, args.big)
        return
    total = make_store(args.storage, args.events, args.grid_searches)
    drop_snapshots(args.storage)
    rebuild, n = first_list_ms(args.storage)  # builds every read model; its SIGTERM writes snapshots and the index
    cold = [first_list_ms(args.storage)[0] for _ in range(args.reps)]
    print(f"stored_events: {total}")
    print(f"grid_searches: {n}")
    print(f"rebuild_list_ms: {rebuild:.0f}")
    print(f"cold_list_ms: {statistics.median(cold):.1f}  (runs: {', '.join(f'{c:.1f}' for c in cold)})")
    print(f"rebuild_over_cold: {rebuild / statistics.median(cold):.0f}")


if __name__ == "__main__":
    main()
