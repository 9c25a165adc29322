"""What flows on an edge of an encoder tree: a vector, a time series, an image or token ids.

A signal is the per-sample shape of a tensor (the batch dimension is implicit). Shape
inference runs a tree on signals, so mismatches are found before anything is trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from evo_lacer.errors import ShapeError

SignalKind = Literal["vector", "sequence", "image", "tokens"]
SIGNAL_KINDS: tuple[SignalKind, ...] = ("vector", "sequence", "image", "tokens")


@dataclass(frozen=True)
class Vector:
    """A flat feature vector of `d` features: tensors `(B, d)`."""

    d: int
    kind: SignalKind = "vector"

    def shape(self) -> tuple[int, ...]:
        return (self.d,)

    def __str__(self) -> str:
        return f"Vector({self.d})"


@dataclass(frozen=True)
class Sequence:
    """A time series of `t` steps with `d` features each: tensors `(B, t, d)`."""

    t: int
    d: int
    kind: SignalKind = "sequence"

    def shape(self) -> tuple[int, ...]:
        return (self.t, self.d)

    def __str__(self) -> str:
        return f"Sequence({self.t}, {self.d})"


@dataclass(frozen=True)
class Image:
    """A channels-first float image: tensors `(B, c, h, w)`."""

    c: int
    h: int
    w: int
    kind: SignalKind = "image"

    def shape(self) -> tuple[int, ...]:
        return (self.c, self.h, self.w)

    def __str__(self) -> str:
        return f"Image({self.c}, {self.h}, {self.w})"


@dataclass(frozen=True)
class Tokens:
    """`length` integer token ids in `[0, vocab)`: tensors `(B, length)` of dtype long."""

    length: int
    vocab: int
    kind: SignalKind = "tokens"

    def shape(self) -> tuple[int, ...]:
        return (self.length,)

    def __str__(self) -> str:
        return f"Tokens({self.length}, vocab={self.vocab})"


Signal = Vector | Sequence | Image | Tokens


def dummy(signal: Signal, batch: int = 2, device: str | torch.device = "cpu") -> torch.Tensor:
    """A random batch shaped like `signal`, for forward passes during shape inference."""
    if isinstance(signal, Tokens):
        return torch.randint(0, signal.vocab, (batch, signal.length), device=device)
    return torch.randn((batch, *signal.shape()), device=device)


def signal_of(tensor: torch.Tensor, where: str) -> Signal:
    """The signal a module's output tensor `(B, ...)` carries, judged from its rank."""
    if isinstance(tensor, tuple | list):
        raise ShapeError(f"{where}: module returned a {type(tensor).__name__}, expected a tensor")
    if not isinstance(tensor, torch.Tensor):
        raise ShapeError(f"{where}: module returned {type(tensor).__name__}, expected a tensor")
    shape = tuple(int(s) for s in tensor.shape[1:])
    if len(shape) == 1:
        return Vector(shape[0])
    if len(shape) == 2:
        return Sequence(shape[0], shape[1])
    if len(shape) == 3:
        return Image(shape[0], shape[1], shape[2])
    raise ShapeError(f"{where}: output of shape {tuple(tensor.shape)} is not a known signal")


def signal_from_json(data: dict[str, object]) -> Signal:
    """Inverse of `signal_to_json`."""
    kind = data.get("kind")
    try:
        if kind == "vector":
            return Vector(int(data["d"]))  # type: ignore[call-overload]
        if kind == "sequence":
            return Sequence(int(data["t"]), int(data["d"]))  # type: ignore[call-overload]
        if kind == "image":
            return Image(int(data["c"]), int(data["h"]), int(data["w"]))  # type: ignore[call-overload]
        if kind == "tokens":
            return Tokens(int(data["length"]), int(data["vocab"]))  # type: ignore[call-overload]
    except KeyError as exc:
        raise ShapeError(f"signal {data!r} lacks field {exc}") from None
    raise ShapeError(f"unknown signal kind {kind!r}; expected one of {SIGNAL_KINDS}")


def signal_to_json(signal: Signal) -> dict[str, object]:
    out: dict[str, object] = {"kind": signal.kind}
    out.update({k: v for k, v in signal.__dict__.items() if k != "kind"})
    return out
