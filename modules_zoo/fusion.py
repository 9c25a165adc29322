"""Fusion modules: merge the branch vectors `[(B, d_i)]` into one vector `(B, width)`."""

from __future__ import annotations

import torch
from torch import nn

from modules_zoo._common import activation


class ConcatMLP(nn.Module):
    """Concatenate the branch features, then an MLP to `width` (LACER's default fusion)."""

    accepts = ("vector",)
    emits = "vector"
    search_space = {
        "width": (32, 64, 128, 256),
        "depth": (0, 1, 2),
        "activation": ("relu", "gelu", "swish", "tanh"),
    }

    def __init__(self, in_dims: tuple[int, ...], width: int = 64, depth: int = 1,
                 activation: str = "relu") -> None:
        super().__init__()
        dim = sum(in_dims)
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(dim, width), _act(activation)]
            dim = width
        self.net = nn.Sequential(*layers) if layers else nn.Identity()

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.net(torch.cat(inputs, dim=-1))


def _act(name: str) -> nn.Module:
    return activation(name)


class SumFusion(nn.Module):
    """Project each branch to `width` and add them."""

    accepts = ("vector",)
    emits = "vector"
    search_space = {"width": (32, 64, 128, 256)}

    def __init__(self, in_dims: tuple[int, ...], width: int = 64) -> None:
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(d, width) for d in in_dims)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack([p(x) for p, x in zip(self.proj, inputs)], dim=0).sum(dim=0)
