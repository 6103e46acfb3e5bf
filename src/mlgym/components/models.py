"""Built-in models: a multi-layer perceptron and a small ConvNet for small images (e.g. 8x8 digits)."""
from __future__ import annotations

from typing import Annotated, Literal

import torch
from torch import nn

from mlgym.registry import component
from mlgym.registry.constraints import Positive

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


def _positive(**values: int) -> None:
    bad = {k: v for k, v in values.items() if v <= 0}
    if bad:
        raise ValueError(f"must be > 0: {bad}")


def _check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")


@component("model", "mlp")
class MLP(nn.Module):
    """Linear -> activation -> dropout for each hidden layer, then a linear output layer (logits)."""

    def __init__(self, input_dim: Annotated[int, Positive], output_dim: Annotated[int, Positive],
                 hidden_dims: list[int] = [64], dropout: float = 0.0,
                 activation: Literal["relu", "gelu", "tanh"] = "relu") -> None:
        super().__init__()
        _positive(input_dim=input_dim, output_dim=output_dim, **{f"hidden_dims[{i}]": h
                                                                for i, h in enumerate(hidden_dims)})
        _check_dropout(dropout)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{activation}'; known: {', '.join(ACTIVATIONS)}")
        layers: list[nn.Module] = []
        width = input_dim
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, output_dim))
        self.input_dim = input_dim
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(len(x), -1))


@component("model", "conv_net")
class ConvNet(nn.Module):
    """3x3 conv + batch norm + ReLU blocks (2x2 max-pool after each while the image is at least 4 px wide),
    then a one-hidden-layer head. Batch norm makes it converge in a few epochs at Adam's default lr.

    Accepts images `(N, C, H, W)` or flat rows `(N, C*H*W)`, which are reshaped to `image_size` squares.
    """

    def __init__(self, in_channels: Annotated[int, Positive] = 1, image_size: Annotated[int, Positive] = 8,
                 num_classes: Annotated[int, Positive] = 10, channels: list[int] = [16, 32],
                 hidden_dim: Annotated[int, Positive] = 64, dropout: float = 0.0,
                 batch_norm: bool = True) -> None:
        super().__init__()
        _positive(in_channels=in_channels, image_size=image_size, num_classes=num_classes, hidden_dim=hidden_dim,
                  **{f"channels[{i}]": c for i, c in enumerate(channels)})
        _check_dropout(dropout)
        blocks: list[nn.Module] = []
        width, size = in_channels, image_size
        for out in channels:
            blocks.append(nn.Conv2d(width, out, kernel_size=3, padding=1))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(out))
            blocks.append(nn.ReLU())
            if size >= 4:
                blocks.append(nn.MaxPool2d(2))
                size //= 2
            width = out
        self.in_channels, self.image_size = in_channels, image_size
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(width * size * size, hidden_dim), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(hidden_dim, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            x = x.reshape(len(x), self.in_channels, self.image_size, self.image_size)
        return self.head(self.features(x))
