"""An experiment's resolved config written as overrides of a config base logged once (event schema 2).

The configs of a grid search's experiments differ only in their swept values, so the writer logs the first
experiment's resolved config once (`config_base`, named by a content hash) and every `experiment_config` as that
base's id plus `{dotted key path: value}` for what differs. Readers rebuild the config by applying the overrides to
a copy of the base (`apply_overrides`); logs of schema 1 carry the whole `config` in every `experiment_config`, and
`resolved_config` reads both forms.

The overrides reproduce the config exactly (key order and value types included: `1` and `1.0`, `True` and `1` are
different values here), because they only ever replace values at paths the base has: a mapping whose keys differ
from the base's (or are not plain names: empty, holding a dot, not strings) is replaced as a whole, as is any
list that differs.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

_json = msgspec.json.Encoder(order="sorted")


def config_id(config: Mapping[str, Any]) -> str:
    """The content hash that names a config base: 16 hex digits of the SHA-256 of its canonical JSON."""
    return hashlib.sha256(_json.encode(config)).hexdigest()[:16]


def overrides_between(base: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any] | None:
    """`{dotted key path: value}` that turns `base` into `config` (`apply_overrides`); None when the two differ at
    the top level in their keys, which no override can express."""
    out: dict[str, Any] = {}
    return out if _diff(base, config, "", out) else None


def _plain_keys(node: Mapping[Any, Any]) -> bool:
    return all(isinstance(k, str) and k and "." not in k for k in node)


def _diff(base: Any, config: Any, prefix: str, out: dict[str, Any]) -> bool:
    """Record in `out` the overrides below `prefix`; False when `config` must replace `base` as a whole."""
    if not (isinstance(base, dict) and isinstance(config, dict) and list(base) == list(config)
            and _plain_keys(config)):
        return False
    for key, value in config.items():
        if not same(base[key], value):
            path = f"{prefix}.{key}" if prefix else key
            if not _diff(base[key], value, path, out):
                out[path] = value
    return True


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values of the same types: `1` is not `1.0` nor `True`; mappings in the same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def apply_overrides(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh copy of `base` with each `{dotted key path: value}` set (a missing mapping on the way is created)."""
    config = _copy(base)
    for path, value in overrides.items():
        *parents, last = path.split(".")
        node = config
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = _copy(value)
    return config


def resolved_config(payload: Mapping[str, Any], bases: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The resolved config of an `experiment_config` payload of either form; None when it names a base that
    `bases` (config id -> config, from the log's `config_base` events) does not hold."""
    config = payload.get("config")
    if config is not None:
        return config
    base_id, overrides = payload.get("config_base"), payload.get("config_overrides") or {}
    base = bases.get(base_id) if isinstance(base_id, str) else None
    if not isinstance(base, Mapping) or not isinstance(overrides, Mapping):
        return None  # not a log this version wrote: nothing to rebuild from
    return apply_overrides(base, {k: v for k, v in overrides.items() if isinstance(k, str)})


def experiment_configs(events: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any] | None]:
    """Experiment id -> resolved config, read from a log's events (either schema)."""
    bases: dict[str, Any] = {}
    configs: dict[str, dict[str, Any] | None] = {}
    for event in events:
        p = event.get("payload") or {}
        if event["event_type"] == "config_base" and isinstance(p.get("config"), dict):
            bases[p.get("config_id")] = p["config"]
        elif event["event_type"] == "experiment_config" and event.get("experiment_id") is not None:
            configs[event["experiment_id"]] = resolved_config(p, bases)
    return configs


class ConfigCompactor:
    """The writer's side: turns full `experiment_config` payloads into overrides of the current base, and says
    when a base must be logged first (the first config; a config whose overrides would be larger than itself)."""

    def __init__(self) -> None:
        self.base_id: str | None = None
        self.base: dict[str, Any] | None = None

    def compact(self, payload: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the `config_base` payload to log first or None, the `experiment_config` payload to log)."""
        config = payload["config"]
        overrides = None if self.base is None else overrides_between(self.base, config)
        new_base = None
        # a new base when no overrides can express the config, or they would be larger than the config itself
        if overrides is None or (overrides and len(_json.encode(overrides)) > len(_json.encode(config))):
            self.base, self.base_id, overrides = _copy(config), config_id(config), {}
            new_base = {"config_id": self.base_id, "config": config}
        compacted = {k: v for k, v in payload.items() if k != "config"}
        compacted["config_base"] = self.base_id
        if overrides:
            compacted["config_overrides"] = overrides
        return new_base, compacted
