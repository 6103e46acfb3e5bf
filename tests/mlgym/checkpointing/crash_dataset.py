"""A dataset that crashes the whole run (SIGKILL of its process group, like a lost machine) once, at a set fetch.

Used through the `torch_dataset` adapter: `factory: tests.mlgym.checkpointing.crash_dataset:CrashingDigits`.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

from sklearn.datasets import load_digits
from torch.utils.data import Dataset


class CrashingDigits(Dataset):
    """scikit-learn's digits; the `crash_at`-th item fetched in a process kills the run's process group, unless
    `marker` exists (it is created first, so the resumed run goes on)."""

    def __init__(self, crash_at: int | None = None, marker: str | None = None) -> None:
        data = load_digits()
        self.x, self.y = data.data.astype("float32"), data.target
        self.targets = self.y
        self.crash_at, self.marker = crash_at, marker
        self.fetched = 0

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple:
        self.fetched += 1
        if self.crash_at is not None and self.fetched == self.crash_at and self.marker:
            marker = Path(self.marker)
            if not marker.exists():
                marker.write_text(f"killed at fetch {self.fetched}\n")
                os.killpg(os.getpgrp(), signal.SIGKILL)
        return self.x[index], int(self.y[index])
