"""Modules over time series `(B, T, d)` (channels-last): recurrent, convolutional and attention
encoders that keep the sequence, and poolings that turn it into a vector `(B, d')`."""

from __future__ import annotations

import torch
from torch import nn

from modules_zoo._common import activation as make_activation


class GRUEncoder(nn.Module):
    """GRU over time, returning every step's hidden state `(B, T, hidden)`."""

    accepts = ("sequence",)
    emits = "sequence"
    search_space = {"hidden": (16, 32, 64, 128), "layers": (1, 2)}

    def __init__(self, in_dim: int, hidden: int = 32, layers: int = 1) -> None:
        super().__init__()
        self.rnn = nn.GRU(in_dim, hidden, num_layers=layers, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]


class LSTMEncoder(nn.Module):
    """LSTM over time, returning every step's hidden state `(B, T, hidden)`."""

    accepts = ("sequence",)
    emits = "sequence"
    search_space = {"hidden": (16, 32, 64, 128), "layers": (1, 2)}

    def __init__(self, in_dim: int, hidden: int = 32, layers: int = 1) -> None:
        super().__init__()
        self.rnn = nn.LSTM(in_dim, hidden, num_layers=layers, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]


class Conv1dStack(nn.Module):
    """`depth` 1-D convolutions over time with `channels` filters; 'same' padding keeps `T`."""

    accepts = ("sequence",)
    emits = "sequence"
    search_space = {
        "channels": (16, 32, 64),
        "kernel": (3, 5, 7),
        "depth": (1, 2, 3),
        "activation": ("relu", "gelu", "swish", "tanh"),
    }

    def __init__(self, in_dim: int, channels: int = 32, kernel: int = 3, depth: int = 1,
                 activation: str = "relu") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        dim = in_dim
        for _ in range(depth):
            layers += [nn.Conv1d(dim, channels, kernel, padding="same"), make_activation(activation)]
            dim = channels
        self.net = nn.Sequential(*layers)
        self.depth = depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.transpose(1, 2)).transpose(1, 2)

    def exits(self, x: torch.Tensor, depth: int | None = None) -> list[torch.Tensor]:
        """The output `(B, T, channels)` as if the stack stopped after layer 1, 2, ..., `depth` (all by
        default): each layer's activation output (the last exit is `forward`'s)."""
        out: list[torch.Tensor] = []
        h = x.transpose(1, 2)
        for i in range(self.depth if depth is None else depth):
            h = self.net[2 * i + 1](self.net[2 * i](h))
            out.append(h.transpose(1, 2))
        return out



class _AttentionLayer(nn.Module):
    """One pre-norm self-attention + feed-forward layer with residual connections."""

    def __init__(self, width: int, heads: int, ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, width * ratio), nn.GELU(), nn.Linear(width * ratio, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.ff(self.norm2(x))


class AttentionBlock(nn.Module):
    """LACER's attention block: project to `heads * dim`, then `depth` layers of multi-head
    self-attention and a feed-forward net `ratio` times wider; output `(B, T, heads * dim)`."""

    accepts = ("sequence",)
    emits = "sequence"
    search_space = {"heads": (2, 4, 8), "dim": (8, 16, 32), "ratio": (1, 2, 4), "depth": (1, 2, 3)}

    def __init__(self, in_dim: int, heads: int = 2, dim: int = 16, ratio: int = 2, depth: int = 1) -> None:
        super().__init__()
        width = heads * dim
        self.proj = nn.Linear(in_dim, width)
        self.layers = nn.Sequential(*(_AttentionLayer(width, heads, ratio) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.layers(self.proj(x)))

    def exits(self, x: torch.Tensor, depth: int | None = None) -> list[torch.Tensor]:
        """The output as if the block stopped after layer 1, 2, ..., `depth` (all by default): the
        final norm of each layer's output (the last exit is `forward`'s)."""
        out: list[torch.Tensor] = []
        x = self.proj(x)
        for layer in list(self.layers)[:depth]:
            x = layer(x)
            out.append(self.norm(x))
        return out


class SequenceMLP(nn.Module):
    """The same small MLP applied to every time step: `(B, T, d) -> (B, T, width)`."""

    accepts = ("sequence",)
    emits = "sequence"
    search_space = {"width": (16, 32, 64, 128), "activation": ("relu", "gelu", "swish", "tanh")}

    def __init__(self, in_dim: int, width: int = 32, activation: str = "relu") -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, width), make_activation(activation))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LastStep(nn.Module):
    """The last time step's features `(B, d)`: what a recurrent encoder has summarized."""

    accepts = ("sequence",)
    emits = "vector"
    search_space = {}

    def __init__(self, in_dim: int) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1]


class MeanPool(nn.Module):
    """The mean over time `(B, d)`: order-free summary of the whole window."""

    accepts = ("sequence",)
    emits = "vector"
    search_space = {}

    def __init__(self, in_dim: int) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)


class AttentionPool(nn.Module):
    """A learned softmax weighting of the time steps `(B, d)`: the net picks which steps matter."""

    accepts = ("sequence",)
    emits = "vector"
    search_space = {}

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.score = nn.Linear(in_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.score(x), dim=1)
        return (weights * x).sum(dim=1)


class FlattenSequence(nn.Module):
    """All steps side by side `(B, T * d)`: keeps every value, for short windows."""

    accepts = ("sequence",)
    emits = "vector"
    search_space = {}

    def __init__(self, in_dim: int, seq_len: int) -> None:
        super().__init__()
        self.out_dim = in_dim * seq_len

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)
