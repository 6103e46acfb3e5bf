"""The event envelope and event types: the contract between the gym, the event store and the dashboard.

This module imports only the standard library, so MLboard can use it without torch.
See docs/events.md for every payload.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1

EVENT_TYPES = frozenset({
    "grid_search_started",
    "grid_search_finished",
    "job_scheduled",
    "job_status",
    "experiment_config",
    "experiment_status",
    "evaluation_result",
    "checkpoint",
})

ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
ENVELOPE_KEYS = ("seq", "event_type", "creation_ts", "grid_search_id", "experiment_id", "payload")


@dataclass(frozen=True)
class Envelope:
    """One stored event: a gapless `seq` per grid search, a type, a time, the ids it belongs to and its payload."""

    seq: int
    event_type: str
    creation_ts: float
    grid_search_id: str
    experiment_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and bool(ID_PATTERN.match(value))


def validate_envelope(event: object) -> str | None:
    """Return why `event` is not a well-formed envelope, or None when it is."""
    if not isinstance(event, dict):
        return "event is not a JSON object"
    missing = [k for k in ENVELOPE_KEYS if k not in event]
    if missing:
        return f"missing keys: {', '.join(missing)}"
    seq = event["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return "seq must be a non-negative integer"
    if not isinstance(event["event_type"], str) or event["event_type"] not in EVENT_TYPES:
        return f"unknown event_type {event['event_type']!r}; expected one of {sorted(EVENT_TYPES)}"
    if not isinstance(event["creation_ts"], (int, float)) or isinstance(event["creation_ts"], bool):
        return "creation_ts must be a number (seconds since the epoch)"
    if not is_valid_id(event["grid_search_id"]):
        return "grid_search_id must match [A-Za-z0-9._-]+"
    exp = event["experiment_id"]
    if exp is not None and not is_valid_id(exp):
        return "experiment_id must be null or match [A-Za-z0-9._-]+"
    if not isinstance(event["payload"], dict):
        return "payload must be a JSON object"
    return None
