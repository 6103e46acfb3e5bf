"""Load a YAML config with `imports:`, keeping the file, line and column of every key for error messages."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from mlgym.config.python_modules import PythonModule, take_python_modules
from mlgym.config.yaml_loader import ConfigLoader
from mlgym.errors import ConfigError, Location, OverrideLocation

MERGE_TAG = "tag:yaml.org,2002:merge"


class SourceMap:
    """Key path (`optimizer.config.lr`, list items as numbers) -> where the key was written; also the files read
    and the `python_modules` they named (taken out of the config, each with the folder of its file)."""

    def __init__(self) -> None:
        self._locations: dict[str, Location | OverrideLocation] = {}
        self.files: list[str] = []
        self.python_modules: list[PythonModule] = []

    def add(self, key_path: str, location: Location | OverrideLocation) -> None:
        self._locations[key_path] = location

    def replace(self, key_path: str, location: Location | OverrideLocation) -> None:
        """`key_path` got a new value: it and every key below it now come from `location`."""
        prefix = f"{key_path}."
        for path in [p for p in self._locations if p.startswith(prefix)]:
            del self._locations[path]
        self._locations[key_path] = location

    def update(self, other: "SourceMap") -> None:
        self._locations.update(other._locations)
        self.files.extend(f for f in other.files if f not in self.files)
        known = {(m.name, m.folder) for m in self.python_modules}
        self.python_modules.extend(m for m in other.python_modules if (m.name, m.folder) not in known)

    def __contains__(self, key_path: str) -> bool:
        return key_path in self._locations

    def find(self, key_path: str) -> Location | OverrideLocation | None:
        """The location of `key_path`, or of its nearest ancestor that has one."""
        parts = key_path.split(".") if key_path else []
        while parts:
            loc = self._locations.get(".".join(parts))
            if loc:
                return loc
            parts.pop()
        return Location(self.files[0], 1, 1) if self.files else None

    def error(self, message: str, key_path: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, key_path=key_path, location=self.find(key_path), hint=hint)


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _construct(loader: ConfigLoader, node: yaml.Node, path: str, file: str, source: SourceMap) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                parts = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for part in parts:
                    merged.update(_construct(loader, part, path, file, source))
                continue
            key = loader.construct_object(key_node, deep=True)
            mark = key_node.start_mark
            source.add(_join(path, key), Location(file, mark.line + 1, mark.column + 1))
            result[key] = _construct(loader, value_node, _join(path, key), file, source)
        return {**merged, **result}
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            mark = item.start_mark
            source.add(_join(path, i), Location(file, mark.line + 1, mark.column + 1))
            items.append(_construct(loader, item, _join(path, i), file, source))
        return items
    return loader.construct_object(node, deep=True)


def load_yaml(path: str | Path) -> tuple[Any, SourceMap]:
    """Parse one YAML file; a syntax error becomes a ConfigError with the file, line and column."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError as e:
        raise ConfigError(f"config file not found: {path}", hint="check the path; relative paths are "
                          "resolved from the current directory (imports: from the importing file)") from e
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from e
    source = SourceMap()
    source.files.append(str(path))
    loader = ConfigLoader(text)
    try:
        node = loader.get_single_node()
        data = _construct(loader, node, "", str(path), source) if node is not None else {}
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = Location(str(path), mark.line + 1, mark.column + 1) if mark else None
        raise ConfigError(f"YAML syntax error: {e.problem or e.context}", location=loc,
                          hint="check indentation, colons and quotes on that line") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"YAML error in {path}: {e}") from e
    finally:
        loader.dispose()
    return data, source


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` wins; nested mappings are merged key by key, everything else is replaced."""
    result = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict) and "sweep" not in value:
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def load_config(path: str | Path, _seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], SourceMap]:
    """Load `path` and the files its `imports:` list names (merged first, this file wins)."""
    path = Path(path).resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise ConfigError(f"circular imports: {chain}")
    data, source = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("a config file must be a mapping of names to entries, "
                          f"got {type(data).__name__}", location=Location(str(path), 1, 1))
    modules = take_python_modules(data, path.parent, source)
    imports = data.pop("imports", None) or []
    if not isinstance(imports, list):
        raise source.error("imports must be a list of file paths", "imports")
    merged: dict[str, Any] = {}
    merged_source = SourceMap()
    for i, item in enumerate(imports):
        target = path.parent / str(item)
        if not target.is_file():
            raise source.error(f"imported file not found: {target}", f"imports.{i}",
                               hint="import paths are relative to the importing file")
        sub, sub_source = load_config(target, (*_seen, path))
        merged = deep_merge(merged, sub)
        merged_source.update(sub_source)
    merged = deep_merge(merged, data)
    source.python_modules = modules  # after the imported files' modules: theirs are imported first
    merged_source.update(source)
    merged_source.files.remove(str(path))
    merged_source.files.insert(0, str(path))
    return merged, merged_source
