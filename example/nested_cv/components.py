"""This example's own component: an MLP with batch normalisation for tabular data."""
from __future__ import annotations

import torch
from torch import nn

from mlgym.registry import component


@component("model", "tabular_mlp")
class TabularMLP(nn.Module):
    """Linear -> BatchNorm -> ReLU blocks, then a linear classifier; batch norm makes unscaled features trainable."""

    def __init__(self, input_dim: int, num_classes: int, hidden_dim: int = 32, num_layers: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.BatchNorm1d(input_dim)]
        width = input_dim
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU()]
            width = hidden_dim
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
