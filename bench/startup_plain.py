"""The plain PyTorch script bench/startup.py compares `mlgym train` with: bench/configs/startup_digits.yml by hand.

One file, one process: the 4 grid points (batch 8/16 x lr 0.01/0.001) trained one after another, an MLP 64-32-10 on
digits (pixels / 16, stratified 70/15/15 split, seed 0), Adam, 4 epochs, and after every epoch accuracy and macro F1
(and the loss) on train, val and test. Prints `first_epoch_ts: <time.time()>` when the first epoch starts, so the
benchmark can measure the time to the first epoch from the command's start.

    python bench/startup_plain.py [--epochs 4]
"""
from __future__ import annotations

import argparse
import time

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn


def macro_f1(predicted: torch.Tensor, targets: torch.Tensor, num_classes: int) -> float:
    """Macro F1 from the confusion counts (a class absent from both sides scores 0, as torchmetrics does)."""
    confusion = torch.bincount(targets * num_classes + predicted, minlength=num_classes ** 2)
    confusion = confusion.view(num_classes, num_classes).float()
    tp = confusion.diag()
    denominator = confusion.sum(0) + confusion.sum(1)
    return float(torch.where(denominator > 0, 2 * tp / denominator.clamp(min=1), 0.0).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.int64)
    index = list(range(len(y)))
    train, rest = train_test_split(index, train_size=round(0.7 * len(y)), stratify=y.numpy(), random_state=0)
    val, test = train_test_split(rest, train_size=round(0.85 * len(y)) - round(0.7 * len(y)),
                                 stratify=y.numpy()[rest], random_state=0)
    splits = {name: torch.utils.data.TensorDataset(x[i], y[i])
              for name, i in (("train", sorted(train)), ("val", sorted(val)), ("test", sorted(test)))}
    loss_fn = nn.CrossEntropyLoss()
    first = True
    for batch_size in (8, 16):
        for lr in (0.01, 0.001):
            torch.manual_seed(args.seed)
            generator = torch.Generator()
            loaders = {name: torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=name == "train",
                                                         generator=generator)
                       for name, ds in splits.items()}
            model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            for epoch in range(1, args.epochs + 1):
                if first:
                    print(f"first_epoch_ts: {time.time():.6f}", flush=True)
                    first = False
                generator.manual_seed(args.seed * 1_000_003 + epoch)
                model.train()
                for inputs, targets in loaders["train"]:
                    optimizer.zero_grad()
                    loss = loss_fn(model(inputs), targets)
                    loss.backward()
                    optimizer.step()
                model.eval()
                scores = {}
                with torch.no_grad():
                    for name, loader in loaders.items():
                        outputs = torch.cat([model(inputs) for inputs, _ in loader])
                        targets = torch.cat([t for _, t in loader])
                        predicted = outputs.argmax(1)
                        scores[name] = (float(loss_fn(outputs, targets)),
                                        float((predicted == targets).float().mean()),
                                        macro_f1(predicted, targets, 10))
            print(f"batch {batch_size} lr {lr}: test accuracy {scores['test'][1]:.4f} f1 {scores['test'][2]:.4f}")


if __name__ == "__main__":
    main()
