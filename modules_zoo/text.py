"""Modules over token ids `(B, L)` (dtype long, id 0 is padding): text instructions and other
token strings, embedded and summarized into a vector or kept as an embedded sequence."""

from __future__ import annotations

import torch
from torch import nn


def _last_token(ids: torch.Tensor) -> torch.Tensor:
    """Index of each row's last non-padding token (0 when a row is all padding)."""
    positions = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
    return (positions * (ids != 0)).amax(dim=1)


def _masked_mean(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean of `x` `(B, L, d)` over non-padding positions (over all when a row is all padding)."""
    keep = (ids != 0).unsqueeze(-1).to(x.dtype)
    keep = torch.where(keep.sum(dim=1, keepdim=True) > 0, keep, torch.ones_like(keep))
    return (x * keep).sum(dim=1) / keep.sum(dim=1)


class EmbedGRU(nn.Module):
    """Embed tokens, run a GRU, keep the hidden state at the last non-padding token `(B, hidden)`."""

    accepts = ("tokens",)
    emits = "vector"
    search_space = {"dim": (8, 16, 32, 64), "hidden": (16, 32, 64, 128)}

    def __init__(self, vocab_size: int, dim: int = 16, hidden: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.rnn = nn.GRU(dim, hidden, batch_first=True)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out = self.rnn(self.embed(ids))[0]
        return out[torch.arange(out.shape[0], device=out.device), _last_token(ids)]


class EmbedMeanPool(nn.Module):
    """Bag of embeddings: the mean embedding of the non-padding tokens `(B, dim)`."""

    accepts = ("tokens",)
    emits = "vector"
    search_space = {"dim": (8, 16, 32, 64)}

    def __init__(self, vocab_size: int, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return _masked_mean(self.embed(ids), ids)


class TokenEmbedding(nn.Module):
    """Token plus learned position embeddings `(B, L, dim)`, to feed sequence modules."""

    accepts = ("tokens",)
    emits = "sequence"
    search_space = {"dim": (8, 16, 32, 64)}

    def __init__(self, vocab_size: int, seq_len: int, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.position = nn.Parameter(torch.zeros(seq_len, dim))
        nn.init.normal_(self.position, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embed(ids) + self.position[: ids.shape[1]]


class TinyTransformer(nn.Module):
    """A small transformer encoder over embedded tokens (padding masked), mean-pooled `(B, dim)`."""

    accepts = ("tokens",)
    emits = "vector"
    search_space = {"dim": (16, 32, 64), "heads": (1, 2, 4), "depth": (1, 2)}

    def __init__(self, vocab_size: int, seq_len: int, dim: int = 16, heads: int = 2, depth: int = 1) -> None:
        super().__init__()
        self.tokens = TokenEmbedding(vocab_size, seq_len, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pad = ids == 0
        pad = pad & ~pad.all(dim=1, keepdim=True)  # an all-padding row attends everywhere
        return _masked_mean(self.encoder(self.tokens(ids), src_key_padding_mask=pad), ids)
