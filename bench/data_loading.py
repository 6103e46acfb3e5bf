"""Batch loading cost: MLgym's data loaders against plain PyTorch DataLoaders over the same split, one run.

Each side iterates every batch of the digits train split (1257 images of 1x8x8, batch size 32) for several
epochs, with the same shuffle generator seeds, so all sides yield identical batches (checked before timing).
Sides, alternated within each repetition:
  mlgym          - `data_loader/default` (one tensor index per batch)
  plain_subset   - DataLoader(Subset(ArrayDataset), shuffle, default collate): the naive per-sample path
  plain_tensor   - DataLoader(TensorDataset(x[train], y[train])): what a hand-written loop usually uses
  manual_slices  - torch.randperm + slicing, no DataLoader at all: the floor
Prints medians in ms per epoch and `speedup_vs_plain_tensor: X` (plain_tensor time / mlgym time).

    .venv/bin/python bench/data_loading.py [--repeats 7] [--epochs 20]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from mlgym.components.data_loaders import default_data_loaders, epoch_seed  # noqa: E402
from mlgym.components.datasets import sklearn_dataset  # noqa: E402
from mlgym.components.splits import stratified_split  # noqa: E402

BATCH = 32
SEED = 0


def mlgym_batches(loaders, epoch: int):
    loaders.set_epoch(epoch)
    return loaders["train"]


def plain_loader(dataset, epoch: int) -> DataLoader:
    return DataLoader(dataset, batch_size=BATCH, shuffle=True,
                      generator=torch.Generator().manual_seed(epoch_seed(SEED, epoch)))


def manual_slices(x: torch.Tensor, y: torch.Tensor, epoch: int):
    generator = torch.Generator().manual_seed(epoch_seed(SEED, epoch))
    torch.empty((), dtype=torch.int64).random_(generator=generator)  # as DataLoader draws its base seed first
    order = torch.randperm(len(y), generator=generator)
    for start in range(0, len(y), BATCH):
        rows = order[start:start + BATCH]
        yield x[rows], y[rows]


def build_sides():
    dataset = sklearn_dataset("digits", as_images=True)
    splits = stratified_split(dataset, seed=SEED)
    train = splits["train"]
    rows = torch.as_tensor(train.indices)
    tensors = TensorDataset(dataset.features[rows], dataset.targets[rows])
    loaders = default_data_loaders(splits, batch_size=BATCH, seed=SEED)
    x, y = dataset.features[rows], dataset.targets[rows]
    return {
        "mlgym": lambda e: mlgym_batches(loaders, e),
        "plain_subset": lambda e: plain_loader(train, e),
        "plain_tensor": lambda e: plain_loader(tensors, e),
        "manual_slices": lambda e: manual_slices(x, y, e),
    }


def check_identical(sides) -> None:
    for epoch in (1, 2):
        reference = [(bx.clone(), by.clone()) for bx, by in sides["plain_subset"](epoch)]
        for name, make in sides.items():
            got = list(make(epoch))
            same = len(got) == len(reference) and all(
                torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(got, reference))
            if not same:
                raise SystemExit(f"{name} does not yield the same batches as a plain DataLoader at epoch {epoch}")


def time_side(make, epochs: int) -> float:
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        for x, y in make(epoch):
            pass
    return (time.perf_counter() - started) / epochs * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sides = build_sides()
    check_identical(sides)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.repeats):
        for name, make in sides.items():
            times[name].append(time_side(make, args.epochs))
    medians = {name: statistics.median(t) for name, t in times.items()}
    print("identical_batches: true")
    for name, ms in medians.items():
        print(f"{name}_ms_per_epoch: {ms:.3f}")
    print(f"speedup_vs_plain_subset: {medians['plain_subset'] / medians['mlgym']:.2f}")
    print(f"speedup_vs_plain_tensor: {medians['plain_tensor'] / medians['mlgym']:.2f}")
    print(f"mlgym_over_manual_slices: {medians['mlgym'] / medians['manual_slices']:.2f}")


if __name__ == "__main__":
    main()
