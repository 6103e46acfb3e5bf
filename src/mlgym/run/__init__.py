"""Wiring a run together: the executor, the event log, the websocket sink and uploads, warm start, listeners.

`validation` plans what to run (side-effect free); `scheduler` runs tasks; this layer connects the two to the
event log, and is the only place that starts a run's threads and processes.
"""
from mlgym.run.execution import ExecutionSettings
from mlgym.run.request import RunOutcome, RunRequest
from mlgym.run.train import start
from mlgym.run.warm_start import known_grid_searches, warm_start

__all__ = ["ExecutionSettings", "RunOutcome", "RunRequest", "known_grid_searches", "start", "warm_start"]
