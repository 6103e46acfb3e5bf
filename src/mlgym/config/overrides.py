"""`-c key.path=value` overrides, applied last; the key path must already exist."""
from __future__ import annotations

import difflib
from typing import Any

import yaml

from mlgym.config.loader import SourceMap
from mlgym.errors import ConfigError


def parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ConfigError(f"override '{text}' has no '='", key_path="-c",
                          hint="write -c path.to.key=value, e.g. -c optimizer.config.lr=0.01")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _step(container: Any, part: str, done: str, source: SourceMap) -> Any:
    if isinstance(container, dict):
        if part not in container:
            near = difflib.get_close_matches(part, [str(k) for k in container], n=1)
            where = done or "the top level"
            raise ConfigError(f"-c override: '{part}' does not exist under {where}; "
                              f"existing keys: {', '.join(map(str, container))}",
                              key_path=f"{done}.{part}" if done else part,
                              hint=f"did you mean '{near[0]}'?" if near else None)
        return part
    if isinstance(container, list) and part.isdigit() and int(part) < len(container):
        return int(part)
    raise ConfigError(f"-c override: cannot index {type(container).__name__} with '{part}'",
                      key_path=f"{done}.{part}" if done else part)


def apply_overrides(config: dict[str, Any], overrides: list[str], source: SourceMap) -> dict[str, Any]:
    """Set each `path=value` in place (the path must exist) and return the config."""
    for text in overrides:
        key_path, value = parse_override(text)
        parts = key_path.split(".")
        node: Any = config
        done = ""
        for part in parts[:-1]:
            node = node[_step(node, part, done, source)]
            done = f"{done}.{part}" if done else part
        node[_step(node, parts[-1], done, source)] = value
    return config
