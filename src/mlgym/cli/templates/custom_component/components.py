"""This project's own components. A component is a class (or function) registered with `@component(kind, variant)`;
gs_config.yml then uses it by name (`component_type_key: model`, `variant_key: my_mlp`) and `config:` passes its
constructor's arguments, checked against the signature and type hints before anything trains.

gs_config.yml names this module under `python_modules: [components]`, so `mlgym validate|train|warmstart` and
every worker process import it before the registry is used; no run.py is needed.
"""
from __future__ import annotations

import torch
from torch import nn

from mlgym.registry import component


@component("model", "my_mlp")
class MyMLP(nn.Module):
    """Linear -> BatchNorm -> ReLU blocks and a linear classifier; batch norm makes unscaled features trainable."""

    def __init__(self, input_dim: int, num_classes: int, hidden_dim: int = 32, num_layers: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = input_dim
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU()]
            width = hidden_dim
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
