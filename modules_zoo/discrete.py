"""Modules over discrete codes `(B, L)` (dtype long; e.g. a gymnasium `Discrete` or
`MultiDiscrete` observation): one-hot or embedded, flattened into a vector."""

from __future__ import annotations

import torch
from torch import nn


class OneHot(nn.Module):
    """One-hot code of every position, concatenated `(B, L * vocab_size)`: no parameters."""

    accepts = ("tokens",)
    emits = "vector"
    search_space = {}

    def __init__(self, vocab_size: int, seq_len: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(ids.long(), self.vocab_size).flatten(1).float()


class DiscreteEmbedding(nn.Module):
    """A learned `dim`-vector per code, concatenated over positions `(B, L * dim)`."""

    accepts = ("tokens",)
    emits = "vector"
    search_space = {"dim": (4, 8, 16, 32)}

    def __init__(self, vocab_size: int, seq_len: int, dim: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embed(ids.long()).flatten(1)
