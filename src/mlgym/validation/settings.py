"""The validation config (`--validation_config_path`): which strategy, how many folds, how to select."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlgym.config.loader import SourceMap, load_yaml
from mlgym.errors import ConfigError

SECTION_NAMES = {"cross_validation": "cross_validation", "crossvalidation": "cross_validation",
                 "nested_cv": "nested_cv", "nestedcv": "nested_cv", "grid_search": "grid_search"}


@dataclass(frozen=True)
class Selection:
    """How the best epoch / grid point is chosen: a score `<split>/<metric>`, maximised or minimised."""

    split: str = "val"
    metric: str | None = None  # None: the first metric the evaluator reports
    mode: str | None = None  # None: the metric's own direction

    def to_dict(self) -> dict[str, Any]:
        return {"split": self.split, "metric": self.metric, "mode": self.mode}

    def resolved(self, directions: dict[str, str]) -> "Selection":
        """Metric and mode filled in from the experiments' score directions (metrics first, then losses)."""
        if not directions:
            return replace(self, mode=self.mode or "max")
        metric = self.metric or next(iter(directions))
        if metric not in directions:
            raise ConfigError(f"selection metric '{metric}' is not among the scores the experiments report: "
                              f"{', '.join(directions)}", key_path="selection.metric",
                              hint="use a metric's reported name, e.g. f1_macro for {name: f1, average: macro}")
        return replace(self, metric=metric, mode=self.mode or directions[metric])


@dataclass(frozen=True)
class ValidationSettings:
    """Strategy and fold settings, with mlgym's names (`num_folds`, `num_outer_loop_folds`, `num_inner_loop_folds`)."""

    strategy: str = "grid_search"
    num_folds: int = 5
    num_outer_loop_folds: int = 3
    num_inner_loop_folds: int = 2
    stratified: bool = True
    shuffle: bool = True
    seed: int = 0
    selection: Selection = field(default_factory=Selection)
    raw: dict[str, Any] | None = None


_INT_KEYS = ("num_folds", "num_outer_loop_folds", "num_inner_loop_folds", "seed")
_BOOL_KEYS = ("stratified", "shuffle")


def _selection(raw: Any, path: str, source: SourceMap) -> Selection:
    if raw is None:
        return Selection()
    if not isinstance(raw, dict) or set(raw) - {"split", "metric", "mode"}:
        raise source.error("selection must be {split, metric, mode}", path)
    if raw.get("mode") not in ("max", "min", None):
        raise source.error(f"mode must be max or min (or left out: the metric's direction), got {raw.get('mode')!r}",
                           f"{path}.mode")
    return Selection(str(raw.get("split", "val")), raw.get("metric"), raw.get("mode"))


def parse_validation(data: dict[str, Any], source: SourceMap) -> ValidationSettings:
    if not isinstance(data, dict) or len(data) != 1:
        raise source.error("a validation config has exactly one section: CROSS_VALIDATION or NestedCV", "",
                           hint="e.g.\nCROSS_VALIDATION:\n  num_folds: 5")
    (name, body), = data.items()
    strategy = SECTION_NAMES.get(str(name).lower())
    if strategy is None:
        raise source.error(f"unknown validation section '{name}'; expected CROSS_VALIDATION or NestedCV", str(name))
    body = body or {}
    if isinstance(body, dict) and "config" in body:
        body = body["config"] or {}
        name = f"{name}.config"
    if not isinstance(body, dict):
        raise source.error("the section must be a mapping of settings", str(name))
    allowed = set(_INT_KEYS) | set(_BOOL_KEYS) | {"selection", "component_type_key", "variant_key"}
    values: dict[str, Any] = {}
    for key, value in body.items():
        path = f"{name}.{key}"
        if key not in allowed:
            raise source.error(f"unknown setting '{key}'; allowed: {', '.join(sorted(allowed))}", path)
        if key in _INT_KEYS and (not isinstance(value, int) or isinstance(value, bool)):
            raise source.error(f"expected an integer, got {value!r}", path)
        if key in _BOOL_KEYS and not isinstance(value, bool):
            raise source.error(f"expected true or false, got {value!r}", path)
        if key.startswith("num_") and value < 2:
            raise source.error(f"needs at least 2 folds, got {value}", path)
        if key in _INT_KEYS or key in _BOOL_KEYS:
            values[key] = value
    return ValidationSettings(strategy=strategy, selection=_selection(body.get("selection"), f"{name}.selection",
                                                                       source), raw=data, **values)


def load_validation(path: str | Path | None) -> ValidationSettings:
    if path is None:
        return ValidationSettings()
    data, source = load_yaml(path)
    return parse_validation(data, source)

