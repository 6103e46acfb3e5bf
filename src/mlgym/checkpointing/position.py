"""Where in training a checkpoint was taken: at the end of an epoch, or inside one after some optimizer steps."""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

_FILE_NAME = re.compile(r"epoch_(\d+)(?:_step_(\d+))?\.pt")


@functools.total_ordering
@dataclass(frozen=True)
class Position:
    """`epoch` finished (`step` None), or `step` optimizer steps into `epoch` (a mid-epoch checkpoint).

    Ordered by training time: epoch 4 step 120 comes after epoch 3 and before the end of epoch 4.
    """

    epoch: int
    step: int | None = None

    @property
    def epochs_done(self) -> int:
        return self.epoch if self.step is None else self.epoch - 1

    @property
    def file_name(self) -> str:
        return f"epoch_{self.epoch}.pt" if self.step is None else f"epoch_{self.epoch}_step_{self.step}.pt"

    @classmethod
    def of_file(cls, name: str) -> "Position | None":
        """The position a checkpoint file name stands for (`epoch_3.pt`, `epoch_4_step_120.pt`), else None."""
        match = _FILE_NAME.fullmatch(name)
        if match is None:
            return None
        return cls(int(match[1]), None if match[2] is None else int(match[2]))

    def _key(self) -> tuple[int, float]:
        return self.epoch, math.inf if self.step is None else self.step

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Position):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        return f"epoch {self.epoch}" if self.step is None else f"epoch {self.epoch} step {self.step}"
