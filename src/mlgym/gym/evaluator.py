"""The default evaluator: loss and metrics of the model on every evaluated split."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from mlgym.gym.device import to_device
from mlgym.registry import component


@component("evaluator", "default")
class Evaluator:
    """Scores `model` on `splits` (default: every split of `data_loaders` but `train_split`, whose loss the trainer
    reports from its training pass) with `loss` and `metrics`."""

    def __init__(self, model: torch.nn.Module, loss: Callable[..., Any], metrics: Any,
                 data_loaders: Mapping[str, Any], splits: list[str] | None = None,
                 train_split: str = "train") -> None:
        unknown = [s for s in (splits or []) if s not in data_loaders]
        if unknown:
            raise ValueError(f"splits {unknown} are not among the data loaders' splits {list(data_loaders)}")
        self.model = model
        self.loss = loss
        self.metrics = metrics
        self.data_loaders = data_loaders
        self.splits = list(splits) if splits else [s for s in data_loaders if s != train_split]

    @torch.no_grad()
    def evaluate(self, device: torch.device) -> dict[str, dict[str, dict[str, float]]]:
        """split -> {"metrics": {name: score}, "losses": {loss name: score}}."""
        self.model.eval()
        results = {}
        for split in self.splits:
            result = self.evaluate_split(split, device)
            if result is not None:
                results[split] = result
        return results

    def evaluate_split(self, split: str, device: torch.device) -> dict[str, dict[str, float]] | None:
        """One split's scores, accumulated batch by batch (None for an empty split).

        The metrics stream (`MetricSet.split_scores`), and the loss is the sample-weighted mean of the batch
        losses, so memory does not grow with the split unless a whole-split metric is configured.
        """
        scores = self.metrics.split_scores()
        loss_sum, count = 0.0, 0
        for x, y in self.data_loaders[split]:
            outputs, targets = self.model(to_device(x, device)), to_device(y, device)
            n = len(targets)
            loss_sum += float(self.loss(outputs, targets)) * n
            count += n
            scores.update(outputs, targets)
        if count == 0:
            return None
        loss_name = getattr(self.loss, "name", type(self.loss).__name__)
        return {"metrics": scores.compute(), "losses": {loss_name: loss_sum / count}}
