"""Random search: `num_samples` configs drawn from the sweeps' distributions, the same for the same seed.

Trial k draws with its own generator, `numpy.random.default_rng([seed, k])`, one value per sweep in the config's
document order. A draw whose resolved config an earlier trial already has is drawn again from the same generator,
so experiment ids (content hashes) stay unique and no trial trains a config twice. Trial k thus depends only on
the seed, k and the trials before it: raising num_samples keeps the first trials as they were.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from mlgym.config.distributions import Distribution, FiniteDistribution
from mlgym.config.sweep import MAX_GRID_POINTS, GridPoint, resolve_point
from mlgym.search.settings import SearchSettings

REDRAWS_WITHOUT_LIMIT = 1000  # redraws of one trial when a sweep is continuous (a repeat is then ~impossible)


def _distinct(dist: FiniteDistribution) -> int:
    """How many different values a finite sweep has (an `absolute` list may repeat one)."""
    if dist.size() > MAX_GRID_POINTS:
        return dist.size()
    return len({json.dumps(v, sort_keys=True, default=str) for v in dist.finite_values()})


def distinct_configs(sweeps: dict[str, Distribution]) -> int | None:
    """How many different configs the sweeps can make; None when one of them is continuous."""
    if not all(isinstance(d, FiniteDistribution) for d in sweeps.values()):
        return None
    return math.prod(_distinct(d) for d in sweeps.values())  # type: ignore[arg-type]


def random_points(config: dict[str, Any], sweeps: dict[str, Distribution], settings: SearchSettings) -> list[GridPoint]:
    """`settings.num_samples` distinct configs drawn with `settings.seed` (filled in: see `with_run_seed`)."""
    num_samples, seed = settings.num_samples, settings.seed
    assert num_samples is not None and seed is not None, "a random search's settings are complete"
    capacity = distinct_configs(sweeps)
    if capacity is not None and capacity < num_samples:
        made = (f"the sweeps ({', '.join(sweeps)}) make only {capacity} different configs" if sweeps
                else "the config has no sweeps, so there is only 1 config")
        raise settings.error("num_samples", f"num_samples is {num_samples}, but {made}",
                             hint=f"lower num_samples to {capacity} or less, run them all with searcher: grid, "
                                  "or sweep a continuous distribution (uniform, loguniform)")
    redraws = REDRAWS_WITHOUT_LIMIT if capacity is None else 100 * capacity
    points: list[GridPoint] = []
    seen: set[str] = set()
    for trial in range(num_samples):
        rng = np.random.default_rng([seed, trial])
        for _ in range(redraws):
            point = resolve_point(config, {path: dist.sample(rng) for path, dist in sweeps.items()})
            if point.grid_point_id not in seen:
                break
        else:  # pragma: no cover - needs ~e^-100 bad luck
            raise settings.error("num_samples", f"trial {trial} drew {redraws} configs that earlier trials "
                                                "already have", hint="lower num_samples")
        seen.add(point.grid_point_id)
        points.append(point)
    return points
