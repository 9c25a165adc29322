"""Fusion modules: merge the branch vectors `[(B, d_i)]` into one vector `(B, width)`."""

from __future__ import annotations

import torch
from torch import nn

from modules_zoo._common import activation as make_activation


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
            layers += [nn.Linear(dim, width), make_activation(activation)]
            dim = width
        self.net = nn.Sequential(*layers) if layers else nn.Identity()

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.net(torch.cat(inputs, dim=-1))



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


class GatedSum(nn.Module):
    """Project each branch to `width` and add them, each weighted per feature by a sigmoid gate
    computed from all branches: the net learns which source to trust for which feature."""

    accepts = ("vector",)
    emits = "vector"
    search_space = {"width": (32, 64, 128, 256)}

    def __init__(self, in_dims: tuple[int, ...], width: int = 64) -> None:
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(d, width) for d in in_dims)
        self.gate = nn.Linear(sum(in_dims), width * len(in_dims))
        self.width = width

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        gates = torch.sigmoid(self.gate(torch.cat(inputs, dim=-1)))
        gates = gates.view(gates.shape[0], len(inputs), self.width)
        projected = torch.stack([p(x) for p, x in zip(self.proj, inputs)], dim=1)
        return (gates * projected).sum(dim=1)


class CrossAttentionFusion(nn.Module):
    """Each branch, projected to `width`, is one token; multi-head attention lets the sources
    read each other, then the tokens are averaged `(B, width)`."""

    accepts = ("vector",)
    emits = "vector"
    search_space = {"width": (32, 64, 128, 256), "heads": (1, 2, 4)}

    def __init__(self, in_dims: tuple[int, ...], width: int = 64, heads: int = 2) -> None:
        super().__init__()
        self.proj = nn.ModuleList(nn.Linear(d, width) for d in in_dims)
        self.source = nn.Parameter(torch.zeros(len(in_dims), width))
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm = nn.LayerNorm(width)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        tokens = torch.stack([p(x) for p, x in zip(self.proj, inputs)], dim=1) + self.source
        mixed = self.norm(tokens + self.attn(tokens, tokens, tokens, need_weights=False)[0])
        return mixed.mean(dim=1)


class FiLMFusion(nn.Module):
    """FiLM: the `condition_source` branch (e.g. a text instruction) yields a per-feature scale
    and shift that modulate the projection of the other branches `(B, width)`.

    `condition_source` names one of the encoder's sources; when it is empty or not among
    `sources`, the first source conditions. With a single branch it conditions itself."""

    accepts = ("vector",)
    emits = "vector"
    search_space = {"condition_source": "@sources", "width": (32, 64, 128, 256)}

    def __init__(self, in_dims: tuple[int, ...], sources: tuple[str, ...], condition_source: str = "",
                 width: int = 64) -> None:
        super().__init__()
        names = tuple(sources)
        self.cond = names.index(condition_source) if condition_source in names else 0
        others = [i for i in range(len(in_dims)) if i != self.cond] or [self.cond]
        self.others = others
        self.body = nn.Linear(sum(in_dims[i] for i in others), width)
        self.film = nn.Linear(in_dims[self.cond], 2 * width)
        self.act = nn.ReLU()

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        h = self.body(torch.cat([inputs[i] for i in self.others], dim=-1))
        scale, shift = self.film(inputs[self.cond]).chunk(2, dim=-1)
        return self.act((1.0 + scale) * h + shift)
