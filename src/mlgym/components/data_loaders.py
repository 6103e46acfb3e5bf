"""Data loaders for every split, whose shuffle order is a pure function of (seed, epoch).

Each loader owns a `torch.Generator` that is re-seeded from `(seed, epoch)` every time it is iterated, so a
resumed run sees the same batches without saving sampler state, and evaluation never draws from the global RNG.
When the samples come from tensors (an `ArrayDataset`, possibly behind `Subset`s) and the collator is the
default one, a batch is gathered with one tensor index instead of collating N items; the sampler, and thus the
order and the batches, are exactly those of a plain `DataLoader` with the same generator.

Workers (`num_workers`, `pin_memory`, `persistent_workers`, `prefetch_factor`) keep runs reproducible: the
order comes from the sampler in the main process, and each worker's torch/random/NumPy seed is
`base_seed + worker_id`, where the DataLoader draws `base_seed` from the loader's generator, re-seeded from
(seed, epoch). A dataset whose items are random (augmentation) draws from a per-item generator seeded from (seed,
epoch, position) instead (`augmentation.py`), so `num_workers: 2` gives exactly the batches of `num_workers: 0`.
The fast tensor path applies when `num_workers: 0` (in-process gathering beats shipping batches from workers).
Loader workers start as they would from a script's main process (`worker_start_method`, by default the platform's
default start method: fork on Linux), also inside MLgym's pool workers, which are spawned processes: a spawned
process spawns its own children, and every spawned loader worker imports torch and the run's modules again.

`standardize: true` fits a `Standardizer` on the rows of the `fit_split` (the training split) and applies it to
every split's batches. The loaders receive the final splits (under cross-validation, the fold's), so each fold
fits its own scaler on its own training rows.
"""
from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler, Subset

from mlgym.components.augmentation import SeededSamples, TaggedSampler, augmented_base

from mlgym.components.collators import DefaultCollator
from mlgym.components.scaling import ScaledBatches, Standardizer
from mlgym.registry import component
from mlgym.registry.constraints import NonNegative, Positive
from mlgym.registry.signature import ConfigProblem


def epoch_seed(seed: int, epoch: int) -> int:
    """The generator seed of one epoch: a hash of (seed, epoch), well spread even for neighbouring pairs."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(epoch) & 0xFFFFFFFF]).generate_state(1)[0])


def tensor_source(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """(features, targets, row indices) when `dataset` is tensors behind zero or more Subsets, else None."""
    index = None
    while isinstance(dataset, Subset):
        own = torch.as_tensor(dataset.indices, dtype=torch.int64)
        index = own if index is None else own[index]
        dataset = dataset.dataset
    features, targets = getattr(dataset, "features", None), getattr(dataset, "targets", None)
    if not (isinstance(features, torch.Tensor) and isinstance(targets, torch.Tensor)):
        return None
    if type(dataset).__getitem__ is not _array_getitem():
        return None  # a subclass may transform items; respect it
    if index is None:
        index = torch.arange(len(targets))
    return features, targets, index


def _array_getitem() -> Callable[..., Any]:
    from mlgym.components.datasets import ArrayDataset
    return ArrayDataset.__getitem__


class BatchGather(Dataset):
    """A view of tensor rows whose `__getitems__` returns a whole batch `(x, y)` in one indexing step."""

    def __init__(self, features: torch.Tensor, targets: torch.Tensor, index: torch.Tensor) -> None:
        self.features, self.targets, self.index = features, targets, index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        row = self.index[i]
        return self.features[row], self.targets[row]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = self.index[torch.as_tensor(indices, dtype=torch.int64)]
        return self.features[rows], self.targets[rows]


def _already_batched(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return batch


class EpochDataLoader(DataLoader):
    """A DataLoader whose generator is re-seeded from (seed, epoch) at the start of every iteration."""

    def __init__(self, *args: Any, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base_seed = seed
        self.epoch = 0
        self._skip = 0  # batches the next iteration leaves out (a resumed epoch)
        self._skipping = 0

    def skip_next(self, batches: int) -> None:
        """The next iteration starts after its first `batches` batches: their indices are drawn (so the order is
        that of (seed, epoch)) but not loaded."""
        self._skip = batches

    @property
    def _index_sampler(self) -> Any:  # what DataLoader's iterators draw batch indices from
        sampler = super()._index_sampler
        return _Skipping(sampler, self._skipping) if self._skipping else sampler

    def __iter__(self) -> Iterator[Any]:
        seed = epoch_seed(self.base_seed, self.epoch)
        self.generator.manual_seed(seed)
        if isinstance(self.sampler, TaggedSampler):
            self.sampler.tag = seed
        if self.persistent_workers and self._iterator is not None:
            # a fresh iterator draws its workers' base seed first; a reused (persistent) one does not, so draw it
            # here: the shuffle then takes the same numbers, and the order stays that of (seed, epoch)
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        self._skipping, self._skip = self._skip, 0
        try:
            if self.persistent_workers and self._iterator is not None:
                # a reused iterator keeps the index sampler it was created with: give it this iteration's
                self._iterator._index_sampler = self._index_sampler
            return super().__iter__()  # a new iterator takes its index sampler now
        finally:
            self._skipping = 0


class _Skipping:
    """A batch sampler without its first `skip` batches (still drawn, so the rest are the same)."""

    def __init__(self, sampler: Any, skip: int) -> None:
        self.sampler, self.skip = sampler, skip

    def __iter__(self) -> Iterator[Any]:
        return itertools.islice(iter(self.sampler), self.skip, None)

    def __len__(self) -> int:
        return max(0, len(self.sampler) - self.skip)


def feature_chunks(split: Dataset, rows: int = 65536) -> Iterator[torch.Tensor]:
    """The inputs of every sample of `split`, as blocks of rows (one tensor index each for in-memory tables)."""
    source = tensor_source(split)
    if source is not None:
        features, _, index = source
        for start in range(0, len(index), rows):
            yield features[index[start:start + rows]]
        return
    block: list[torch.Tensor] = []
    for i in range(len(split)):
        block.append(torch.as_tensor(split[i][0]))
        if len(block) == 1024:
            yield torch.stack(block)
            block = []
    if block:
        yield torch.stack(block)


class DataLoaders(Mapping):
    """Split name -> DataLoader; `set_epoch(e)` fixes the shuffle order of the next iterations to (seed, e).

    `scaler` is the Standardizer fitted on the training split (None without `standardize`).
    """

    def __init__(self, loaders: dict[str, EpochDataLoader], scaler: Standardizer | None = None) -> None:
        self._loaders = loaders
        self.scaler = scaler

    def __getitem__(self, split: str) -> EpochDataLoader:
        if split not in self._loaders:
            raise KeyError(f"no data loader for split '{split}'; splits: {', '.join(self._loaders)}")
        return self._loaders[split]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)

    def set_epoch(self, epoch: int) -> None:
        for loader in self._loaders.values():
            loader.epoch = epoch

    def close(self) -> None:
        """Stop the persistent loader workers now (a later iteration starts new ones).

        Left to the garbage collector, a loader whose job's objects form a reference cycle is shut down after
        multiprocessing has already closed its queues (weakref callbacks run before `__del__` in a collection), so
        each worker misses the stop message and is joined with torch's 5 s timeout: 30 s for 3 loaders x 2 workers,
        stalling whatever runs when the collection happens (bench/RESULTS.md, "Training throughput")."""
        for loader in self._loaders.values():
            iterator = getattr(loader, "_iterator", None)
            if iterator is not None and hasattr(iterator, "_shutdown_workers"):
                iterator._shutdown_workers()
            loader._iterator = None

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v.dataset)}" for k, v in self._loaders.items())
        return f"DataLoaders({sizes})"


def make_loader(split: Dataset, collator: Callable[..., Any] | None, batch_size: int, shuffle: bool,
                seed: int, drop_last: bool, scaler: Standardizer | None = None, name: str = "",
                workers: dict[str, Any] | None = None) -> EpochDataLoader:
    """The loader of one split: the fast tensor path, a seeded-augmentation path, or the plain per-item path."""
    workers = workers or {}
    generator = torch.Generator()
    default_collate = collator is None or isinstance(collator, DefaultCollator)
    source = tensor_source(split) if default_collate and not workers.get("num_workers") else None
    sampler = None
    if source is not None:
        dataset, collate = BatchGather(*source), _already_batched
    elif augmented_base(split, name) is not None:
        dataset, collate = SeededSamples(split), collator or DefaultCollator()
        sampler = TaggedSampler(RandomSampler(dataset, generator=generator) if shuffle else
                                SequentialSampler(dataset))
    else:
        dataset, collate = split, collator or DefaultCollator()
    if scaler is not None:
        collate = ScaledBatches(collate, scaler)
    return EpochDataLoader(dataset, batch_size=batch_size, shuffle=None if sampler else shuffle, sampler=sampler,
                           drop_last=drop_last, collate_fn=collate, generator=generator, seed=seed, **workers)


def worker_context(method: str | None) -> str | None:
    """The start method of loader workers: `method`, else fork on Linux (Python 3.11's default there), not this
    process's: a spawned process (a pool worker) would otherwise spawn them. Elsewhere None: the process's own.
    (A name, not a context object: planning imports this module and must not import multiprocessing.)"""
    if method is not None:
        return method
    return "fork" if sys.platform.startswith("linux") else None


@component("data_loader", "default")
def default_data_loaders(splits: Mapping[str, Dataset], collator: Callable[..., Any] | None = None,
                         batch_size: Annotated[int, Positive] = 32, shuffle_splits: list[str] = ["train"],
                         seed: int = 0, drop_last: bool = False, standardize: bool = False,
                         fit_split: str = "train", num_workers: Annotated[int, NonNegative] = 0,
                         pin_memory: bool = False, persistent_workers: bool = False,
                         prefetch_factor: Annotated[int, Positive] | None = None,
                         worker_start_method: Literal["fork", "spawn", "forkserver"] | None = None) -> DataLoaders:
    """One loader per split; the splits named in `shuffle_splits` are shuffled each epoch.

    `drop_last` applies to the shuffled (training) splits only: evaluation always sees every sample.
    `standardize` z-scores the inputs with the mean and std of the `fit_split` rows only (the training split,
    or the fold's under cross-validation), applied to every split. `num_workers` > 0 loads batches in that many
    processes (`pin_memory`, `persistent_workers`, `prefetch_factor` as in torch's DataLoader) with the same
    batches as in-process loading; they start by `worker_start_method` (default: the platform's default, fork on
    Linux, also in MLgym's spawned pool workers).
    """
    problems = check_loader_config({"num_workers": num_workers, "persistent_workers": persistent_workers,
                                    "prefetch_factor": prefetch_factor,
                                    "worker_start_method": worker_start_method})
    if problems:
        raise ValueError(problems[0][1])
    if batch_size <= 0:
        raise ValueError(f"batch_size must be > 0, got {batch_size}")
    unknown = [s for s in shuffle_splits if s not in splits]
    if unknown:
        raise ValueError(f"shuffle_splits {unknown} are not among the splits {list(splits)}")
    scaler = None
    if standardize:
        if fit_split not in splits:
            raise ValueError(f"fit_split '{fit_split}' is not among the splits {list(splits)}; the standardizer "
                             f"is fitted on the training split")
        scaler = Standardizer.fit(feature_chunks(splits[fit_split]))
    workers: dict[str, Any] = {"num_workers": num_workers, "pin_memory": pin_memory}
    if num_workers > 0:
        workers |= {"persistent_workers": persistent_workers, "prefetch_factor": prefetch_factor,
                    "multiprocessing_context": worker_context(worker_start_method)}
    return DataLoaders({name: make_loader(split, collator, batch_size, name in shuffle_splits, seed,
                                             drop_last and name in shuffle_splits, scaler, name, workers)
                        for name, split in splits.items()}, scaler)


def check_loader_config(config: dict[str, Any]) -> list[ConfigProblem]:
    """Worker options that need worker processes (found by `mlgym validate`)."""
    if config.get("num_workers", 0) not in (0, None):
        return []
    return [(key, f"{key} needs worker processes; set num_workers > 0", "e.g. num_workers: 2")
            for key, unset in (("persistent_workers", False), ("prefetch_factor", None),
                               ("worker_start_method", None))
            if config.get(key, unset) not in (unset,)]


default_data_loaders.check_config = check_loader_config  # type: ignore[attr-defined]
