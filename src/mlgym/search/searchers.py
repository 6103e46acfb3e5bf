"""Which configs a run trains: the searcher named by the run's `search` settings makes the list of points that
every validation strategy (grid search, cross-validation, nested CV) then plans."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from mlgym.config.loader import SourceMap
from mlgym.config.sweep import GridPoint, expand_sweeps, find_sweeps
from mlgym.search.random_search import random_points
from mlgym.search.settings import SearchSettings


def trial_points(config: dict[str, Any], source: SourceMap, settings: SearchSettings) -> list[GridPoint]:
    """Grid: every point of the finite sweeps (a continuous one is a ConfigError). Random: the drawn trials.
    Optuna: one random draw, to check the config's components before the run (Optuna asks for the rest as the
    run goes on, and each asked config is checked when asked)."""
    if settings.searcher == "grid":
        return expand_sweeps(config, source)
    if settings.searcher == "optuna":
        settings = replace(settings, searcher="random", num_samples=1)
    return random_points(config, find_sweeps(config, source), settings)
