"""MLgym's overhead over a hand-written PyTorch loop: same data, model, batch size, seed and epochs, one run.

Both sides train a ConvNet on digits and score train/val/test after every epoch (accuracy and loss). MLgym runs
the whole job path: config, registry graph, trainer, evaluator, an event log on disk. Prints `overhead_ratio: X`
(median over alternating repetitions of MLgym time / plain time).

    .venv/bin/python bench/overhead.py [--repeats 5] [--epochs 5]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mlgym.run import ExecutionSettings, RunRequest, start  # noqa: E402
from paired import paired_medians  # noqa: E402

CONFIG = Path(__file__).resolve().parent / "configs" / "overhead.yml"


def plain_model() -> nn.Module:
    """The same network as the built-in `conv_net` with the benchmark config's arguments."""
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Dropout(0.0), nn.Linear(64, 10))


def plain_run(epochs: int, batch_size: int = 32, seed: int = 0) -> float:
    """The loop a researcher writes by hand; returns its wall time in seconds."""
    started = time.perf_counter()
    torch.manual_seed(seed)
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32).view(-1, 1, 8, 8) / 16.0
    y = torch.tensor(digits.target, dtype=torch.int64)
    idx = list(range(len(y)))
    train, rest = train_test_split(idx, train_size=0.7, stratify=y.numpy(), random_state=seed)
    val, test = train_test_split(rest, train_size=0.5, stratify=y.numpy()[rest], random_state=seed)
    splits = {name: torch.utils.data.TensorDataset(x[i], y[i]) for name, i in
              (("train", train), ("val", val), ("test", test))}
    generator = torch.Generator().manual_seed(seed)
    loaders = {name: torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=name == "train",
                                                 generator=generator if name == "train" else None)
               for name, ds in splits.items()}
    model = plain_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        for inputs, targets in loaders["train"]:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for loader in loaders.values():
                outputs = torch.cat([model(inputs) for inputs, _ in loader])
                targets = torch.cat([t for _, t in loader])
                float(loss_fn(outputs, targets))
                float((outputs.argmax(1) == targets).float().mean())
    return time.perf_counter() - started


def mlgym_run(epochs: int, log_dir: Path) -> float:
    started = time.perf_counter()
    outcome = start(RunRequest(gs_config_path=CONFIG, log_dir=log_dir, num_epochs=epochs,
                               execution=ExecutionSettings(kind="main_process")))
    elapsed = time.perf_counter() - started
    assert outcome.status == "done", outcome.results
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        mlgym_run(1, Path(tmp))  # warm-up: imports, first-call costs
        plain_run(1)
        mlgym_s, plain_s, ratio = paired_medians(lambda: mlgym_run(args.epochs, Path(tmp)),
                                                 lambda: plain_run(args.epochs), args.repeats)
    print(f"mlgym_s_median: {mlgym_s:.3f}")
    print(f"plain_s_median: {plain_s:.3f}")
    print(f"overhead_ratio: {ratio:.3f}")


if __name__ == "__main__":
    main()
