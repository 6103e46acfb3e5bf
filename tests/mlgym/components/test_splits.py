"""Splitters: disjoint, covering, stratified, reproducible; explicit fold indices."""
from __future__ import annotations

from collections import Counter

import pytest

from mlgym.components.datasets import sklearn_dataset
from mlgym.components.splits import random_split, splits_from_indices, stratified_split

RATIOS = {"train": 0.6, "val": 0.2, "test": 0.2}


@pytest.fixture(scope="module")
def digits():
    return sklearn_dataset("digits")


@pytest.mark.parametrize("splitter", [random_split, stratified_split], ids=["random", "stratified"])
def test_splits_are_disjoint_cover_and_follow_ratios(digits, splitter) -> None:
    splits = splitter(digits, ratios=RATIOS, seed=3)
    assert list(splits) == ["train", "val", "test"]
    sets = [set(s.indices) for s in splits.values()]
    assert sum(len(s) for s in sets) == len(digits)
    assert set().union(*sets) == set(range(len(digits)))
    assert [len(s) for s in sets] == [1078, 360, 359]


@pytest.mark.parametrize("splitter", [random_split, stratified_split], ids=["random", "stratified"])
def test_splits_are_reproducible_by_seed(digits, splitter) -> None:
    a, b, c = (splitter(digits, ratios=RATIOS, seed=s) for s in (1, 1, 2))
    assert a["val"].indices == b["val"].indices
    assert a["val"].indices != c["val"].indices


def test_stratified_keeps_class_ratios() -> None:
    ds = sklearn_dataset("breast_cancer")  # 212 malignant / 357 benign
    splits = stratified_split(ds, ratios=RATIOS, seed=0)
    overall = float(ds.targets.float().mean())
    for subset in splits.values():
        share = sum(int(ds.targets[i]) for i in subset.indices) / len(subset)
        assert abs(share - overall) < 0.01
    random_shares = [sum(int(ds.targets[i]) for i in s.indices) / len(s)
                     for seed in range(5) for s in random_split(ds, ratios=RATIOS, seed=seed).values()]
    assert max(abs(s - overall) for s in random_shares) > 0.01  # so the check above is not trivially true


def test_stratified_on_iris_gives_equal_class_counts() -> None:
    splits = stratified_split(sklearn_dataset("iris"), ratios=RATIOS, seed=0)
    targets = sklearn_dataset("iris").targets
    assert [Counter(int(targets[i]) for i in s.indices) for s in splits.values()] == \
        [Counter({0: 30, 1: 30, 2: 30}), Counter({0: 10, 1: 10, 2: 10}), Counter({0: 10, 1: 10, 2: 10})]


@pytest.mark.parametrize("ratios, message", [
    pytest.param({"train": 0.7, "val": 0.2}, r"split ratios must sum to 1, but \{'train': 0.7, 'val': 0.2\} sum to 0.9",
                 id="sum"),
    pytest.param({"train": 1.2, "val": -0.2}, r"every split ratio must be a number > 0; got \{'val': -0.2\}",
                 id="negative"),
    pytest.param({}, "ratios must name at least one split", id="empty"),
])
def test_bad_ratios(digits, ratios, message) -> None:
    with pytest.raises(ValueError, match=message):
        random_split(digits, ratios=ratios)


def test_a_split_too_small_to_hold_an_item(digits) -> None:
    with pytest.raises(ValueError, match=r"splits \['val'\] would be empty"):
        random_split(digits, ratios={"train": 0.9999, "val": 0.0001})


def test_splits_from_indices(digits) -> None:
    splits = splits_from_indices(digits, {"train": [0, 1, 2], "val": [5, 4]})
    assert list(splits) == ["train", "val"] and splits["val"].indices == [5, 4]
    assert splits["val"][0][1] == digits[5][1]
    with pytest.raises(ValueError, match=r"split 'val' has indices outside 0..1796: \[1797\]"):
        splits_from_indices(digits, {"val": [1797]})
