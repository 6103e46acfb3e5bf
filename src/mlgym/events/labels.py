"""A grid search's labels for people: a name, tags and a note.

They are set in the run config's `labels:` section (logged as part of `grid_search_started.run_config`) and may be
edited on MLboard, which keeps the edits in a log of its own. The limits are one contract for both sides: the gym
refuses a run config beyond them (exit 2), the board a request beyond them (400).
"""
from __future__ import annotations

from typing import Any

MAX_NAME = 200
MAX_TAGS = 20
MAX_TAG = 50
MAX_NOTE = 10_000
FIELDS = ("name", "tags", "note")


def label_problem(labels: Any, allow_null: bool = False) -> tuple[str, str] | None:
    """Why `labels` is not a valid `{name?, tags?, note?}` mapping: (key path below `labels`, reason), else None.

    `allow_null`: a field may be null (an edit that puts the field back to the run config's value).
    """
    if not isinstance(labels, dict):
        return "", f"labels is a mapping with name, tags and note, got {type(labels).__name__}"
    for key in labels:
        if key not in FIELDS:
            return str(key), f"unknown label '{key}'; allowed: {', '.join(FIELDS)}"
    for key in ("name", "note"):
        value, limit = labels.get(key), MAX_NAME if key == "name" else MAX_NOTE
        if key not in labels or (value is None and allow_null):
            continue
        if not isinstance(value, str):
            return key, f"{key} is a string, got {_kind(value)}"
        if len(value) > limit:
            return key, f"{key} is at most {limit:,} characters, got {len(value):,}"
    tags = labels.get("tags")
    if "tags" not in labels or (tags is None and allow_null):
        return None
    if not isinstance(tags, list):
        return "tags", f"tags is a list of strings, got {_kind(tags)}"
    if len(tags) > MAX_TAGS:
        return "tags", f"at most {MAX_TAGS} tags, got {len(tags)}"
    for i, tag in enumerate(tags):
        if not isinstance(tag, str):
            return f"tags.{i}", f"a tag is a string, got {_kind(tag)}"
        if not tag.strip():
            return f"tags.{i}", "a tag is not empty"
        if len(tag) > MAX_TAG:
            return f"tags.{i}", f"a tag is at most {MAX_TAG} characters, got {len(tag)}"
    return None


def normalized(labels: dict[str, Any]) -> dict[str, Any]:
    """Valid labels with each tag stripped and the tags deduplicated (first one kept, case-insensitively)."""
    out = dict(labels)
    if isinstance(out.get("tags"), list):
        seen: set[str] = set()
        tags = []
        for tag in (t.strip() for t in out["tags"]):
            if tag.lower() not in seen:
                seen.add(tag.lower())
                tags.append(tag)
        out["tags"] = tags
    return out


def run_config_labels(run_config: Any) -> dict[str, Any]:
    """`{name, tags, note}` from a logged run config (missing or ill-typed fields: None, [], None)."""
    section = run_config.get("labels") if isinstance(run_config, dict) else None
    section = section if isinstance(section, dict) else {}
    fields = {k: section.get(k) for k in FIELDS}
    if label_problem({k: v for k, v in fields.items() if v is not None}) is not None:
        fields = {k: v if label_problem({k: v}) is None else None for k, v in fields.items()}
    labels = normalized({k: v for k, v in fields.items() if v is not None})
    return {"name": labels.get("name"), "tags": labels.get("tags", []), "note": labels.get("note")}


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
