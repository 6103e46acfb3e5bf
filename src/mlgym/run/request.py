"""What a `train` asks for, and what a run did."""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgym.run.execution import ExecutionSettings
from mlgym.scheduler.task import TaskResult
from mlgym.search.settings import SearchSettings


@dataclass(frozen=True)
class RunRequest:
    """Everything a `train` needs, after flags and run_config.yml were merged."""

    gs_config_path: Path
    log_dir: Path
    num_epochs: int
    seed: int = 0
    overrides: tuple[str, ...] = ()
    validation_config_path: Path | None = None
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)
    websocket_servers: tuple[str, ...] = ()
    ingest_token: str | None = None
    run_config: dict[str, Any] = field(default_factory=dict)
    search: SearchSettings = field(default_factory=SearchSettings)
    heartbeat_s: float = 30.0  # logging.heartbeat_s: a `heartbeat` event this often while the run goes on
    dirty_git: str = "warn"  # reproducibility.dirty_git: ignore | warn | error (refuse to start in a dirty tree)


@dataclass
class RunOutcome:
    """What a run did: its id and log, the task results, and the exit status to give."""

    grid_search_id: str
    log_path: Path
    results: dict[str, TaskResult]
    status: str

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "done" else (130 if self.status == "interrupted" else 1)


def new_grid_search_id() -> str:
    return time.strftime("%Y-%m-%d--%H-%M-%S") + "-" + secrets.token_hex(2)
