"""Training throughput (samples/s) of MLgym against a hand-written PyTorch loop on the same image folder.

Both sides train example/image_folder's `resnet_small` on its generated PNGs (3,000 images, 6 classes, 32 x 32 RGB;
drawn once into a temporary folder), decoded with Pillow by a DataLoader with identical settings: batch 32, the same
2,100-image stratified training split, shuffled, 2 worker processes (persistent, forked), bf16 autocast on the CPU,
AdamW lr 0.003 with a per-step warmup-cosine schedule, 1 torch thread. Both score val and test after every epoch.

MLgym runs the example's gs_config through the real job path in this process (`main_process`: config, registry
graph, trainer with `log_every_n_steps: 10`, evaluator, event log on disk; no checkpoints). The plain side is the
loop a researcher writes: its own Dataset reading the same files, `DataLoader`, forward/backward/step, a running
loss read every step.

What is timed, the same on both sides: the training part of each epoch, from the start of the epoch (before the
loader's iterator is made) to the end of its last optimizer step, in wall time and in CPU time of the training
thread (`time.thread_time`; torch runs one intra-op thread, in that thread). On the MLgym side the bench stamps each
event just before the job's event log writes it (a wrapper around `EventLog.append`; the job runs in this thread and
emits synchronously): an epoch runs from its `experiment_status` training event (emitted just before `train_epoch`)
to its last `training_progress` (emitted after its last step), so the epoch's step events are inside the window.
Epoch 1 is left out on both sides (it starts the loader workers); evaluation and start-up are outside the windows.
samples/s = training samples / timed wall seconds. The sides alternate (every second pair runs the plain loop
first); medians over the pairs, the ratio taken pair by pair. Prints `mlgym_samples_per_s`, `plain_samples_per_s`,
`throughput_ratio` (MLgym / plain, median of the pairs), `ratio_of_medians`, and the CPU ms per sample of each side.

    .venv/bin/python bench/throughput.py [--repeats 7] [--epochs 2]
"""
from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example" / "image_folder"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(EXAMPLE))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import components  # noqa: E402  (the example's resnet_small)
from mlgym.components.data_loaders import DataLoaders  # noqa: E402
from mlgym.events.event_log import EventLog, read_events  # noqa: E402
from mlgym.run import ExecutionSettings, RunRequest, start  # noqa: E402
from paired import paired_medians  # noqa: E402
from shapes import ensure_shapes  # noqa: E402

BATCH, WORKERS, LR, WEIGHT_DECAY, WARMUP = 32, 2, 0.003, 1e-4, 10
MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]


class PngFolder(Dataset):
    """The hand-written dataset: `root/<class>/*.png`, decoded with Pillow, to [0, 1], normalised."""

    def __init__(self, root: Path) -> None:
        self.classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        self.samples = [(path, label) for label, name in enumerate(self.classes)
                        for path in sorted((root / name).glob("*.png"))]
        self.targets = [label for _, label in self.samples]
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image
        path, label = self.samples[index]
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
        x = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float().div_(255.0)
        return (x - self.mean) / self.std, label


def stratified_splits(dataset: Any, seed: int = 0) -> dict[str, Subset]:
    from sklearn.model_selection import train_test_split
    labels = np.asarray([int(label) for label in dataset.targets])
    index = np.arange(len(dataset))
    train, rest = train_test_split(index, train_size=0.7, stratify=labels, random_state=seed)
    val, test = train_test_split(rest, train_size=0.5, stratify=labels[rest], random_state=seed)
    return {"train": Subset(dataset, train.tolist()), "val": Subset(dataset, val.tolist()),
            "test": Subset(dataset, test.tolist())}


def warmup_cosine(total: int):
    def factor(t: int) -> float:
        if t < WARMUP:
            return t / WARMUP
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (t - WARMUP) / max(1, total - WARMUP))))
    return factor


@dataclass
class Timed:
    """The timed epochs of one run: training samples, wall seconds, CPU seconds of the training thread."""

    samples: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0

    def add(self, samples: int, start: tuple[float, float], end: tuple[float, float]) -> None:
        self.samples += samples
        self.wall_s += end[0] - start[0]
        self.cpu_s += end[1] - start[1]

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.wall_s

    @property
    def cpu_ms_per_sample(self) -> float:
        return 1000 * self.cpu_s / self.samples


def now() -> tuple[float, float]:
    return time.perf_counter(), time.thread_time()


def plain_run(root: Path, epochs: int, seed: int = 0, dataset: str = "own") -> tuple[Timed, int]:
    """The hand-written loop; returns (its timed epochs, training samples per epoch). `dataset="mlgym"` (a
    diagnostic) reads the images with MLgym's `image_folder` dataset and default collator instead of its own."""
    torch.manual_seed(seed)
    collate = None
    if dataset == "mlgym":
        from mlgym.components.collators import DefaultCollator
        from mlgym.components.image_folder import ImageFolder
        images = ImageFolder(str(root), mean=MEAN, std=STD)
        collate = DefaultCollator()
    else:
        images = PngFolder(root)
    splits = stratified_splits(images, seed)
    generator = torch.Generator().manual_seed(seed)
    loaders = {name: DataLoader(split, batch_size=BATCH, shuffle=name == "train", generator=generator,
                                num_workers=WORKERS, persistent_workers=True, collate_fn=collate)
               for name, split in splits.items()}
    model = components.ResNetSmall(in_channels=3, num_classes=6, channels=[16, 32, 64], blocks_per_stage=1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(epochs * len(loaders["train"])))
    loss_fn = nn.CrossEntropyLoss()
    timed = Timed()
    for epoch in range(1, epochs + 1):
        started = now()
        model.train()
        running, seen = 0.0, 0
        for inputs, targets in loaders["train"]:
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = loss_fn(model(inputs), targets)
            loss.float().backward()
            optimizer.step()
            schedule.step()
            running += loss.item() * len(targets)
            seen += len(targets)
        if epoch > 1:
            timed.add(seen, started, now())
        model.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for name in ("val", "test"):
                correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in loaders[name])
                assert correct >= 0
    del loaders
    gc.collect()
    return timed, len(splits["train"])


class Stamps:
    """Instrumentation: the (wall, thread CPU) time just before each event is written, by its seq. The job runs in
    this thread (`main_process`) and emits synchronously, so an event's stamp is the moment the job emitted it."""

    def __init__(self) -> None:
        self.by_seq: dict[int, tuple[float, float]] = {}
        self._append = EventLog.append

    def __enter__(self) -> "Stamps":
        original, by_seq = self._append, self.by_seq

        def append(log: EventLog, *args: Any, **kwargs: Any) -> dict[str, Any]:
            stamp = now()
            event = original(log, *args, **kwargs)
            by_seq[event["seq"]] = stamp
            return event

        EventLog.append = append  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        EventLog.append = self._append  # type: ignore[method-assign]


def mlgym_run(root: Path, epochs: int, log_dir: Path, train_samples: int) -> tuple[Timed, float]:
    """The example's job in this process; returns (its timed epochs, the median `samples_per_s` its own
    `training_progress` events reported in them). An epoch is timed from its `experiment_status` training event
    (emitted just before `train_epoch`) to its last `training_progress` (emitted after the last step)."""
    overrides = (f"dataset.config.root={root}", f"optimizer.config.lr={LR}", "checkpointing.variant_key=none",
                 "checkpointing.config={}")
    with Stamps() as stamps:
        outcome = start(RunRequest(gs_config_path=EXAMPLE / "gs_config.yml", log_dir=log_dir, num_epochs=epochs,
                                   overrides=overrides, execution=ExecutionSettings(kind="main_process")))
    assert outcome.status == "done", outcome.results
    begins, ends, reported = {}, {}, []
    for event in read_events(outcome.log_path):
        payload = event["payload"]
        if event["event_type"] == "experiment_status" and payload["status"] == "training":
            begins[payload["epoch"]] = stamps.by_seq[event["seq"]]
        elif event["event_type"] == "training_progress":
            assert payload["num_steps"] == math.ceil(train_samples / BATCH)
            if payload["step"] == payload["num_steps"]:
                ends[payload["epoch"]] = stamps.by_seq[event["seq"]]
            if payload["epoch"] > 1:
                reported.append(payload["samples_per_s"])
    timed = Timed()
    for epoch in range(2, epochs + 1):
        timed.add(train_samples, begins[epoch], ends[epoch])
    close_finished_loaders()
    return timed, statistics.median(reported)


def close_finished_loaders() -> None:
    """Stop the finished job's loader workers, then collect its objects. The job leaves its graph as cyclic garbage;
    collected without `close()`, each of its 6 persistent workers would cost torch's 5 s join timeout (outside the
    timed windows, but 30 s of the benchmark's run time per MLgym run)."""
    for obj in gc.get_objects():
        if type(obj) is DataLoaders:  # not isinstance: an ABC check on every object warns from torch
            obj.close()
    gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=2, help="per run; epoch 1 is not timed")
    parser.add_argument("--plain_dataset", choices=["own", "mlgym"], default="own",
                        help="diagnostic: the plain loop reads the images with MLgym's dataset and collator")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be >= 2: the first epoch is not timed")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "shapes"
        started = time.perf_counter()
        ensure_shapes(root)
        print(f"# image folder generated in {time.perf_counter() - started:.1f} s")
        _, train_samples = plain_run(root, 2)  # warm-up: first-call kernels, page cache (for both sides)
        reported: list[float] = []
        cpu: dict[str, list[float]] = {"mlgym": [], "plain": []}
        runs = [0]  # sides run so far: a pair is two runs

        def mlgym_side() -> float:
            timed, own = mlgym_run(root, args.epochs, Path(tmp) / "logs", train_samples)
            return record("mlgym", timed, f" (its training_progress events: {own:.1f})", own)

        def plain_side() -> float:
            timed, _ = plain_run(root, args.epochs, dataset=args.plain_dataset)
            return record("plain", timed)

        def record(side: str, timed: Timed, note: str = "", own: float | None = None) -> float:
            if own is not None:
                reported.append(own)
            cpu[side].append(timed.cpu_ms_per_sample)
            print(f"# pair {runs[0] // 2} {side}: {timed.samples_per_s:.1f} samples/s, training thread "
                  f"{timed.cpu_ms_per_sample:.3f} CPU ms/sample{note}", flush=True)
            runs[0] += 1
            return timed.samples_per_s

        mlgym, plain, ratio = paired_medians(mlgym_side, plain_side, args.repeats, alternate=True)
    cpu_ratio = statistics.median(a / b for a, b in zip(cpu["mlgym"], cpu["plain"]))
    print(f"setup: {train_samples} training images of 32x32 RGB per epoch, batch {BATCH}, {WORKERS} persistent "
          f"loader workers, bf16 autocast, 1 torch thread, epochs 2..{args.epochs} timed, {args.repeats} pairs, "
          f"plain dataset: {args.plain_dataset}")
    print(f"mlgym_samples_per_s: {mlgym:.1f}")
    print(f"plain_samples_per_s: {plain:.1f}")
    print(f"throughput_ratio: {ratio:.3f}")
    print(f"ratio_of_medians: {mlgym / plain:.3f}")
    print(f"mlgym_reported_samples_per_s: {statistics.median(reported):.1f}")
    print(f"mlgym_cpu_ms_per_sample: {statistics.median(cpu['mlgym']):.3f}")
    print(f"plain_cpu_ms_per_sample: {statistics.median(cpu['plain']):.3f}")
    print(f"cpu_ratio: {cpu_ratio:.3f}")


if __name__ == "__main__":
    main()
