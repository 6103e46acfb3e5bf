"""Terminal progress: a live status table on a terminal, one plain line per milestone otherwise."""
from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table


class Progress:
    """Event listener showing done / running / failed experiments and each one's epoch."""

    def __init__(self, console: Console | None = None, live: bool | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live_mode = self.console.is_terminal if live is None else live
        self.experiments: dict[str, dict[str, Any]] = {}
        self.total = 0
        self._live: Live | None = None
        self._last_draw = time.monotonic()
        self.line_interval_s = 10.0

    def __enter__(self) -> "Progress":
        if self.live_mode:
            self._live = Live(self._table(), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(*exc)

    def __call__(self, event: dict[str, Any]) -> None:
        kind, p, eid = event["event_type"], event["payload"], event["experiment_id"]
        if kind == "grid_search_started":
            self.total = p.get("num_experiments", 0)
            self._say(f"grid search {event['grid_search_id']} ({p.get('strategy')}): {self.total} experiments")
            return
        if eid is None:
            return
        exp = self.experiments.setdefault(eid, {"status": "scheduled", "epoch": 0, "num_epochs": None, "score": ""})
        if kind == "job_status":
            exp["status"] = p["status"]
            if p["status"] in ("done", "failed"):
                self._say(f"[{self._counts()}] {eid}: {p['status']}" + (f" ({p.get('error')})" if
                                                                        p["status"] == "failed" else ""))
        elif kind == "experiment_status":
            exp["epoch"], exp["num_epochs"] = p.get("epoch", 0), p.get("num_epochs")
        elif kind == "evaluation_result" and p.get("metric_scores"):
            first = p["metric_scores"][0]
            if first["split"] == "val":
                exp["score"] = f"{first['split']}/{first['metric']}={first['score']:.4f}"
        self._redraw()

    def _counts(self) -> str:
        statuses = [e["status"] for e in self.experiments.values()]
        return (f"{statuses.count('done')}/{self.total or len(statuses)} done, {statuses.count('running')} running, "
                f"{statuses.count('failed')} failed")

    def _say(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(text)
        else:
            print(text, file=sys.stderr, flush=True)

    def _redraw(self) -> None:
        now = time.monotonic()
        if self._live is not None and now - self._last_draw > 0.2:
            self._last_draw = now
            self._live.update(self._table())
        elif self._live is None and now - self._last_draw > self.line_interval_s:
            self._last_draw = now
            running = [f"{eid} epoch {e['epoch']}/{e['num_epochs']}" for eid, e in self.experiments.items()
                       if e["status"] == "running" and e["num_epochs"]]
            if running:
                more = f" (+{len(running) - 4} more)" if len(running) > 4 else ""
                self._say(f"[{self._counts()}] " + ", ".join(running[:4]) + more)

    def _table(self) -> Table:
        table = Table(title=self._counts() if self.experiments else "starting", expand=False)
        for col in ("experiment", "status", "epoch", "latest"):
            table.add_column(col)
        for eid, e in self.experiments.items():
            if e["status"] in ("running", "failed", "retrying") or len(self.experiments) <= 16:
                epochs = f"{e['epoch']}/{e['num_epochs']}" if e["num_epochs"] else "-"
                table.add_row(eid, e["status"], epochs, e["score"])
        return table
