"""Record next to each checkpoint the `seq` of its `saved` event: the checkpoint's place in the event log.

Workers write checkpoints but do not know seqs (the main process assigns them when it logs), so the main process
adds this marker, `epoch_<n>.pt.seq`, when it logs the `saved` event, and removes it with the checkpoint.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class CheckpointSeqRecorder:
    """EventLog listener writing `<checkpoint>.seq` for every saved checkpoint of one grid search."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("event_type") != "checkpoint":
            return
        payload = event.get("payload") or {}
        if not payload.get("path"):
            return
        marker = self.run_dir / f"{payload['path']}.seq"
        if payload.get("action") == "saved" and marker.parent.is_dir():
            tmp = marker.with_name(f".{marker.name}.tmp")
            tmp.write_text(str(event["seq"]))
            os.replace(tmp, marker)
        elif payload.get("action") == "deleted":
            marker.unlink(missing_ok=True)
