"""A worker's cache of built datasets and splits, so a grid over lr or batch size loads and splits its data once.

Keyed by the content key of the node (`registry.graph.node_keys`: the SHA-256 of its resolved config and of
everything it requires), so two jobs share an entry only when their dataset (and splitter) configs are equal all
the way down. Only what is deterministic and is not changed by a job is kept:
- nodes of kind `dataset` and `splitter` (a splitter replaced by a fold's indices is never cached; the dataset
  under it is). Loaders, scalers fitted on the training rows, models and everything else are built per job;
- a node whose build drew from a global random generator (Python's, NumPy's or torch's) is not kept: skipping
  its build on a later job would leave that job's generators in a different state (model initialisation, dropout),
  so results would change. Such a node is built again for every job, as before;
- a factory may opt out with an attribute `worker_cache = False` (e.g. a dataset that reads a file that changes).
The cache lives for one run: `clear()` is called when an executor starts a run (workers live for one run), and it
keeps the entries of the last `MAX_ENTRIES` keys used.
"""
from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from mlgym.registry.graph import Node

CACHED_KINDS = ("dataset", "splitter")
MAX_ENTRIES = 8


def _rng_states() -> tuple[Any, ...]:
    import numpy as np
    import torch

    numpy_state = np.random.get_state()
    return random.getstate(), numpy_state[0], numpy_state[1].tobytes(), numpy_state[2:], \
        bytes(torch.get_rng_state().numpy())


class DataCache:
    """Built dataset and splitter objects by content key (see the module's docstring for what is kept)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        self._entries.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def caches(node: Node) -> bool:
        return node.kind in CACHED_KINDS and getattr(node.factory, "worker_cache", True) is not False

    def lookup(self, node: Node, key: str, build: Callable[[], Any]) -> Any:
        if not self.caches(node):
            return build()
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += 1
            return self._entries[key]
        self.misses += 1
        before = _rng_states()
        value = build()
        if _rng_states() == before:
            self._entries[key] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value


# One per process: a pool worker's, or the main process's under the main-process executor.
worker_data_cache = DataCache()
