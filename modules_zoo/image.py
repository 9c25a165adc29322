"""Modules over channels-first images `(B, C, H, W)` with values in [0, 1]: convolutional
feature maps that stay images, and poolings / CNN heads that turn them into a vector."""

from __future__ import annotations

import torch
from torch import nn

from modules_zoo._common import activation as make_activation


class ConvStack(nn.Module):
    """`depth` strided 2-D convolutions with `channels` filters (padding `kernel // 2`, so each
    layer shrinks the image by `stride` and never below 1 pixel)."""

    accepts = ("image",)
    emits = "image"
    search_space = {
        "channels": (8, 16, 32, 64),
        "kernel": (3, 5),
        "stride": (1, 2),
        "depth": (1, 2, 3),
        "activation": ("relu", "gelu", "swish", "tanh"),
    }

    def __init__(self, in_channels: int, channels: int = 16, kernel: int = 3, stride: int = 2,
                 depth: int = 2, activation: str = "relu") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        dim = in_channels
        for _ in range(depth):
            conv = nn.Conv2d(dim, channels, kernel, stride=stride, padding=kernel // 2)
            layers += [conv, make_activation(activation)]
            dim = channels
        self.net = nn.Sequential(*layers)
        self.depth = depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def exits(self, x: torch.Tensor, depth: int | None = None) -> list[torch.Tensor]:
        """The output as if the stack stopped after layer 1, 2, ..., `depth` (all by default): each
        layer's activation output (the last exit is `forward`'s)."""
        out: list[torch.Tensor] = []
        for i in range(self.depth if depth is None else depth):
            x = self.net[2 * i + 1](self.net[2 * i](x))
            out.append(x)
        return out



class ResidualConvBlock(nn.Module):
    """Two 3x3 convolutions with a skip connection (ResNet basic block; keeps the shape)."""

    accepts = ("image",)
    emits = "image"
    search_space = {"activation": ("relu", "gelu", "swish", "tanh")}

    def __init__(self, in_channels: int, activation: str = "relu") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(in_channels, in_channels, 3, padding=1)
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


class GlobalAvgPool(nn.Module):
    """Mean of each channel over the image `(B, C)`: translation-invariant summary."""

    accepts = ("image",)
    emits = "vector"
    search_space = {}

    def __init__(self, in_channels: int) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class GlobalMaxPool(nn.Module):
    """Maximum of each channel over the image `(B, C)`: whether a feature appears anywhere."""

    accepts = ("image",)
    emits = "vector"
    search_space = {}

    def __init__(self, in_channels: int) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=(2, 3))


class NatureCNN(nn.Module):
    """The DQN/SB3 NatureCNN (8x8/4, 4x4/2, 3x3/1 convolutions, then a linear layer to `width`);
    needs images of at least 36x36 pixels."""

    accepts = ("image",)
    emits = "vector"
    search_space = {"width": (64, 128, 256, 512)}
    min_input = {"in_height": 36, "in_width": 36}

    def __init__(self, in_channels: int, in_height: int, in_width: int, width: int = 256) -> None:
        super().__init__()
        if in_height < 36 or in_width < 36:
            raise ValueError(f"NatureCNN needs images of at least 36x36 pixels, got {in_height}x{in_width}")
        self.cnn = nn.Sequential(
            nn.Conv2d(in_channels, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )
        flat = 64 * _nature_size(in_height) * _nature_size(in_width)
        self.head = nn.Sequential(nn.Linear(flat, width), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.cnn(x))


def _nature_size(size: int) -> int:
    """Spatial size after NatureCNN's three convolutions (8/4, 4/2, 3/1, no padding)."""
    for kernel, stride in ((8, 4), (4, 2), (3, 1)):
        size = (size - kernel) // stride + 1
    return size


class SpatialSoftmax(nn.Module):
    """Expected (x, y) position of each channel's softmax over the image `(B, 2 * C)`: keypoints
    that say *where* features are, for control from pixels."""

    accepts = ("image",)
    emits = "vector"
    search_space = {"temperature": (0.5, 1.0, 2.0)}

    def __init__(self, in_channels: int, temperature: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        weights = torch.softmax(x.reshape(b, c, h * w) / self.temperature, dim=-1).reshape(b, c, h, w)
        ys = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(-1.0, 1.0, w, device=x.device, dtype=x.dtype)
        ex = (weights.sum(dim=2) * xs).sum(dim=-1)
        ey = (weights.sum(dim=3) * ys).sum(dim=-1)
        return torch.cat([ex, ey], dim=1)
