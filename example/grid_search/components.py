"""This example's own components, registered with MLgym's decorator and used from gs_config.yml by name."""
from __future__ import annotations

import torch
from torch import nn

from mlgym.registry import component


@component("collator", "digits_image")
class DigitsImageCollator:
    """Stacks flat 64-pixel digits into a (batch, 1, 8, 8) image tensor scaled to [0, 1]."""

    def __init__(self, max_pixel_value: float = 16.0) -> None:
        self.max_pixel_value = max_pixel_value

    def __call__(self, batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = torch.stack([x for x, _ in batch]).view(-1, 1, 8, 8) / self.max_pixel_value
        return inputs, torch.stack([y for _, y in batch])


@component("model", "digits_conv_net")
class DigitsConvNet(nn.Module):
    """Two 3x3 convolutions, a pooling step and a small classifier head for 8x8 digits."""

    def __init__(self, channels: int = 16, hidden_dim: int = 64, num_classes: int = 10, dropout: float = 0.1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * channels * 16, hidden_dim),
                                  nn.ReLU(), nn.Linear(hidden_dim, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
