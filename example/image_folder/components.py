"""This example's own model, registered with MLgym's decorator and used from gs_config.yml by name."""
from __future__ import annotations

from typing import Annotated

import torch
from torch import nn

from mlgym.registry import component
from mlgym.registry.constraints import Positive


class ResidualBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus the input (through a strided 1x1 conv + BN when the shape changes), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels))
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                      nn.BatchNorm2d(out_channels))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.skip(x))


@component("model", "resnet_small")
class ResNetSmall(nn.Module):
    """A small ResNet for small images: a 3x3 conv stem, one stage of `blocks_per_stage` residual blocks per entry
    of `channels` (every stage after the first halves the image), global average pooling and a linear head."""

    def __init__(self, in_channels: Annotated[int, Positive] = 3, num_classes: Annotated[int, Positive] = 10,
                 channels: list[int] = [16, 32, 64], blocks_per_stage: Annotated[int, Positive] = 1) -> None:
        super().__init__()
        if not channels or any(c <= 0 for c in channels):
            raise ValueError(f"channels must be a non-empty list of widths > 0, got {channels}")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels[0]), nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        width = channels[0]
        for stage, out in enumerate(channels):
            for block in range(blocks_per_stage):
                blocks.append(ResidualBlock(width, out, stride=2 if stage > 0 and block == 0 else 1))
                width = out
        self.stages = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))
