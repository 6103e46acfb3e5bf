"""Model selection: the grid point whose inner-fold scores are best on average."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# job id -> its result: anything with `.value["history"]` ({epoch: {"<split>/<name>": score}})
JobResults = Mapping[str, Any]


def score_key(history: dict[int, dict[str, float]], split: str, metric: str | None) -> str:
    """`<split>/<metric>`; with no metric given, the first score of that split the evaluator reported."""
    last = history[max(history)]
    if metric is not None:
        key = f"{split}/{metric}"
        if key not in last:
            raise ValueError(f"selection metric '{key}' not among the scores {sorted(last)}")
        return key
    for key in last:
        if key.startswith(f"{split}/"):
            return key
    raise ValueError(f"no score of split '{split}' among {sorted(last)}")


def final_score(result: Any, split: str, metric: str | None) -> tuple[str, float]:
    history = result.value["history"]
    key = score_key(history, split, metric)
    return key, float(history[max(history)][key])


def select_grid_point(inner_ids: dict[str, list[str]], results: JobResults,
                      selection: Any) -> tuple[str, dict[str, float]]:
    """The grid point with the best mean final-epoch score over its inner folds, and every point's mean."""
    means: dict[str, float] = {}
    for gp, ids in inner_ids.items():
        scores = [final_score(results[e], selection.split, selection.metric)[1] for e in ids]
        means[gp] = float(np.mean(scores))
    pick = max if selection.mode == "max" else min
    chosen = pick(means, key=lambda gp: means[gp])
    return chosen, means
