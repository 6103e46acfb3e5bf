"""Terminal progress: a live status table on a terminal, one plain line per milestone otherwise.

What it shows comes from a `GridSearchProjection` fed every event as it is logged, so the terminal, `mlgym
report` and MLboard count and score alike.
"""
from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from mlgym.events.experiment_view import ExperimentView
from mlgym.events.projection import GridSearchProjection


class Progress:
    """Event listener showing done / running / failed experiments, each one's epoch and selection score."""

    def __init__(self, console: Console | None = None, live: bool | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live_mode = self.console.is_terminal if live is None else live
        self.projection: GridSearchProjection | None = None
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
        if self.projection is None or self.projection.grid_search_id != event["grid_search_id"]:
            self.projection = GridSearchProjection(event["grid_search_id"])
        self.projection.apply(event)
        kind, p, eid = event["event_type"], event["payload"], event["experiment_id"]
        if kind == "grid_search_started":
            search = p.get("search") or {}
            drawn = (f", random search of {search.get('num_samples')} (seed {search.get('seed')})"
                     if search.get("searcher") == "random" else "")
            self._say(f"grid search {event['grid_search_id']} ({p.get('strategy')}{drawn}): "
                      f"{self.projection.num_experiments} experiments")
            return
        if eid is None:
            return
        if kind == "alert":
            self._say(f"[{self._counts()}] {eid}: ALERT {p.get('message') or p.get('when')}")
        if kind == "job_status" and p.get("status") in ("done", "failed"):
            error = f" ({p.get('error')})" if p["status"] == "failed" else ""
            view = self._views().get(eid)
            status = (f"paused at epoch {view.epoch}" if view is not None and view.status == "paused"
                      else p["status"])
            self._say(f"[{self._counts()}] {eid}: {status}{error}")
        elif kind == "job_status" and p.get("status") == "retrying":
            self._say(f"[{self._counts()}] {eid}: attempt {p.get('attempt')} lost, retrying as attempt "
                      f"{p.get('next_attempt')}: {p.get('error') or 'its worker died'}")
        elif kind in ("trial_promoted", "trial_stopped"):
            verb = "promoted" if kind == "trial_promoted" else "stopped"
            self._say(f"[{self._counts()}] {eid}: trial {p.get('trial')} {verb} at rung {p.get('rung')} "
                      f"(epoch {p.get('epoch')})")
        self._redraw()

    def _views(self) -> dict[str, ExperimentView]:
        return self.projection.views() if self.projection else {}

    def _counts(self) -> str:
        if self.projection is None:
            return "starting"
        c = self.projection.counts()
        total = self.projection.num_experiments or len(self._views())
        return f"{c['num_done']}/{total} done, {c['num_running']} running, {c['num_failed']} failed"

    def _score(self, view: ExperimentView) -> str:
        key = view.selection_key(self.projection.selection) if self.projection else None
        value = view.latest.get(key) if key else None
        return "" if value is None else f"{key}={value:.4f}"

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
            running = [f"{eid} {self._where(v)}" for eid, v in self._views().items()
                       if v.status == "running" and v.num_epochs]
            if running:
                more = f" (+{len(running) - 4} more)" if len(running) > 4 else ""
                self._say(f"[{self._counts()}] " + ", ".join(running[:4]) + more)

    @staticmethod
    def _where(view: ExperimentView) -> str:
        """`epoch 2/8`, or inside an epoch `epoch 3/8 step 40/60 (45%)` from the last training_progress."""
        sp = view.step_progress
        if sp and sp.get("epoch") and sp["epoch"] > view.epoch and sp.get("num_steps"):
            return (f"epoch {sp['epoch']}/{view.num_epochs} step {sp['step']}/{sp['num_steps']} "
                    f"({view.progress:.0%})")
        return f"epoch {view.epoch}/{view.num_epochs}"

    def _table(self) -> Table:
        views = self._views()
        table = Table(title=self._counts() if views else "starting", expand=False)
        any_alerts = any(v.num_alerts for v in views.values())
        for col in ("experiment", "status", "epoch", "latest", *(("alerts",) if any_alerts else ())):
            table.add_column(col)
        for eid, v in views.items():
            if v.status in ("running", "failed") or len(views) <= 16:
                epochs = self._where(v).removeprefix("epoch ") if v.num_epochs else "-"
                alerts = (f"{v.num_alerts}: {v.alerts[-1]['when']}" if v.alerts else "",) if any_alerts else ()
                table.add_row(eid, v.status, epochs, self._score(v), *alerts)
        return table
