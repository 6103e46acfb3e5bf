"""Which configs a run trains: the searcher named by the run's `search` settings makes the list of points that
every validation strategy (grid search, cross-validation, nested CV) then plans."""
from __future__ import annotations

from typing import Any

from mlgym.config.loader import SourceMap
from mlgym.config.sweep import GridPoint, expand_sweeps, find_sweeps
from mlgym.search.random_search import random_points
from mlgym.search.settings import SearchSettings


def trial_points(config: dict[str, Any], source: SourceMap, settings: SearchSettings) -> list[GridPoint]:
    """Grid: every point of the finite sweeps (a continuous one is a ConfigError). Random: the drawn trials."""
    if settings.searcher == "grid":
        return expand_sweeps(config, source)
    return random_points(config, find_sweeps(config, source), settings)
