"""The evaluator streams: batch-by-batch scores and loss equal the whole split's, computed at once."""
from __future__ import annotations

import pytest
import torch

from mlgym.components.data_loaders import default_data_loaders
from mlgym.components.datasets import sklearn_dataset
from mlgym.components.losses import CrossEntropy
from mlgym.components.metrics import MetricSet
from mlgym.components.splits import random_split
from mlgym.gym.evaluator import Evaluator

SPECS = ["accuracy", {"name": "f1", "average": "macro"}, "auroc", {"name": "top_k_accuracy", "k": 2}]


def test_streamed_scores_and_loss_equal_the_whole_split() -> None:
    torch.manual_seed(0)
    splits = random_split(sklearn_dataset("wine"), ratios={"train": 0.5, "val": 0.5}, seed=0)
    model = torch.nn.Sequential(torch.nn.Linear(13, 3))
    loaders = default_data_loaders(splits, batch_size=7, standardize=True)  # 89 val rows: a smaller last batch
    results = Evaluator(model, CrossEntropy(), MetricSet(SPECS), loaders, splits=["train", "val"]).evaluate(torch.device("cpu"))
    with torch.no_grad():
        for split in ("train", "val"):
            x = loaders.scaler(torch.stack([splits[split][i][0] for i in range(len(splits[split]))]))
            y = torch.stack([splits[split][i][1] for i in range(len(splits[split]))])
            out = model(x)
            assert results[split]["losses"] == {"cross_entropy": pytest.approx(float(CrossEntropy()(out, y)),
                                                                              rel=1e-6)}
            assert results[split]["metrics"] == pytest.approx(MetricSet(SPECS).compute(out, y), abs=1e-6)
