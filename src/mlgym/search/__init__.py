"""Searchers: which experiment configs a run trains (the full grid, or random draws from the sweeps' distributions).

Like `mlgym.validation`, only plans: no threads, no processes, no event logs.
"""
from mlgym.search.searchers import trial_points
from mlgym.search.settings import SEARCHERS, Origin, SearchSettings, parse_search, search_from_log

__all__ = ["SEARCHERS", "Origin", "SearchSettings", "parse_search", "search_from_log", "trial_points"]
