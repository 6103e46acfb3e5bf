"""The example's data set, drawn with Pillow: small RGB images of six shapes, one folder per class.

    data/shapes/circle/0000.png ... data/shapes/triangle/0499.png    (6 classes x 500 images, 32 x 32 RGB)

Each image is a shape of random size, position, rotation and colour on a random background colour, drawn at twice
the size and scaled down (smooth edges), plus Gaussian pixel noise. Image i of class c is drawn from its own NumPy
generator seeded with (SEED, c, i), so the pixels are the same on every machine and for any number of images.
The folder is written atomically: into a temporary sibling, renamed into place when complete, so a crashed or a
concurrent first run never leaves a half-written data set behind. Nothing is downloaded.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np

CLASSES = ["circle", "cross", "ring", "square", "star", "triangle"]
SEED = 20240612
PER_CLASS = 500
SIZE = 32
SUPERSAMPLE = 2


def regular_polygon(n: int, radius: float, rotation: float) -> np.ndarray:
    angles = rotation + 2 * math.pi * np.arange(n) / n
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def outline(shape: str, radius: float, rotation: float) -> list[np.ndarray]:
    """The polygons of `shape` around the origin: the first filled in the foreground, any second (a hole) in the
    background colour."""
    if shape == "circle":
        return [regular_polygon(48, radius, 0.0)]
    if shape == "ring":
        return [regular_polygon(48, radius, 0.0), regular_polygon(48, 0.55 * radius, 0.0)]
    if shape == "square":
        return [regular_polygon(4, radius, rotation)]
    if shape == "triangle":
        return [regular_polygon(3, radius, rotation)]
    if shape == "star":
        points = regular_polygon(10, radius, rotation)
        points[1::2] *= 0.45
        return [points]
    if shape == "cross":
        a, w = radius, 0.33 * radius
        plus = np.array([(-w, -a), (w, -a), (w, -w), (a, -w), (a, w), (w, w), (w, a), (-w, a), (-w, w), (-a, w),
                         (-a, -w), (-w, -w)])
        c, s = math.cos(rotation), math.sin(rotation)
        return [plus @ np.array([[c, s], [-s, c]])]
    raise ValueError(f"unknown shape '{shape}'; known: {', '.join(CLASSES)}")


def luma(rgb: np.ndarray) -> float:
    return float(rgb @ np.array([0.299, 0.587, 0.114]))


def draw(shape: str, rng: np.random.Generator, size: int = SIZE) -> "Image.Image":
    """One image of `shape`, every random choice drawn from `rng` in a fixed order."""
    from PIL import Image, ImageDraw

    big = size * SUPERSAMPLE
    radius = rng.uniform(0.26, 0.42) * big
    centre = rng.uniform(radius + 1, big - radius - 1, size=2)
    rotation = rng.uniform(0, 2 * math.pi)
    background = rng.integers(0, 256, size=3)
    foreground = rng.integers(0, 256, size=3)
    while abs(luma(foreground) - luma(background)) < 90:  # keep the shape visible
        foreground = rng.integers(0, 256, size=3)
    noise = rng.uniform(0, 8)
    image = Image.new("RGB", (big, big), tuple(int(v) for v in background))
    canvas = ImageDraw.Draw(image)
    for k, polygon in enumerate(outline(shape, radius, rotation)):
        colour = foreground if k == 0 else background
        canvas.polygon([tuple(p) for p in (polygon + centre).tolist()], fill=tuple(int(v) for v in colour))
    pixels = np.asarray(image.resize((size, size), Image.Resampling.BOX), dtype=np.float32)
    pixels = pixels + rng.normal(0, noise, size=pixels.shape)
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


def generate(folder: Path, per_class: int = PER_CLASS, size: int = SIZE, seed: int = SEED) -> None:
    """Write every image into `folder` (which must not exist yet)."""
    for c, shape in enumerate(CLASSES):
        (folder / shape).mkdir(parents=True)
        for i in range(per_class):
            rng = np.random.default_rng([seed, c, i])
            draw(shape, rng, size).save(folder / shape / f"{i:04d}.png")
    manifest = {"classes": CLASSES, "per_class": per_class, "size": size, "seed": seed}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def ensure_shapes(root: Path, per_class: int = PER_CLASS, size: int = SIZE, seed: int = SEED) -> bool:
    """Generate the data set at `root` unless it is there; True when this call wrote it."""
    root = Path(root)
    if root.is_dir():
        return False
    root.parent.mkdir(parents=True, exist_ok=True)
    temporary = root.parent / f".{root.name}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        generate(temporary, per_class, size, seed)
        os.rename(temporary, root)
    except OSError:
        shutil.rmtree(temporary, ignore_errors=True)
        if root.is_dir():  # another process finished first: its folder is the same
            return False
        raise
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return True
