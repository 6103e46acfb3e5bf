"""The `search:` settings of a run (run config section `search`, flags `--searcher`, `--num_samples`,
`--search_seed`): which searcher, how many samples, which seed."""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mlgym.config.loader import SourceMap
from mlgym.errors import ConfigError
from mlgym.events.payloads import Search

SEARCHERS = ("grid", "random")
KEYS = ("searcher", "num_samples", "seed")


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
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False, repr=False)

    def error(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        """A ConfigError located where `key` was given (the run config's line, or the flag)."""
        return self.origins.get(key, Origin(f"search.{key}")).error(message, hint)

    def with_run_seed(self, run_seed: Any) -> "SearchSettings":
        """The seed made explicit: a random search without its own seed uses the run's."""
        if self.searcher != "random" or self.seed is not None:
            return self
        if isinstance(run_seed, bool) or not isinstance(run_seed, int) or run_seed < 0:
            raise self.error("seed", f"a random search's seed defaults to the run's seed, {run_seed!r}, but must "
                                     "be an integer >= 0", hint="give search.seed (or --search_seed)")
        return replace(self, seed=run_seed)

    def to_payload(self) -> Search:
        """What `grid_search_started` records (warm start rebuilds the same trials from it)."""
        if self.searcher == "grid":
            return Search(searcher="grid")
        return Search(searcher=self.searcher, num_samples=self.num_samples, seed=self.seed)


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
    searcher, where = given.get("searcher", ("grid", Origin("search.searcher")))
    if searcher not in SEARCHERS:
        near = difflib.get_close_matches(str(searcher), SEARCHERS, n=1, cutoff=0.3)
        raise where.error(f"unknown searcher '{searcher}'; known searchers: {', '.join(SEARCHERS)}",
                          hint=f"did you mean '{near[0]}'?" if near else None)
    num_samples = seed = None
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
    if searcher == "random" and num_samples is None:
        raise where.error("a random search needs num_samples (an integer >= 1)",
                          hint="e.g. search: {searcher: random, num_samples: 20}, or --num_samples 20")
    return SearchSettings(searcher, num_samples, seed, origins)


def search_from_log(payload: Mapping[str, Any] | None) -> SearchSettings:
    """The settings a logged `grid_search_started` recorded; none (older logs): a grid search."""
    if not payload:
        return SearchSettings()
    return SearchSettings(payload.get("searcher", "grid"), payload.get("num_samples"), payload.get("seed"))
