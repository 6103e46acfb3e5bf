"""The `search:` settings of a run (run config section `search`, flags `--searcher`, `--num_samples`,
`--search_seed`, `--sampler`): which searcher, how many samples, which seed, Optuna's sampler, and the trial
scheduler (`scheduler: {type: none | asha | median, metric, min_epochs (alias grace_period), reduction_factor
(asha), interval and min_samples (median)}`, run config only)."""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mlgym.config.loader import SourceMap
from mlgym.errors import ConfigError
from mlgym.events.payloads import Search, TrialScheduler

SEARCHERS = ("grid", "random", "optuna")
SAMPLERS = ("tpe", "cmaes", "qmc")
SCHEDULERS = ("none", "asha", "median")
KEYS = ("searcher", "num_samples", "seed", "sampler", "scheduler")
SCHEDULER_KEYS = ("type", "metric", "min_epochs", "grace_period", "reduction_factor", "interval", "min_samples")
OWN_KEYS = {"asha": ("reduction_factor",), "median": ("interval", "min_samples")}


@dataclass(frozen=True)
class Origin:
    """Where a setting was given: a run-config key path with its source map (file:line), or a flag (`--seed`)."""

    key_path: str
    source: SourceMap | None = None

    def error(self, message: str, hint: str | None = None) -> ConfigError:
        if self.source is None:
            return ConfigError(message, key_path=self.key_path, hint=hint)
        return self.source.error(message, self.key_path, hint=hint)


@dataclass(frozen=True)
class SearchSettings:
    """`searcher` grid (every grid point) or random (`num_samples` draws seeded by `seed`; None: the run's seed)."""

    searcher: str = "grid"
    num_samples: int | None = None
    seed: int | None = None
    sampler: str | None = None  # optuna: tpe (default) | cmaes | qmc
    scheduler: "SchedulerSettings | None" = None  # None: no scheduler (every trial trains every epoch)
    max_concurrent: int | None = None  # adaptive searches: trials kept running (set from the run's process count)
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False, repr=False)

    @property
    def adaptive(self) -> bool:
        """Whether the search decides while it runs (Optuna, or a trial scheduler): then the run layer drives it
        with a feeder; otherwise the trials are a static list, planned like grid points."""
        return self.searcher == "optuna" or self.scheduler is not None

    def error(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        """A ConfigError located where `key` was given (the run config's line, or the flag)."""
        return self.origins.get(key, Origin(f"search.{key}")).error(message, hint)

    def with_run_seed(self, run_seed: Any) -> "SearchSettings":
        """The seed made explicit: a random or Optuna search without its own seed uses the run's."""
        if self.searcher == "grid" or self.seed is not None:
            return self
        if isinstance(run_seed, bool) or not isinstance(run_seed, int) or run_seed < 0:
            raise self.error("seed", f"a random search's seed defaults to the run's seed, {run_seed!r}, but must "
                                     "be an integer >= 0", hint="give search.seed (or --search_seed)")
        return replace(self, seed=run_seed)

    def to_payload(self) -> Search:
        """What `grid_search_started` records (warm start rebuilds the same trials from it)."""
        scheduler = self.scheduler.to_payload() if self.scheduler is not None else None
        if self.searcher == "grid":
            return Search(searcher="grid", scheduler=scheduler, max_concurrent=self.max_concurrent)
        return Search(searcher=self.searcher, num_samples=self.num_samples, seed=self.seed, sampler=self.sampler,
                      scheduler=scheduler, max_concurrent=self.max_concurrent)


@dataclass(frozen=True)
class SchedulerSettings:
    """`scheduler: {type: asha | median, metric, min_epochs, reduction_factor | interval, min_samples}`;
    `metric` None: the selection metric (`<split>/<metric>`), `mode` None: that score's direction (both filled in
    before the run starts)."""

    type: str = "asha"
    metric: str | None = None
    mode: str | None = None
    min_epochs: int = 1
    reduction_factor: int = 3
    interval: int = 1
    min_samples: int = 3

    def to_payload(self) -> TrialScheduler:
        return TrialScheduler(type=self.type, metric=self.metric, mode=self.mode,  # type: ignore[arg-type]
                              min_epochs=self.min_epochs, reduction_factor=self.reduction_factor,
                              interval=self.interval, min_samples=self.min_samples)

    def pause_epochs(self, num_epochs: int) -> list[int]:
        """The epochs a trial pauses at for a decision."""
        from mlgym.search.asha import rung_epochs
        from mlgym.search.median_stopping import decision_epochs
        if self.type == "median":
            return decision_epochs(self.min_epochs, self.interval, num_epochs)
        return rung_epochs(self.min_epochs, self.reduction_factor, num_epochs)


def _integer(value: Any, minimum: int, origin: Origin, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise origin.error(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def parse_search(given: Mapping[str, tuple[Any, Origin]]) -> SearchSettings:
    """Settings from `key -> (value, where it was given)` (keys: searcher, num_samples, seed), checked."""
    for key, (_, origin) in given.items():
        if key not in KEYS:
            near = difflib.get_close_matches(key, KEYS, n=1)
            raise origin.error(f"unknown search setting '{key}'; allowed: {', '.join(KEYS)}",
                               hint=f"did you mean '{near[0]}'?" if near else None)
    origins = {key: origin for key, (_, origin) in given.items()}
    if "scheduler" in given:  # so that a later check (min_epochs > num_epochs) names the line
        at = given["scheduler"][1]
        origins.update({f"scheduler.{key}": Origin(f"{at.key_path}.{key}", at.source) if at.source else at
                        for key in SCHEDULER_KEYS})
    searcher, where = given.get("searcher", ("grid", Origin("search.searcher")))
    if searcher not in SEARCHERS:
        near = difflib.get_close_matches(str(searcher), SEARCHERS, n=1, cutoff=0.3)
        raise where.error(f"unknown searcher '{searcher}'; known searchers: {', '.join(SEARCHERS)}",
                          hint=f"did you mean '{near[0]}'?" if near else None)
    num_samples = seed = sampler = None
    if "sampler" in given:
        sampler, origin = given["sampler"]
        if searcher != "optuna":
            raise origin.error("sampler is a setting of the optuna searcher",
                               hint="set searcher: optuna, or leave sampler out")
        if sampler not in SAMPLERS:
            near = difflib.get_close_matches(str(sampler), SAMPLERS, n=1, cutoff=0.3)
            raise origin.error(f"unknown sampler '{sampler}'; known samplers: {', '.join(SAMPLERS)}",
                               hint=f"did you mean '{near[0]}'?" if near else None)
    if searcher == "optuna" and sampler is None:
        sampler = "tpe"
    scheduler = _parse_scheduler(*given["scheduler"]) if "scheduler" in given else None
    if "num_samples" in given:
        value, origin = given["num_samples"]
        num_samples = _integer(value, 1, origin, "num_samples")
    if "seed" in given:
        value, origin = given["seed"]
        seed = _integer(value, 0, origin, "the search seed")
    for key in ("num_samples", "seed"):
        if searcher == "grid" and key in given:
            raise given[key][1].error(f"{key} is a setting of the random searcher; a grid search takes every "
                                      "grid point", hint="set searcher: random (or --searcher random), or "
                                                         f"leave {key} out")
    if searcher in ("random", "optuna") and num_samples is None:
        article = "an" if searcher == "optuna" else "a"
        raise where.error(f"{article} {searcher} search needs num_samples (an integer >= 1)",
                          hint=f"e.g. search: {{searcher: {searcher}, num_samples: 20}}, or --num_samples 20")
    return SearchSettings(searcher, num_samples, seed, sampler, scheduler, origins=origins)


def _parse_scheduler(value: Any, origin: Origin) -> SchedulerSettings | None:
    """`scheduler: {type: none | asha | median, metric, min_epochs, ...}` (or just `scheduler: asha`)."""
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, Mapping):
        raise origin.error(f"scheduler must be a mapping like {{type: asha, min_epochs: 1, reduction_factor: 3}}, "
                           f"got {value!r}")

    def at(key: str) -> Origin:
        if origin.source is None:
            return origin
        return Origin(f"{origin.key_path}.{key}", origin.source)

    for key in value:
        if key not in SCHEDULER_KEYS:
            near = difflib.get_close_matches(str(key), SCHEDULER_KEYS, n=1)
            raise at(key).error(f"unknown scheduler setting '{key}'; allowed: {', '.join(SCHEDULER_KEYS)}",
                                hint=f"did you mean '{near[0]}'?" if near else None)
    kind = value.get("type", "asha")
    if kind not in SCHEDULERS:
        near = difflib.get_close_matches(str(kind), SCHEDULERS, n=1, cutoff=0.3)
        raise at("type").error(f"unknown scheduler '{kind}'; known schedulers: {', '.join(SCHEDULERS)}",
                               hint=f"did you mean '{near[0]}'?" if near else None)
    if kind == "none":
        return None
    metric = value.get("metric")
    if metric is not None and (not isinstance(metric, str) or metric.count("/") != 1):
        raise at("metric").error(f"the scheduler's metric is '<split>/<score>' like val/accuracy, got {metric!r}")
    for other, keys in OWN_KEYS.items():
        for key in keys:
            if key in value and other != kind:
                raise at(key).error(f"{key} is a setting of the {other} scheduler, not of {kind}",
                                    hint=f"leave {key} out, or set type: {other}")
    if "min_epochs" in value and "grace_period" in value:
        raise at("grace_period").error("grace_period and min_epochs are the same setting (the epochs a trial "
                                       "trains before its first decision); give one", hint="keep min_epochs")
    first = "grace_period" if "grace_period" in value else "min_epochs"
    min_epochs = _integer(value.get(first, 1), 1, at(first), first)
    factor = _integer(value.get("reduction_factor", 3), 2, at("reduction_factor"), "reduction_factor")
    interval = _integer(value.get("interval", 1), 1, at("interval"), "interval")
    min_samples = _integer(value.get("min_samples", 3), 1, at("min_samples"), "min_samples")
    return SchedulerSettings(kind, metric, None, min_epochs, factor, interval, min_samples)


def search_from_log(payload: Mapping[str, Any] | None) -> SearchSettings:
    """The settings a logged `grid_search_started` recorded; none (older logs): a grid search."""
    if not payload:
        return SearchSettings()
    scheduler = payload.get("scheduler")
    return SearchSettings(payload.get("searcher", "grid"), payload.get("num_samples"), payload.get("seed"),
                          payload.get("sampler"), SchedulerSettings(**scheduler) if scheduler else None,
                          payload.get("max_concurrent"))
