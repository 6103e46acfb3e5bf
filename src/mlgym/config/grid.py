"""The grid of a config's finite sweeps, listed lazily: point k is made when it is asked for, not before.

A point's config is the base config with each swept path set to one of its values, copied on write: the dicts and
lists on the way from the root to a swept value are new, everything else (and the values themselves) is shared
with the base and with the other points. Configs are read-only after loading (nothing in MLgym writes into one),
so sharing is safe, and a point costs a few small dict copies instead of a copy of the whole config.

A point's id is the SHA-256 of its canonical JSON (`sweep.config_id`). The JSON of the base with a marker at each
swept path is written once and cut at the markers; a point's text is those pieces joined with its values' JSON,
each written once per value. `json.dumps` writes a value the same wherever it sits, so the text (and the id) is
the one `config_id(point.config)` gives; a config this cannot hold for (a marker not found exactly once) falls
back to `config_id` per point.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import secrets
from collections.abc import Iterator
from typing import Any

from mlgym.config.distributions import Distribution, FiniteDistribution
from mlgym.config.loader import SourceMap
from mlgym.config.sweep import MAX_GRID_POINTS, GridPoint, config_id, find_sweeps, resolve_point

__all__ = ["Grid", "grid_axes"]

_Trie = dict[Any, Any]  # container key -> sub-trie, or the int index of the axis whose value goes there


def grid_axes(sweeps: dict[str, Distribution], source: SourceMap) -> dict[str, FiniteDistribution]:
    """The sweeps as grid axes; a continuous sweep or a grid over MAX_GRID_POINTS is a ConfigError."""
    for path, dist in sweeps.items():
        if not isinstance(dist, FiniteDistribution):
            raise source.error(
                f"sweep '{dist.kind}' is continuous: a grid search cannot list its values", f"{path}.sweep",
                hint="sample it with a random search (run config `search: {searcher: random, num_samples: 20}`, "
                     "or --searcher random --num_samples 20), or make it finite: choice, range, linspace, "
                     "logspace, int or logint")
    axes = {path: dist for path, dist in sweeps.items() if isinstance(dist, FiniteDistribution)}
    size = math.prod(dist.size() for dist in axes.values())
    if size > MAX_GRID_POINTS:
        sizes = ", ".join(f"{path}: {dist.size()}" for path, dist in axes.items())
        raise source.error(f"the grid has {size} points ({sizes}), more than {MAX_GRID_POINTS}",
                           next(iter(axes)), hint="sample it with a random search (run config `search: "
                                                  "{searcher: random, num_samples: 100}`) or use fewer values")
    return axes


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _key(container: Any, part: str) -> Any:
    """The key of `part` (a path element) in `container`, as `sweep._set` reads it; None when it is not there."""
    if isinstance(container, dict):
        return part if part in container else None
    if isinstance(container, list) and part.isdigit() and int(part) < len(container):
        return int(part)
    return None


def _trie(config: dict[str, Any], paths: list[str]) -> _Trie | None:
    """The swept paths as a trie of container keys (leaves: axis indices); None when a path does not walk."""
    trie: _Trie = {}
    for axis, path in enumerate(paths):
        node, container = trie, config
        parts = path.split(".") if path else []
        if not parts:
            return None
        for i, part in enumerate(parts):
            key = _key(container, part)
            if key is None:
                return None
            if i == len(parts) - 1:
                if key in node:
                    return None
                node[key] = axis
            else:
                node = node.setdefault(key, {})
                if not isinstance(node, dict):
                    return None
                container = container[key]
    return trie


def _overlay(container: Any, trie: _Trie, values: tuple[Any, ...]) -> Any:
    """`container` with the trie's paths set to `values[axis]`: a copy of each container on the way, no more."""
    result = dict(container) if isinstance(container, dict) else list(container)
    for key, below in trie.items():
        result[key] = values[below] if isinstance(below, int) else _overlay(container[key], below, values)
    return result


def _leaves(trie: _Trie | int) -> list[int]:
    if isinstance(trie, int):
        return [trie]
    return [axis for below in trie.values() for axis in _leaves(below)]


class Grid:
    """The cartesian product of a config's finite sweeps (document order; the last sweep varies fastest).

    `len(grid)` is known without listing it; iterating makes each point as it goes (`indexed()` also gives the
    point's value index on each axis), so a caller that does not keep the points holds one at a time."""

    def __init__(self, config: dict[str, Any], source: SourceMap) -> None:
        axes = grid_axes(find_sweeps(config, source), source)
        self.config = config
        self.paths: list[str] = list(axes)
        self.values: list[list[Any]] = [dist.finite_values() for dist in axes.values()]
        self.size = math.prod(len(v) for v in self.values)
        self._trie = _trie(config, self.paths)
        self._pieces = self._id_template() if self._trie is not None else None

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[GridPoint]:
        return (point for _, point in self.indexed())

    def indices(self) -> Iterator[tuple[int, ...]]:
        """Each point's value index on every axis, in grid order, without making the points."""
        return itertools.product(*(range(len(v)) for v in self.values))

    def indexed(self) -> Iterator[tuple[tuple[int, ...], GridPoint]]:
        for index in self.indices():
            yield index, self.point(index)

    def axes_below(self, key: Any) -> tuple[int, ...] | None:
        """The axes whose paths go through top-level `key`: a point's value at `key` is a function of the base and
        its indices on these alone. None when the points are not made by overlay (see `point`)."""
        if self._trie is None:
            return None
        return tuple(sorted(_leaves(self._trie.get(key, {}))))

    def point(self, index: tuple[int, ...]) -> GridPoint:
        """The grid point with value `index[a]` on axis `a`."""
        values = tuple(v[i] for v, i in zip(self.values, index))
        hyperparameters = dict(zip(self.paths, values))
        if self._trie is None:  # a path the trie cannot follow: the general (copying) resolution
            return resolve_point(self.config, hyperparameters)
        config = _overlay(self.config, self._trie, values) if self.paths else dict(self.config)
        if self._pieces is None:
            return GridPoint(config_id(config), config, hyperparameters)
        return GridPoint(self._id(index), config, hyperparameters)

    def _id_template(self) -> tuple[list[str], list[int], list[list[str]]] | None:
        """(the base's canonical JSON cut at the swept paths, which axis fills each cut, each axis's values as
        JSON), or None when a marker is not found exactly once (a string in the config equal to one)."""
        token = secrets.token_hex(8)
        raw = tuple(f"@@grid-{token}-{a}@@" for a in range(len(self.paths)))
        markers = [json.dumps(m) for m in raw]
        assert self._trie is not None
        text = _canonical(_overlay(self.config, self._trie, raw) if self.paths else self.config)
        if any(text.count(marker) != 1 for marker in markers):
            return None
        order = sorted(range(len(markers)), key=lambda a: text.index(markers[a]))  # sort_keys reorders them
        pieces = []
        for a in order:
            before, text = text.split(markers[a])
            pieces.append(before)
        pieces.append(text)
        return pieces, order, [[_canonical(v) for v in values] for values in self.values]

    def _id(self, index: tuple[int, ...]) -> str:
        assert self._pieces is not None
        pieces, order, values_json = self._pieces
        parts = [pieces[0]]
        for slot, a in enumerate(order):
            parts.append(values_json[a][index[a]])
            parts.append(pieces[slot + 1])
        return hashlib.sha256("".join(parts).encode()).hexdigest()[:10]
