"""image_folder on a tiny generated folder of PNGs; torch_dataset adapts any registered or importable Dataset."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from mlgym.components.data_loaders import default_data_loaders
from mlgym.components.datasets import TorchDataset, torch_dataset
from mlgym.components.image_folder import ImageFolder
from mlgym.components.splits import stratified_split
from mlgym.registry import component, registry


def make_folder(root: Path, per_class: int = 6, size: tuple[int, int] = (10, 12)) -> Path:
    """PNGs whose left half is brighter than the right (so a flip is visible), one colour per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, name in enumerate(["cat", "dog", "eel"]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 100, (*size, 3), dtype=np.uint8)
            pixels[:, : size[1] // 2] += 120
            pixels[..., c] = 50 * c
            Image.fromarray(pixels).save(root / name / f"{i:03d}.png")
    (root / "cat" / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_folder(tmp_path_factory.mktemp("images") / "data")


def test_classes_labels_and_the_deterministic_transform(folder: Path) -> None:
    from PIL import Image

    ds = ImageFolder(str(folder), image_size=[8, 6], mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])
    assert ds.classes == ["cat", "dog", "eel"] and len(ds) == 18 and ds.num_classes == 3
    assert ds.targets.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    x, y = ds[7]
    assert x.shape == (3, 8, 6) and x.dtype == torch.float32 and int(y) == 1
    with Image.open(folder / "dog" / "001.png") as image:
        raw = np.asarray(image.convert("RGB").resize((6, 8), Image.Resampling.BILINEAR), dtype=np.float32)
    assert np.allclose(x.numpy(), (raw.transpose(2, 0, 1) / 255 - 0.5) / 0.25, atol=1e-6)
    gray = ImageFolder(str(folder), mode="L")
    assert gray[0][0].shape == (1, 10, 12)


def test_flips_only_the_training_split_reproducibly_and_as_with_workers(folder: Path) -> None:
    ds = ImageFolder(str(folder), horizontal_flip=0.5)
    splits = stratified_split(ds, ratios={"train": 0.5, "val": 0.5}, seed=0)
    inline = default_data_loaders(splits, batch_size=4, seed=1)
    workers = default_data_loaders(splits, batch_size=4, seed=1, num_workers=2)
    plain = [ds[i][0] for i in splits["train"].indices]
    for epoch in (1, 2):
        inline.set_epoch(epoch), workers.set_epoch(epoch)
        first = [(x.clone(), y.clone()) for x, y in inline["train"]]
        assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, workers["train"]))
        again = [x for x, _ in inline["train"]]
        assert all(torch.equal(a[0], b) for a, b in zip(first, again))
    flipped = [any(torch.equal(x, p.flip(-1)) for p in plain) for batch, _ in first for x in batch]
    assert 0 < sum(flipped) < len(flipped)  # some, not all, training images are flipped
    val = torch.cat([x for x, _ in inline["val"]])
    assert torch.equal(val, torch.stack([ds[i][0] for i in splits["val"].indices]))  # never flipped


@pytest.mark.parametrize("kwargs, message", [
    pytest.param({"root": "nowhere"}, "image folder 'nowhere' not found", id="missing"),
    pytest.param({"mean": [0.5]}, r"mean needs one value per channel \(3 for mode RGB\)", id="mean"),
    pytest.param({"horizontal_flip": 2.0}, r"horizontal_flip is a probability in \[0, 1\]", id="flip"),
])
def test_bad_image_folder_arguments(folder: Path, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        ImageFolder(**{"root": str(folder), **kwargs})


class Squares(Dataset):
    """Items (numpy input, int label): not tensors, no targets attribute."""

    def __init__(self, n: int = 12) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return np.array([i, i * i], dtype=np.float32), i % 3


if "test_squares" not in registry.variants("dataset"):
    component("dataset", "test_squares")(Squares)


@pytest.mark.parametrize("factory", ["test_squares", "tests.mlgym.components.test_image_folder:Squares"],
                         ids=["registered", "import_path"])
def test_torch_dataset_adapts_any_dataset(factory: str) -> None:
    ds = torch_dataset(factory, n=9)
    assert isinstance(ds, TorchDataset) and len(ds) == 9 and ds.num_classes == 3
    x, y = ds[4]
    assert x.tolist() == [4.0, 16.0] and y.dtype == torch.int64 and int(y) == 1
    assert ds.targets.tolist() == [0, 1, 2] * 3
    splits = stratified_split(ds, ratios={"train": 2 / 3, "val": 1 / 3}, seed=0)
    assert sorted(int(ds.targets[i]) for i in splits["val"].indices) == [0, 1, 2]


@pytest.mark.parametrize("config, problem", [
    pytest.param({"factory": "test_sqares"}, ("factory", "unknown variant_key 'test_sqares'"), id="unknown_name"),
    pytest.param({"factory": "nowhere.module:Thing"}, ("factory", "cannot import dataset factory"), id="import"),
    pytest.param({"factory": "test_squares", "m": 3}, ("m", "unknown argument 'm'; accepted: n"), id="option"),
])
def test_torch_dataset_config_is_checked(config, problem) -> None:
    found = torch_dataset.check_config(config)
    assert found and found[0][0] == problem[0] and found[0][1].startswith(problem[1])
