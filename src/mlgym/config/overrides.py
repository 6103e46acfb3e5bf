"""`-c key.path=value` overrides, applied last; the key path must already exist."""
from __future__ import annotations

import difflib
from typing import Any

import yaml

from mlgym.config.loader import SourceMap
from mlgym.config.yaml_loader import load_value
from mlgym.errors import ConfigError, OverrideLocation


def parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ConfigError(f"override '{text}' has no '='", key_path="-c",
                          hint="write -c path.to.key=value, e.g. -c optimizer.config.lr=0.01")
    key, raw = text.split("=", 1)
    try:
        value = load_value(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _step(container: Any, part: str, done: str, origin: OverrideLocation) -> Any:
    if isinstance(container, dict):
        if part not in container:
            near = difflib.get_close_matches(part, [str(k) for k in container], n=1)
            where = done or "the top level"
            raise ConfigError(f"-c override: '{part}' does not exist under {where}; "
                              f"existing keys: {', '.join(map(str, container))}",
                              key_path=f"{done}.{part}" if done else part, location=origin,
                              hint=f"did you mean '{near[0]}'?" if near else None)
        return part
    if isinstance(container, list) and part.isdigit() and int(part) < len(container):
        return int(part)
    raise ConfigError(f"-c override: cannot index {type(container).__name__} with '{part}'",
                      key_path=f"{done}.{part}" if done else part, location=origin)


def apply_overrides(config: dict[str, Any], overrides: list[str], source: SourceMap) -> dict[str, Any]:
    """Set each `path=value` in place (the path must exist) and return the config.

    The source map then names the override as the origin of that key path (and everything below it), so an
    error about an overridden value points at the `-c` flag, not at the file line whose value it replaced.
    """
    for text in overrides:
        key_path, value = parse_override(text)
        origin = OverrideLocation(text)
        parts = key_path.split(".")
        node: Any = config
        done = ""
        for part in parts[:-1]:
            node = node[_step(node, part, done, origin)]
            done = f"{done}.{part}" if done else part
        node[_step(node, parts[-1], done, origin)] = value
        source.replace(key_path, origin)
    return config
