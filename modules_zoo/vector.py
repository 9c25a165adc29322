"""Modules over flat feature vectors `(B, d)`."""

from __future__ import annotations

import torch
from torch import nn

from modules_zoo._common import activation as make_activation


class MLPBlock(nn.Module):
    """Feed-forward block (LACER's vector space): `depth` layers of width `width * ratio`,
    projected back to `width`, with the chosen activation."""

    accepts = ("vector",)
    emits = "vector"
    search_space = {
        "width": (16, 32, 64, 128, 256),
        "ratio": (1, 2, 4),
        "depth": (1, 2, 3),
        "activation": ("relu", "gelu", "swish", "tanh"),
    }

    def __init__(self, in_dim: int, width: int = 64, ratio: int = 1, depth: int = 1,
                 activation: str = "relu") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        dim = in_dim
        hidden = width * ratio
        for _ in range(depth):
            layers += [nn.Linear(dim, hidden), make_activation(activation)]
            dim = hidden
        if hidden != width:
            layers.append(nn.Linear(hidden, width))
        self.net = nn.Sequential(*layers)
        self.depth, self.projected = depth, hidden != width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def exits(self, x: torch.Tensor, depth: int | None = None) -> list[torch.Tensor]:
        """The output as if the block stopped after layer 1, 2, ..., `depth` (all by default): each
        hidden state through the final projection when there is one (the last exit is `forward`'s)."""
        out: list[torch.Tensor] = []
        for i in range(self.depth if depth is None else depth):
            x = self.net[2 * i + 1](self.net[2 * i](x))
            out.append(self.net[-1](x) if self.projected else x)
        return out



class LinearLayer(nn.Module):
    """A single affine map to `width` features."""

    accepts = ("vector",)
    emits = "vector"
    search_space = {"width": (16, 32, 64, 128, 256)}

    def __init__(self, in_dim: int, width: int = 64) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class LayerNormBlock(nn.Module):
    """Layer normalization over the features (keeps the width)."""

    accepts = ("vector",)
    emits = "vector"
    search_space = {"affine": (True, False)}

    def __init__(self, in_dim: int, affine: bool = True) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(in_dim, elementwise_affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


class Activation(nn.Module):
    """A pointwise nonlinearity (keeps the width)."""

    accepts = ("vector",)
    emits = "vector"
    search_space = {"activation": ("relu", "gelu", "swish", "tanh")}

    def __init__(self, in_dim: int, activation: str = "relu") -> None:
        super().__init__()
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x)
