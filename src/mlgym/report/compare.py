"""`mlgym report --compare GS1 GS2`: two grid searches lined up config by config (by their swept values), each
with its selection score, and the difference."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from mlgym.errors import UsageError
from mlgym.events.projection import GridSearchProjection


def selection_scores(projection: GridSearchProjection) -> tuple[str, dict[str, tuple[dict[str, Any], float | None]]]:
    """(score key, config -> (hyperparameters, score)): a grid search's best selection score per experiment, a
    cross-validation's mean over folds, nested CV's test score per outer fold (the config is the outer fold)."""
    selection = projection.selection
    if not selection["metric"]:
        raise UsageError(f"grid search {projection.grid_search_id} has no scores yet")
    key = f"{selection['split']}/{selection['metric']}"
    if projection.strategy == "nested_cv":
        test = f"test/{selection['metric']}"
        return test, {f"outer fold {(v.fold or {}).get('outer')}": ({"outer_fold": (v.fold or {}).get("outer")},
                                                                    v.latest.get(test)) for v in projection.refits()}
    if projection.strategy == "cross_validation":
        return f"{key} (mean)", {_config_key(g["hyperparameters"]): (g["hyperparameters"], g["mean"])
                                 for g in projection.cv_stats(key)}
    return key, {_config_key(v.hyperparameters): (v.hyperparameters, v.best.get(key))
                 for v in projection.views().values() if v.role == "train"}


def _config_key(hyperparameters: dict[str, Any]) -> str:
    return json.dumps(hyperparameters, sort_keys=True, default=str)


def compare_table(first: GridSearchProjection, second: GridSearchProjection) -> pd.DataFrame:
    """One row per config of either grid search (first's order, then second's new ones): the swept values, each
    grid search's score (empty where it did not run that config) and second minus first."""
    if first.strategy != second.strategy:
        raise UsageError(f"grid searches {first.grid_search_id} ({first.strategy}) and {second.grid_search_id} "
                         f"({second.strategy}) ran different strategies; compare like with like")
    key_a, scores_a = selection_scores(first)
    key_b, scores_b = selection_scores(second)
    if key_a != key_b:
        raise UsageError(f"the grid searches select by different scores ({key_a} and {key_b}); compare like with like")
    rows = []
    for config in dict.fromkeys([*scores_a, *scores_b]):
        hyperparameters = (scores_a.get(config) or scores_b[config])[0]
        a = scores_a.get(config, (None, None))[1]
        b = scores_b.get(config, (None, None))[1]
        rows.append({**{k.split(".")[-1]: v for k, v in hyperparameters.items()},
                     f"{key_a} {first.grid_search_id}": a, f"{key_a} {second.grid_search_id}": b,
                     "difference": b - a if a is not None and b is not None else None})
    return pd.DataFrame(rows)
