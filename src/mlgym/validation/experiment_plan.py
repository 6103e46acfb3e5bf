"""Resolve and validate a whole grid search before anything starts: configs, grid, folds, every experiment."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from mlgym.config.loader import SourceMap, load_config
from mlgym.config.overrides import apply_overrides
from mlgym.config.python_modules import PythonModule, import_python_modules
from mlgym.config.sweep import GridPoint, find_sweeps
from mlgym.errors import ConfigError
from mlgym.gym.scores import score_directions_of_nodes
from mlgym.registry.graph import Node, nodes_of_kind, parse_nodes
from mlgym.registry.registry import registry
from mlgym.search.searchers import trial_points
from mlgym.search.settings import SearchSettings
from mlgym.validation.settings import ValidationSettings

REQUIRED_KINDS = ("model", "trainer", "evaluator")


@dataclass(frozen=True)
class ResolvedGridSearch:
    """A gs_config loaded, overridden, validated and expanded into its grid.

    `grid` holds the points the searcher chose: every grid point, or a random search's trials (in trial order).
    `nodes[i]` are the parsed component nodes of `grid[i]`: the config is parsed once per grid point in the main
    process, and the strategy check and the plan reuse them (they stay here; workers get only the config).
    `python_modules` register the config's own components; they are imported before any point is checked.
    """

    gs_config_path: Path
    gs_config: dict[str, Any]
    gs_config_sha256: str
    source: SourceMap
    grid: list[GridPoint]
    sweep_paths: list[str]
    nodes: tuple[dict[str, Node], ...]
    search: SearchSettings = SearchSettings()
    python_modules: tuple[PythonModule, ...] = ()

    @cached_property
    def score_directions(self) -> dict[str, dict[str, str]]:
        """Grid point id -> (score name -> "max" | "min"), from the parsed nodes."""
        return {p.grid_point_id: score_directions_of_nodes(n) for p, n in zip(self.grid, self.nodes)}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_grid_point(point: GridPoint, source: SourceMap) -> dict[str, Node]:
    """Parse and check one grid point's components; the nodes, for reuse by the strategy and the plan."""
    nodes = parse_nodes(point.config, registry, source)
    for kind in REQUIRED_KINDS:
        found = nodes_of_kind(nodes, kind)
        if len(found) != 1:
            names = ", ".join(n.name for n in found) or "none"
            raise ConfigError(f"a gs_config needs exactly one component of kind '{kind}', found {names}",
                              location=source.find(""),
                              hint=f"variants of {kind}: {', '.join(registry.variants(kind))}")
    return nodes


def check_grid(grid: list[GridPoint], source: SourceMap) -> tuple[dict[str, Node], ...]:
    """Every grid point checked (built-in components registered first); their nodes in grid order."""
    from mlgym.gym.builtins import load_builtins  # torch and every component: imported when a grid is checked
    load_builtins()
    return tuple(check_grid_point(point, source) for point in grid)


def resolve_grid_search(gs_config_path: str | Path, overrides: list[str] | None = None,
                        search: SearchSettings | None = None) -> ResolvedGridSearch:
    """Load, override, expand (or sample: `search`, its seed filled in) and check every point; raises
    ConfigError with file, line and key path."""
    path, config, source = load_gs_config(gs_config_path, overrides)
    return resolve_points(path, config, file_sha256(path), source, search or SearchSettings(),
                          tuple(source.python_modules))


def load_gs_config(gs_config_path: str | Path, overrides: list[str] | None = None
                   ) -> tuple[Path, dict[str, Any], SourceMap]:
    """The first, cheap step of `resolve_grid_search` (YAML, imports, overrides; no component is looked at): its
    `source.python_modules` are known here, so a run can start its workers before the points are checked."""
    path = Path(gs_config_path).resolve()
    config, source = load_config(path)
    apply_overrides(config, overrides or [], source)
    return path, config, source


def resolve_points(path: Path, config: dict[str, Any], sha256: str, source: SourceMap,
                   search: SearchSettings, python_modules: tuple[PythonModule, ...] = ()) -> ResolvedGridSearch:
    """The searcher's points of a loaded config, each checked (also used by warm start, on the logged config);
    the config's `python_modules` are imported first, so its own components are registered."""
    from mlgym.gym.builtins import load_builtins  # torch and every component: imported when a grid is checked
    load_builtins()
    import_python_modules(python_modules)
    sweeps = find_sweeps(config, source)
    grid = trial_points(config, source, search)
    return ResolvedGridSearch(path, config, sha256, source, grid, list(sweeps), check_grid(grid, source), search,
                              python_modules)


def check_strategy(settings: ValidationSettings, resolved: ResolvedGridSearch) -> None:
    if settings.strategy == "grid_search":
        return
    splitters = nodes_of_kind(resolved.nodes[0], "splitter")
    if not splitters or not any(r.name == "dataset" for r in splitters[0].requirements):
        raise ConfigError(f"{settings.strategy} needs a component of kind 'splitter' with a requirement named "
                          "'dataset': the folds replace its splits", location=resolved.source.find(""))
