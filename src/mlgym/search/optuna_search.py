"""Optuna's samplers through its ask-and-tell API: the sweeps become Optuna distributions, each trial is asked
for, and told how it ended (intermediate scores at ASHA rungs are reported, a stopped trial is `PRUNED`).

Determinism: every ask uses a fresh sampler seeded from (search seed, trial number, attempt), so trial k depends
only on the seed and what the study was told before it, never on the sampler's hidden random state; a study
rebuilt by replaying the log therefore asks the same. A replayed trial is enqueued with its logged params, so the
rebuilt study holds exactly what the first one held. A suggestion whose config an earlier trial has is told as
failed and asked again (experiment ids are content hashes, and a repeat would train the same config twice).
"""
from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from mlgym.config.distributions import Distribution, FiniteDistribution, IntRange, Uniform
from mlgym.config.sweep import GridPoint, resolve_point
from mlgym.search.adaptive import Searcher

MAX_ATTEMPTS = 100
_PRIMITIVE = (type(None), bool, int, float, str)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class _Axis:
    """One sweep as an Optuna distribution; a finite sweep of non-primitive values is categorical over indices."""

    def __init__(self, dist: Distribution) -> None:
        import optuna.distributions as od
        self.values: list[Any] | None = None
        if isinstance(dist, Uniform):
            self.optuna = od.FloatDistribution(dist.low, dist.high, log=dist.log)
        elif isinstance(dist, IntRange):
            self.optuna = od.IntDistribution(dist.low, dist.high, log=dist.log)
        else:
            assert isinstance(dist, FiniteDistribution)
            values = dist.finite_values()
            if all(isinstance(v, _PRIMITIVE) for v in values):
                self.optuna = od.CategoricalDistribution(values)
            else:
                self.values = values
                self.optuna = od.CategoricalDistribution(list(range(len(values))))

    def value(self, internal: Any) -> Any:
        return internal if self.values is None else self.values[internal]

    def internal(self, value: Any) -> Any:
        if self.values is None:
            return value
        return next(i for i, v in enumerate(self.values) if _key(v) == _key(value))


class OptunaSearcher(Searcher):
    """Asks an in-memory Optuna study for each trial's values (sampler `tpe`, `cmaes` or `qmc`)."""

    def __init__(self, config: dict[str, Any], sweeps: Mapping[str, Distribution], sampler: str, seed: int,
                 mode: str) -> None:
        import optuna
        optuna.logging.set_verbosity(logging.WARNING)
        self.config = config
        self.axes = {path: _Axis(dist) for path, dist in sweeps.items()}
        self.sampler_name = sampler
        self.seed = seed
        self.study = optuna.create_study(direction="maximize" if mode == "max" else "minimize",
                                         sampler=self._sampler(0, 0))
        self.asked: dict[int, Any] = {}  # our trial number -> optuna Trial
        self.seen: set[str] = set()

    def _sampler(self, trial: int, attempt: int) -> Any:
        import optuna
        seed = int(np.random.SeedSequence([self.seed, trial, attempt]).generate_state(1)[0])
        # categorical sweeps fall back to independent random draws under cmaes and qmc (seeded per trial too)
        independent = optuna.samplers.RandomSampler(seed=seed)
        if self.sampler_name == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, independent_sampler=independent,
                                                warn_independent_sampling=False)
        if self.sampler_name == "qmc":  # one scrambled sequence for the whole search; the study counts its samples
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.samplers.QMCSampler(seed=self.seed, independent_sampler=independent,
                                                  warn_independent_sampling=False)
        return optuna.samplers.TPESampler(seed=seed)

    def suggest(self, trial: int, params: Mapping[str, Any] | None = None) -> GridPoint | None:
        import optuna
        distributions = {path: axis.optuna for path, axis in self.axes.items()}
        for attempt in range(MAX_ATTEMPTS):
            self.study.sampler = self._sampler(trial, attempt)
            if params is not None:
                self.study.enqueue_trial({p: self.axes[p].internal(v) for p, v in params.items()},
                                         skip_if_exists=False)
            asked = self.study.ask(distributions)
            point = resolve_point(self.config, {p: axis.value(asked.params[p]) for p, axis in self.axes.items()})
            if point.grid_point_id not in self.seen or params is not None:
                self.seen.add(point.grid_point_id)
                self.asked[trial] = asked
                return point
            self.study.tell(asked, state=optuna.trial.TrialState.FAIL)
        return None  # the space seems exhausted: the search ends with the trials it has

    def report(self, trial: int, epoch: int, score: float | None) -> None:
        if score is not None and trial in self.asked:
            self.asked[trial].report(score, epoch)

    def finish(self, trial: int, state: str, score: float | None) -> None:
        import optuna
        asked = self.asked.pop(trial, None)
        if asked is None:
            return
        if state == "complete" and score is not None:
            self.study.tell(asked, score)
        elif state == "pruned":
            self.study.tell(asked, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(asked, state=optuna.trial.TrialState.FAIL)
