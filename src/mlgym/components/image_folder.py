"""Image files on disk, one class per sub-folder, decoded with Pillow when a batch needs them.

    root/cat/001.png, root/cat/002.jpg, root/dog/001.png, ...   ->  classes [cat, dog], labels 0 and 1

Only the file list and the labels are held in memory. Every split gets the same deterministic transform (convert
to `mode`, resize to `image_size`, to a float tensor in [0, 1], normalise with `mean` / `std`); the splits named
in `augment_splits` (the training split) are also flipped horizontally with probability `horizontal_flip`, drawn
from a generator seeded from (seed, epoch, position) by the data loader (`augmentation.py`), so augmentation is
reproducible and independent of the number of loader workers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from mlgym.registry import component
from mlgym.registry.constraints import NonNegative

IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"]


def image_to_tensor(image: Any) -> torch.Tensor:
    """A Pillow image -> float tensor (C, H, W) in [0, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


@component("dataset", "image_folder")
class ImageFolder(Dataset):
    """Images in `root/<class>/`, one class per sub-folder (labels in sorted folder order), decoded with Pillow.

    `image_size` [height, width] (or one int for squares) resizes; `mean` / `std` (one per channel) normalise;
    `horizontal_flip` is the flip probability for the `augment_splits`. Relative roots are from the cwd.
    """

    task = "classification"

    def __init__(self, root: str, image_size: list[int] | int | None = None, mode: Literal["RGB", "L"] = "RGB",
                 mean: list[float] | None = None, std: list[float] | None = None,
                 horizontal_flip: Annotated[float, NonNegative] = 0.0, augment_splits: list[str] = ["train"],
                 extensions: list[str] = IMAGE_EXTENSIONS) -> None:
        folder = Path(root).expanduser()
        if not folder.is_dir():
            raise ValueError(f"image folder '{root}' not found (resolved to {folder.resolve()})")
        self.classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not self.classes:
            raise ValueError(f"image folder '{root}' has no class sub-folders; expected {root}/<class>/<image>")
        wanted = {e.lower() for e in extensions}
        self.files: list[Path] = []
        labels: list[int] = []
        for label, name in enumerate(self.classes):
            files = sorted(p for p in (folder / name).rglob("*") if p.is_file() and p.suffix.lower() in wanted)
            if not files:
                raise ValueError(f"class folder '{folder / name}' has no images ({', '.join(sorted(wanted))})")
            self.files += files
            labels += [label] * len(files)
        self.targets = torch.tensor(labels, dtype=torch.int64)
        self.num_classes = len(self.classes)
        channels = 3 if mode == "RGB" else 1
        for key, values in (("mean", mean), ("std", std)):
            if values is not None and len(values) != channels:
                raise ValueError(f"{key} needs one value per channel ({channels} for mode {mode}), got {values}")
        if std is not None and any(v <= 0 for v in std):
            raise ValueError(f"std values must be > 0, got {std}")
        if not 0.0 <= horizontal_flip <= 1.0:
            raise ValueError(f"horizontal_flip is a probability in [0, 1], got {horizontal_flip}")
        size = [image_size, image_size] if isinstance(image_size, int) else image_size
        if size is not None and (len(size) != 2 or any(s <= 0 for s in size)):
            raise ValueError(f"image_size is [height, width] (or one int), both > 0; got {image_size}")
        self.size = size
        self.mode = mode
        self.mean = None if mean is None else torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = None if std is None else torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.horizontal_flip = float(horizontal_flip)
        self.augment_splits = list(augment_splits)

    def __len__(self) -> int:
        return len(self.files)

    def image(self, index: int) -> torch.Tensor:
        """File `index` decoded, converted, resized, as a normalised float tensor (C, H, W)."""
        from PIL import Image

        with Image.open(self.files[index]) as image:
            image = image.convert(self.mode)
            if self.size is not None and (image.height, image.width) != tuple(self.size):
                image = image.resize((self.size[1], self.size[0]), Image.Resampling.BILINEAR)
            x = image_to_tensor(image)
        if self.mean is not None:
            x = x - self.mean
        if self.std is not None:
            x = x / self.std
        return x

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.image(index), self.targets[index]

    def augments(self, split: str) -> bool:
        return self.horizontal_flip > 0 and split in self.augment_splits

    def augmented_item(self, index: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.image(index)
        if float(torch.rand((), generator=generator)) < self.horizontal_flip:
            x = x.flip(-1)
        return x, self.targets[index]

    def __repr__(self) -> str:
        return f"ImageFolder(n={len(self)}, classes={self.classes}, size={self.size}, mode={self.mode})"
