"""Datasets: in memory as two tensors (scikit-learn's bundled sets, CSV and Parquet tables), and any torch Dataset.

Your own dataset is one decorated class: `@component("dataset", "my_set")` on a `torch.utils.data.Dataset` whose
items are `(input tensor, label)`; use it as `variant_key: my_set`. To give it MLgym's conventions (tensor items
from Pillow images or arrays, `targets` for stratified splits and CV folds, `task`, `num_classes`), or to use a
library's dataset by import path, wrap it: `variant_key: torch_dataset`, `config: {factory: my_set, <its args>}`.

A dataset fits nothing to its rows: `sklearn(name="digits")` divides pixels by 16 (their fixed range), and the
other sets keep their raw values. Standardisation is fitted on the training split only, by the data loaders
(`standardize: true` on the `data_loader` component, see `scaling.py`), so under cross-validation each fold fits
its own.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from mlgym.errors import ConfigError
from mlgym.registry import component, registry
from mlgym.registry.registry import normalize
from mlgym.registry.signature import ConfigProblem, check_arguments

if TYPE_CHECKING:
    import pandas as pd

Task = Literal["classification", "regression"]
SKLEARN_SETS = ("digits", "iris", "wine", "breast_cancer")


class ArrayDataset(Dataset):
    """Features and targets as tensors; `dataset[i]` is `(features[i], targets[i])`."""

    def __init__(self, features: torch.Tensor, targets: torch.Tensor, task: Task = "classification",
                 num_classes: int | None = None) -> None:
        if len(features) != len(targets):
            raise ValueError(f"features have {len(features)} rows but targets have {len(targets)}")
        self.features = features
        self.targets = targets
        self.task = task
        self.num_classes = num_classes

    @property
    def num_features(self) -> int:
        return int(np.prod(self.features.shape[1:])) if self.features.ndim > 1 else 1

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.features[index], self.targets[index]

    def __repr__(self) -> str:
        return (f"ArrayDataset(n={len(self)}, features={tuple(self.features.shape)}, task={self.task}, "
                f"num_classes={self.num_classes})")


def _classification_targets(values: np.ndarray) -> tuple[torch.Tensor, int]:
    """Labels of any type -> int64 codes 0..K-1 (in sorted label order) and K."""
    classes, codes = np.unique(values, return_inverse=True)
    return torch.as_tensor(codes.reshape(-1), dtype=torch.int64), len(classes)


@component("dataset", "sklearn")
def sklearn_dataset(name: Literal["digits", "iris", "wine", "breast_cancer"], as_images: bool = False
                    ) -> ArrayDataset:
    """One of scikit-learn's bundled classification sets (no download), raw values; digits' pixels / 16.

    `as_images` (digits only) shapes the pixels as (1, 8, 8) images.
    """
    from sklearn import datasets as sk

    if name not in SKLEARN_SETS:
        raise ValueError(f"unknown sklearn dataset '{name}'; known: {', '.join(SKLEARN_SETS)}")
    if as_images and name != "digits":
        raise ValueError(f"as_images is only available for 'digits', not '{name}'")
    bunch = getattr(sk, f"load_{name}")()
    x = bunch.data.astype(np.float64)
    if name == "digits":
        x = x / 16.0
        if as_images:
            x = x.reshape(-1, 1, 8, 8)
    targets, num_classes = _classification_targets(bunch.target)
    return ArrayDataset(torch.as_tensor(x, dtype=torch.float32), targets, "classification", num_classes)


def table_dataset(frame: pd.DataFrame, source: str, target_column: str, feature_columns: list[str] | None,
                  task: Task) -> ArrayDataset:
    """An ArrayDataset from a DataFrame: numeric feature columns, one target column."""
    import pandas as pd

    columns = [str(c) for c in frame.columns]
    wanted = [target_column, *(feature_columns or [])]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ValueError(f"{source}: columns {missing} not found; available columns: {', '.join(columns)}")
    features = list(feature_columns) if feature_columns else [c for c in columns if c != target_column]
    if target_column in features:
        raise ValueError(f"{source}: target column '{target_column}' is also listed as a feature column")
    if not features:
        raise ValueError(f"{source}: no feature columns besides target '{target_column}'")
    non_numeric = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise ValueError(f"{source}: feature columns must be numeric; not numeric: {non_numeric}")
    used = frame[[*features, target_column]]
    if used.isna().any().any():
        bad = [c for c in used.columns if used[c].isna().any()]
        raise ValueError(f"{source}: missing values in columns {bad}; fill or drop them first")
    x = frame[features].to_numpy(dtype=np.float64)
    y = frame[target_column].to_numpy()
    if task == "classification":
        targets, num_classes = _classification_targets(y)
    else:
        if not pd.api.types.is_numeric_dtype(frame[target_column]):
            raise ValueError(f"{source}: regression target '{target_column}' must be numeric")
        targets, num_classes = torch.as_tensor(y.astype(np.float32)), None
    return ArrayDataset(torch.as_tensor(x, dtype=torch.float32), targets, task, num_classes)


def _existing(path: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ValueError(f"data file '{path}' not found (resolved to {p.resolve()})")
    return p


@component("dataset", "csv")
def csv_dataset(path: str, target_column: str, feature_columns: list[str] | None = None,
                task: Literal["classification", "regression"] = "classification") -> ArrayDataset:
    """A CSV table; features default to every column except the target. Relative paths are from the cwd."""
    p = _existing(path)
    import pandas as pd

    return table_dataset(pd.read_csv(p), str(p), target_column, feature_columns, task)


@component("dataset", "parquet")
def parquet_dataset(path: str, target_column: str, feature_columns: list[str] | None = None,
                    task: Literal["classification", "regression"] = "classification") -> ArrayDataset:
    """A Parquet table (read with pyarrow); same options as `csv`."""
    p = _existing(path)
    import pandas as pd

    return table_dataset(pd.read_parquet(p), str(p), target_column, feature_columns, task)


def resolve_dataset_factory(factory: str) -> Callable[..., Any]:
    """A registered dataset variant (`my_set`), or a class/function by import path (`pkg.module:Name`/`.Name`)."""
    if ":" not in factory and "." not in factory:
        if normalize(factory) == "torch_dataset":
            raise ValueError("torch_dataset cannot wrap itself; name the dataset to adapt")
        return registry.get("dataset", factory)
    module_name, _, attribute = factory.rpartition(":") if ":" in factory else factory.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import dataset factory '{factory}': {error}") from error


class TorchDataset(Dataset):
    """Any `torch.utils.data.Dataset` with MLgym's conventions: tensor items, `targets`, `task`, `num_classes`.

    Inputs that are Pillow images become float tensors (C, H, W) in [0, 1], anything else `torch.as_tensor`;
    class labels become int64. `targets` is the wrapped dataset's own (`targets`/`labels`) when it has one, else
    read item by item once (the stratified splitter and CV folds need it). An augmenting dataset (`augments`,
    `augmented_item`, see augmentation.py) keeps its seeded augmentation.
    """

    def __init__(self, dataset: Any, task: Task = "classification", num_classes: int | None = None) -> None:
        self.dataset = dataset
        self.task = task
        self._targets: torch.Tensor | None = None
        self._num_classes = num_classes

    def __len__(self) -> int:
        return len(self.dataset)

    def _item(self, item: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = item[0], item[1]
        if hasattr(x, "getbands"):  # a Pillow image
            from mlgym.components.image_folder import image_to_tensor
            x = image_to_tensor(x)
        y = torch.as_tensor(y)
        return torch.as_tensor(x), y.long() if self.task == "classification" else y.float()

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._item(self.dataset[index])

    @property
    def targets(self) -> torch.Tensor:
        if self._targets is None:
            own = getattr(self.dataset, "targets", None)
            own = getattr(self.dataset, "labels", None) if own is None else own
            values = own if own is not None else [self._item(self.dataset[i])[1] for i in range(len(self))]
            self._targets = torch.as_tensor(np.asarray([int(v) if self.task == "classification" else float(v)
                                                        for v in values]))
        return self._targets

    @property
    def num_classes(self) -> int | None:
        if self._num_classes is None and self.task == "classification":
            classes = getattr(self.dataset, "classes", None)
            self._num_classes = len(classes) if classes is not None else int(self.targets.max()) + 1
        return self._num_classes

    def augments(self, split: str) -> bool:
        augments = getattr(self.dataset, "augments", None)
        return bool(augments(split)) if callable(augments) else False

    def augmented_item(self, index: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self._item(self.dataset.augmented_item(index, generator))

    def __repr__(self) -> str:
        return f"TorchDataset({self.dataset!r}, task={self.task})"


@component("dataset", "torch_dataset")
def torch_dataset(factory: str, task: Literal["classification", "regression"] = "classification",
                  num_classes: int | None = None, **options: Any) -> TorchDataset:
    """Any torch Dataset, built by `factory` with the other keys as its arguments, with MLgym's conventions.

    `factory` is a dataset you registered (`@component("dataset", "my_set")`) or an import path
    (`package.module:ClassName`); its items are `(input, label)` pairs.
    """
    return TorchDataset(resolve_dataset_factory(factory)(**options), task, num_classes)


def _check_torch_dataset(config: dict[str, Any]) -> list[ConfigProblem]:
    """The factory exists and accepts the options (found by `mlgym validate`)."""
    factory = config.get("factory")
    if not isinstance(factory, str):
        return []
    try:
        target = resolve_dataset_factory(factory)
    except (ValueError, ConfigError) as error:
        message = error.message if isinstance(error, ConfigError) else str(error)
        hint = error.hint if isinstance(error, ConfigError) else "e.g. my_registered_set or package.module:Name"
        return [("factory", message, hint)]
    options = {k: v for k, v in config.items() if k not in ("factory", "task", "num_classes")}
    return check_arguments(target, options, set())


torch_dataset.check_config = _check_torch_dataset  # type: ignore[attr-defined]
