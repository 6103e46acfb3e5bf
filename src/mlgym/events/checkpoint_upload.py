"""Upload each saved checkpoint to MLboard, for boards that share no file system with the workers.

An EventLog listener: on a `checkpoint` event with action `saved` it queues the file, and one background thread
POSTs it to `<server>/api/grid_searches/<id>/checkpoints/<path>`. Training never waits for it; a board that is
down costs a few retries and a warning, nothing else.
"""
from __future__ import annotations

import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

_STOP = object()


class CheckpointUploader:
    """Ships saved checkpoint files of one grid search to one MLboard."""

    def __init__(self, run_dir: str | Path, server_url: str, token: str | None = None, attempts: int = 3) -> None:
        self.run_dir = Path(run_dir)
        self.server_url = server_url.rstrip("/")
        self.token = token
        self.attempts = attempts
        self.uploaded: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="checkpoint-upload", daemon=True)
        self._thread.start()

    def __call__(self, event: dict[str, Any]) -> None:
        payload = event.get("payload") or {}
        if event.get("event_type") == "checkpoint" and payload.get("action") == "saved":
            self._queue.put((event["grid_search_id"], payload["path"]))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            self._upload(*item)

    def _upload(self, grid_search_id: str, relative: str) -> None:
        path = self.run_dir / relative
        url = f"{self.server_url}/api/grid_searches/{grid_search_id}/checkpoints/{relative}"
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        for attempt in range(self.attempts):
            try:
                with open(path, "rb") as f:
                    response = requests.post(url, data=f, headers=headers, timeout=60)
                if response.status_code == 201:
                    self.uploaded.append(relative)
                    return
                problem = f"HTTP {response.status_code}: {response.text[:200]}"
            except FileNotFoundError:
                return  # deleted by its strategy before it could be sent: a newer one follows
            except requests.RequestException as e:
                problem = str(e)
            time.sleep(0.5 * 2 ** attempt)
        print(f"warning: could not upload checkpoint {relative} to {self.server_url}: {problem}", file=sys.stderr)

    def close(self, timeout: float = 60.0) -> None:
        """Send what is queued, waiting at most `timeout` seconds."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
