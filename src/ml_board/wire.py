"""The JSON codec MLboard gives Socket.IO: standard JSON on the wire, with two shortcuts for event batches.

- encoding: a `RawJSONArray` of already-encoded event lines (straight from the store file) is spliced into the
  packet as `[line,line,...]` instead of being parsed and re-encoded;
- decoding: in an `ingest` packet the `events` array is scanned element by element, keeping each element's exact
  text next to its parsed value (`EventList.raw`), so the store can write what was sent without re-encoding.
  (The websocket sink sends its batches as a binary `lines` attachment instead, which bypasses JSON altogether;
  `events` arrays come from other senders, such as one event per emit.)

Anything else, or anything this fast path does not understand, falls back to the standard library.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["RawJSONArray", "EventList", "dumps", "loads"]

_decoder = json.JSONDecoder()
_scan_once = _decoder.scan_once
_WHITESPACE = " \t\n\r"
_INGEST_PREFIX = '["ingest",'
_RAW_TOKEN = "raw-" + uuid.uuid4().hex + "-"


class RawJSONArray:
    """A JSON array whose elements are already encoded: `text` is `elem,elem,...` (spliced as is by `dumps`)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def from_lines(cls, lines: bytes) -> "RawJSONArray":
        """From complete JSON lines, each ending in a newline (JSON text never holds a raw newline)."""
        return cls(lines[:-1].replace(b"\n", b",").decode() if lines else "")


def dumps(obj: Any, **kwargs: Any) -> str:
    """`json.dumps` that splices every `RawJSONArray` in `obj` without decoding it."""
    raws: list[str] = []
    user_default: Callable[[Any], Any] | None = kwargs.pop("default", None)

    def default(value: Any) -> Any:
        if isinstance(value, RawJSONArray):
            raws.append(value.text)
            return f"{_RAW_TOKEN}{len(raws) - 1}"
        if user_default is not None:
            return user_default(value)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    text = json.dumps(obj, default=default, **kwargs)
    for n, raw in enumerate(raws):
        text = text.replace(f'"{_RAW_TOKEN}{n}"', f"[{raw}]", 1)
    return text


class EventList(list):
    """A decoded `events` array plus the exact JSON text of each element (`raw[i]` encodes `self[i]`)."""

    raw: list[str]


def _skip(s: str, i: int) -> int:
    while s[i] in _WHITESPACE:
        i += 1
    return i


def _scan_array(s: str, i: int) -> tuple[EventList, int]:
    """Scan the JSON array starting at s[i] == '['; return it with each element's text, and the index after it."""
    values = EventList()
    raws: list[str] = []
    i = _skip(s, i + 1)
    if s[i] == "]":
        values.raw = raws
        return values, i + 1
    append_value, append_raw = values.append, raws.append
    while True:
        value, end = _scan_once(s, i)
        append_value(value)
        append_raw(s[i:end])
        c = s[end]
        if c == ",":
            i = end + 1
            if s[i] in _WHITESPACE:
                i = _skip(s, i)
        elif c == "]":
            values.raw = raws
            return values, end + 1
        else:
            j = _skip(s, end)
            if s[j] == ",":
                i = _skip(s, j + 1)
            elif s[j] == "]":
                values.raw = raws
                return values, j + 1
            else:
                raise ValueError(f"expected ',' or ']' at {j}")


def _loads_ingest(s: str) -> list[Any]:
    i = _skip(s, len(_INGEST_PREFIX))
    if s[i] != "{":
        raise ValueError("ingest data is not an object")
    data: dict[str, Any] = {}
    i = _skip(s, i + 1)
    if s[i] != "}":
        while True:
            if s[i] != '"':
                raise ValueError("expected a key")
            key, i = _scan_once(s, i)
            i = _skip(s, i)
            if s[i] != ":":
                raise ValueError("expected ':'")
            i = _skip(s, i + 1)
            if key == "events" and s[i] == "[":
                data[key], i = _scan_array(s, i)
            else:
                data[key], i = _scan_once(s, i)
            i = _skip(s, i)
            if s[i] == ",":
                i = _skip(s, i + 1)
                continue
            if s[i] == "}":
                break
            raise ValueError("expected ',' or '}'")
    i = _skip(s, i + 1)
    if s[i] != "]" or s[i + 1:].strip(_WHITESPACE):
        raise ValueError("unexpected data after the ingest object")
    return ["ingest", data]


def loads(s: str | bytes, **kwargs: Any) -> Any:
    """`json.loads`, keeping the raw text of each event of an `ingest` packet."""
    if isinstance(s, str) and s.startswith(_INGEST_PREFIX) and not kwargs:
        try:
            return _loads_ingest(s)
        except (ValueError, IndexError, StopIteration):
            pass
    return json.loads(s, **kwargs)
