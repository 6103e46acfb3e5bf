"""Data loaders: the shuffle order is a pure function of (seed, epoch) and matches a plain DataLoader."""
from __future__ import annotations

import multiprocessing
import sys
import time

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from mlgym.components.collators import DefaultCollator
from mlgym.components.data_loaders import BatchGather, default_data_loaders, epoch_seed
from mlgym.components.datasets import sklearn_dataset
from mlgym.components.splits import random_split


@pytest.fixture(scope="module")
def splits():
    return random_split(sklearn_dataset("iris"), ratios={"train": 0.7, "val": 0.3}, seed=0)


def batches(loader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def same(a, b) -> bool:
    return len(a) == len(b) and all(torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(a, b))


def plain_loader(dataset: Dataset, seed: int, epoch: int, shuffle: bool = True, drop_last: bool = False):
    generator = torch.Generator().manual_seed(epoch_seed(seed, epoch))
    return DataLoader(dataset, batch_size=16, shuffle=shuffle, generator=generator, drop_last=drop_last)


@pytest.mark.parametrize("drop_last", [False, True], ids=["keep_last", "drop_last"])
def test_equals_a_plain_dataloader_with_the_same_generator(splits, drop_last: bool) -> None:
    loaders = default_data_loaders(splits, batch_size=16, seed=7, drop_last=drop_last)
    assert isinstance(loaders["train"].dataset, BatchGather)  # the fast path is the one under test
    for epoch in (1, 2):
        loaders.set_epoch(epoch)
        assert same(batches(loaders["train"]), batches(plain_loader(splits["train"], 7, epoch, drop_last=drop_last)))
    assert same(batches(loaders["val"]), batches(plain_loader(splits["val"], 7, 1, shuffle=False)))


def test_custom_collator_path_gives_the_same_batches(splits) -> None:
    fast = default_data_loaders(splits, batch_size=16, seed=7)
    slow = default_data_loaders(splits, collator=lambda b: DefaultCollator()(b), batch_size=16, seed=7)
    assert not isinstance(slow["train"].dataset, BatchGather)
    for epoch in (1, 5):
        fast.set_epoch(epoch), slow.set_epoch(epoch)
        assert same(batches(fast["train"]), batches(slow["train"]))


def test_order_is_a_pure_function_of_seed_and_epoch(splits) -> None:
    a = default_data_loaders(splits, batch_size=16, seed=1)
    b = default_data_loaders(splits, batch_size=16, seed=1)
    a.set_epoch(3)
    first = batches(a["train"])
    assert same(first, batches(a["train"]))  # iterating the same epoch again repeats it
    torch.manual_seed(123)  # global RNG state must not matter
    b.set_epoch(3)
    assert same(first, batches(b["train"]))  # a fresh (resumed) loader at epoch 3 sees the same batches
    a.set_epoch(4)
    assert not same(first, batches(a["train"]))
    c = default_data_loaders(splits, batch_size=16, seed=2)
    c.set_epoch(3)
    assert not same(first, batches(c["train"]))


def test_unshuffled_splits_keep_order_and_do_not_touch_the_global_rng(splits) -> None:
    loaders = default_data_loaders(splits, batch_size=16)
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    xs = torch.cat([x for x, _ in loaders["val"]])
    assert torch.equal(torch.rand(1), expected)
    assert torch.equal(xs, torch.stack([splits["val"][i][0] for i in range(len(splits["val"]))]))


def test_drop_last_only_applies_to_shuffled_splits(splits) -> None:
    loaders = default_data_loaders(splits, batch_size=16, drop_last=True)
    assert sum(len(y) for _, y in loaders["train"]) == 96  # 105 train items, last 9 dropped
    assert sum(len(y) for _, y in loaders["val"]) == 45


def test_mapping_interface(splits) -> None:
    loaders = default_data_loaders(splits, batch_size=16, shuffle_splits=[])
    assert list(loaders) == ["train", "val"] and len(loaders) == 2
    assert isinstance(loaders["train"], DataLoader)
    with pytest.raises(KeyError, match="no data loader for split 'test'; splits: train, val"):
        loaders["test"]


@pytest.mark.parametrize("kwargs, message", [
    pytest.param({"batch_size": 0}, "batch_size must be > 0, got 0", id="batch_size"),
    pytest.param({"shuffle_splits": ["trian"]}, r"shuffle_splits \['trian'\] are not among the splits", id="split"),
])
def test_bad_arguments(splits, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        default_data_loaders(splits, **kwargs)


def test_image_batches_keep_their_shape() -> None:
    splits = random_split(sklearn_dataset("digits", as_images=True), seed=0)
    x, y = next(iter(default_data_loaders(splits, batch_size=8)["train"]))
    assert x.shape == (8, 1, 8, 8) and y.shape == (8,) and y.dtype == torch.int64


def test_default_collator_stacks() -> None:
    x, y = DefaultCollator()([(torch.ones(3), torch.tensor(1)), (torch.zeros(3), torch.tensor(0))])
    assert x.shape == (2, 3) and y.tolist() == [1, 0]


@pytest.mark.parametrize("persistent", [False, True], ids=["fresh_workers", "persistent_workers"])
def test_two_workers_give_exactly_the_batches_of_in_process_loading(splits, persistent: bool) -> None:
    inline = default_data_loaders(splits, batch_size=16, seed=3, standardize=True)
    workers = default_data_loaders(splits, batch_size=16, seed=3, standardize=True, num_workers=2,
                                   persistent_workers=persistent, prefetch_factor=2)
    assert isinstance(inline["train"].dataset, BatchGather) and not isinstance(workers["train"].dataset, BatchGather)
    for epoch in (1, 2):
        inline.set_epoch(epoch), workers.set_epoch(epoch)
        assert same(batches(workers["train"]), batches(inline["train"]))
    assert same(batches(workers["val"]), batches(inline["val"]))


@pytest.mark.parametrize("kwargs, message", [
    pytest.param({"persistent_workers": True}, "persistent_workers needs worker processes; set num_workers > 0",
                 id="persistent"),
    pytest.param({"prefetch_factor": 4}, "prefetch_factor needs worker processes; set num_workers > 0",
                 id="prefetch"),
    pytest.param({"worker_start_method": "spawn"}, "worker_start_method needs worker processes; set num_workers > 0",
                 id="start_method"),
])
def test_worker_options_need_workers(splits, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        default_data_loaders(splits, **kwargs)
    assert default_data_loaders.check_config(kwargs)[0][:2] == (next(iter(kwargs)), message)


def start_methods_of_loaders(queue) -> None:
    """Run in a spawned process (as a pool worker is): the start methods its loaders would give their workers."""
    splits = random_split(sklearn_dataset("iris"), ratios={"train": 0.7, "val": 0.3}, seed=0)
    default = default_data_loaders(splits, num_workers=2)["train"].multiprocessing_context
    chosen = default_data_loaders(splits, num_workers=2, worker_start_method="forkserver")["train"]
    queue.put((multiprocessing.get_start_method(), default.get_start_method(),
               chosen.multiprocessing_context.get_start_method()))


def test_loader_workers_start_as_from_a_main_process_even_in_a_spawned_process() -> None:
    """A spawned process spawns its children by default: every loader worker of a pool worker would import torch
    and the run's modules again. The loaders take the platform's default (fork on Linux) unless told otherwise."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=start_methods_of_loaders, args=(queue,))
    process.start()
    own, default, chosen = queue.get(timeout=60)
    process.join(timeout=60)
    assert own == "spawn"
    assert default == multiprocessing.get_all_start_methods()[0] == ("fork" if sys.platform == "linux" else default)
    assert chosen == "forkserver"


def test_close_stops_persistent_workers_at_once_and_loading_goes_on(splits) -> None:
    loaders = default_data_loaders(splits, batch_size=16, num_workers=2, persistent_workers=True)
    first = batches(loaders["train"])
    workers = list(loaders["train"]._iterator._workers)
    assert all(w.is_alive() for w in workers)
    started = time.perf_counter()
    loaders.close()
    assert time.perf_counter() - started < 2.0  # no 5 s join timeout per worker
    assert not any(w.is_alive() for w in workers) and loaders["train"]._iterator is None
    loaders.close()  # twice is fine
    assert same(batches(loaders["train"]), first)  # new workers, the same batches (epoch 0 again)
    loaders.close()
