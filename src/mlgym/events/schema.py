"""The event envelope and event types: the contract between the gym, the event store and the dashboard.

Payloads are declared in `mlgym.events.payloads`; docs/events.md is generated from those declarations.
`schema_version` is the major version of this contract: additive changes (new optional fields, new event types)
keep it, so readers ignore fields and event types they do not know; a reader refuses a newer major version.
This module and `payloads` import no torch, so MLboard can use them on a machine without it.
"""
from __future__ import annotations

import math

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mlgym.errors import MLgymError
from mlgym.events.payloads import PAYLOAD_TYPES, payload_problem

SCHEMA_VERSION = 2  # 2: `experiment_config` names a `config_base` and overrides it (1: the whole config each time)

EVENT_TYPES = frozenset(PAYLOAD_TYPES)

ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
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


class NewerSchemaError(MLgymError):
    """An event written with a newer major event schema than this reader understands."""

    exit_code = 2


def schema_version_problem(version: object) -> str | None:
    """Why an envelope's `schema_version` cannot be read here; None when it can."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return "schema_version must be a positive integer"
    if version > SCHEMA_VERSION:
        return (f"the event was written with event schema {version}, newer than the {SCHEMA_VERSION} this "
                "version reads: upgrade mlgym (and ml_board) to read it")
    return None


def check_readable(event: dict[str, Any]) -> None:
    """Raise NewerSchemaError when `event` was written with a newer major schema than this reader's."""
    problem = schema_version_problem(event.get("schema_version", 1))
    if problem is not None:
        raise NewerSchemaError(problem)


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
    event_type = event["event_type"]
    if not isinstance(event_type, str) or not EVENT_TYPE_PATTERN.match(event_type):
        return (f"event_type {event_type!r} is not a name like 'job_status' ([a-z][a-z0-9_]*); "
                f"known types: {sorted(EVENT_TYPES)}")
    ts = event["creation_ts"]
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return "creation_ts must be a number (seconds since the epoch)"
    if not math.isfinite(ts):
        return f"creation_ts must be a finite number (seconds since the epoch), got {ts}"
    if not is_valid_id(event["grid_search_id"]):
        return "grid_search_id must match [A-Za-z0-9._-]+"
    exp = event["experiment_id"]
    if exp is not None and not is_valid_id(exp):
        return "experiment_id must be null or match [A-Za-z0-9._-]+"
    if not isinstance(event["payload"], dict):
        return "payload must be a JSON object"
    version_problem = schema_version_problem(event.get("schema_version", 1))
    if version_problem is not None:
        return version_problem
    return payload_problem(event_type, event["payload"])
