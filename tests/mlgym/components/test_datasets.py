"""Datasets load real data with the documented shapes, dtypes and scaling."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mlgym.components.datasets import ArrayDataset, csv_dataset, parquet_dataset, sklearn_dataset


@pytest.mark.parametrize("name, n, features, classes", [
    pytest.param("digits", 1797, 64, 10, id="digits"),
    pytest.param("iris", 150, 4, 3, id="iris"),
    pytest.param("wine", 178, 13, 3, id="wine"),
    pytest.param("breast_cancer", 569, 30, 2, id="breast_cancer"),
])
def test_sklearn_sets_have_their_shapes(name: str, n: int, features: int, classes: int) -> None:
    ds = sklearn_dataset(name)
    assert isinstance(ds, ArrayDataset)
    assert len(ds) == n and ds.num_features == features and ds.num_classes == classes
    assert ds.features.shape == (n, features) and ds.features.dtype == torch.float32
    assert ds.targets.dtype == torch.int64 and set(ds.targets.tolist()) == set(range(classes))
    x, y = ds[3]
    assert x.shape == (features,) and y.ndim == 0
    assert ds.task == "classification"


def test_digits_as_images_are_scaled_to_unit_range() -> None:
    ds = sklearn_dataset("digits", as_images=True)
    assert ds.features.shape == (1797, 1, 8, 8)
    assert float(ds.features.min()) == 0.0 and float(ds.features.max()) == 1.0
    assert ds.num_features == 64


def test_tabular_sets_keep_their_raw_values() -> None:
    from sklearn.datasets import load_wine

    ds = sklearn_dataset("wine")  # standardisation is fitted on the training split, by the data loaders
    assert torch.allclose(ds.features, torch.as_tensor(load_wine().data, dtype=torch.float32))
    assert float(ds.features.max()) > 100  # proline is in the hundreds


def test_as_images_is_only_for_digits() -> None:
    with pytest.raises(ValueError, match="as_images is only available for 'digits', not 'iris'"):
        sklearn_dataset("iris", as_images=True)


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=20), "b": rng.integers(0, 5, 20), "label": ["cat", "dog"] * 10,
                         "price": rng.normal(10, 2, 20)})


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_table_classification(tmp_path, table: pd.DataFrame, fmt: str) -> None:
    path = tmp_path / f"t.{fmt}"
    table.to_csv(path, index=False) if fmt == "csv" else table.to_parquet(path)
    load = csv_dataset if fmt == "csv" else parquet_dataset
    ds = load(str(path), target_column="label", feature_columns=["a", "b"])
    assert ds.features.shape == (20, 2) and ds.num_classes == 2 and ds.num_features == 2
    assert ds.targets.tolist() == [0, 1] * 10  # labels coded in sorted order: cat=0, dog=1
    assert torch.allclose(ds.features[:, 0], torch.tensor(table["a"].to_numpy(), dtype=torch.float32))


def test_table_regression_uses_all_other_columns(tmp_path, table: pd.DataFrame) -> None:
    path = tmp_path / "t.csv"
    table.drop(columns="label").to_csv(path, index=False)
    ds = csv_dataset(str(path), target_column="price", task="regression")
    assert ds.features.shape == (20, 2) and ds.targets.dtype == torch.float32 and ds.num_classes is None
    assert ds.task == "regression"


def test_table_missing_column_lists_available(tmp_path, table: pd.DataFrame) -> None:
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"columns \['lable'\] not found; available columns: a, b, label, price"):
        csv_dataset(str(path), target_column="lable")


def test_table_non_numeric_feature_is_named(tmp_path, table: pd.DataFrame) -> None:
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"feature columns must be numeric; not numeric: \['label'\]"):
        csv_dataset(str(path), target_column="price", task="regression")


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="data file '.*nope.csv' not found"):
        csv_dataset(str(tmp_path / "nope.csv"), target_column="y")
