"""Per-source input converters: raw observation values -> the tensor a branch takes.

Each converter is a small picklable callable chosen once at compile time (no per-call
dispatch on the rule); it is called as ``convert(x, device, dtype)`` with the encoder's
device and float dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from evo_lacer.compile._spaces import SourceSpec
from evo_lacer.compile._words import WordTokenizer
from evo_lacer.errors import CompileError

Converter = Callable[[Any, torch.device, torch.dtype], torch.Tensor]


class FloatInput:
    """Cast to the float dtype; reshape to the signal when the raw shape differs."""

    def __init__(self, shape: tuple[int, ...] | None) -> None:
        self.shape = shape

    def __call__(self, x: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        t = torch.as_tensor(x, dtype=dtype, device=device)
        return t if self.shape is None else t.reshape(t.shape[0], *self.shape)


class ImageInput:
    """Cast, move channels first (HWC inputs) and scale (uint8 inputs)."""

    def __init__(self, hwc: bool, scale: float | None, add_channel: bool) -> None:
        self.hwc, self.scale, self.add_channel = hwc, scale, add_channel

    def __call__(self, x: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        t = torch.as_tensor(x, device=device)
        if self.add_channel:
            t = t.unsqueeze(1)
        elif self.hwc:
            t = t.permute(0, 3, 1, 2)
        t = t.to(dtype, memory_format=torch.contiguous_format)
        return t if self.scale is None else t * self.scale


class TokenInput:
    """Token ids as long, `(B, length)`; `offsets` are subtracted (Discrete ``start``)."""

    def __init__(self, length: int, offsets: tuple[int, ...] = ()) -> None:
        self.length = length
        self.offsets = offsets if any(offsets) else ()

    def __call__(self, x: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        t = torch.as_tensor(x, device=device).long().reshape(-1, self.length)
        if self.offsets:
            t = t - torch.tensor(self.offsets, device=device)
        return t


class OneHotInput:
    """Integers -> concatenated one-hot vectors (a Discrete/MultiDiscrete read as a vector)."""

    def __init__(self, nvec: tuple[int, ...], offsets: tuple[int, ...]) -> None:
        self.ids = TokenInput(len(nvec), offsets)
        self.nvec = nvec

    def __call__(self, x: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        ids = self.ids(x, device, dtype)
        parts = [F.one_hot(ids[:, i], n) for i, n in enumerate(self.nvec)]
        return torch.cat(parts, dim=1).to(dtype)


class OneHotIdsInput:
    """SB3's one-hot encoding of Discrete/MultiDiscrete -> ids `(B, len(nvec))`."""

    def __init__(self, nvec: tuple[int, ...]) -> None:
        self.nvec = list(nvec)

    def __call__(self, x: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        t = torch.as_tensor(x, device=device)
        t = t.reshape(t.shape[0], -1)  # SB3's buffers give Discrete one-hots as (B, 1, n)
        if len(self.nvec) == 1:
            return t.argmax(dim=1, keepdim=True)
        return torch.stack([p.argmax(dim=1) for p in t.split(self.nvec, dim=1)], dim=1)


class TextInput:
    """Character tokenizer: strings -> ids `(B, max_length)`; id 0 pads (and stands for
    characters outside the charset). Long tensors of ids pass through."""

    def __init__(self, charset: tuple[str, ...], max_length: int) -> None:
        self.index = {c: i + 1 for i, c in enumerate(charset)}
        self.max_length = max_length

    def encode(self, text: str) -> list[int]:
        ids = [self.index.get(c, 0) for c in text[: self.max_length]]
        return ids + [0] * (self.max_length - len(ids))

    def __call__(self, x: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            return x.to(device).long().reshape(-1, self.max_length)
        if isinstance(x, str):
            x = [x]
        texts = list(np.asarray(x, dtype=object).reshape(-1))
        return torch.tensor([self.encode(str(s)) for s in texts], dtype=torch.long, device=device)


class WordInput:
    """Word tokenizer (`WordTokenizer`): strings -> ids `(B, length)`; long tensors and arrays of
    ids (from `evo_lacer.envs.SourcesWrapper`) pass through."""

    def __init__(self, words: tuple[str, ...], length: int, buckets: int) -> None:
        self.tokenizer = WordTokenizer(words, length, buckets)
        self.length = length

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def __call__(self, x: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        if isinstance(x, str):
            x = [x]
        arr = x if isinstance(x, torch.Tensor) else np.asarray(x, dtype=object)
        if isinstance(arr, torch.Tensor) or arr.dtype != object or not isinstance(arr.reshape(-1)[0], str):
            return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x,
                                   device=device).long().reshape(-1, self.length)
        return torch.tensor([self.encode(str(s)) for s in arr.reshape(-1)], dtype=torch.long, device=device)


class GridInput:
    """Categorical grid: integer ids (HWC moved channels-first; SB3's ``/255`` undone by
    `unscale`) minus `offset`, wrapped modulo `per` -> `per` one-hot channels per channel."""

    def __init__(self, hwc: bool, unscale: float | None, offset: int, per: int, add_channel: bool) -> None:
        self.hwc, self.unscale, self.offset = hwc, unscale, offset
        self.per, self.add_channel = per, add_channel

    def __call__(self, x: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        t = torch.as_tensor(x, device=device)
        if self.unscale is not None:
            t = torch.round(t.float() * self.unscale)
        t = t.long() - self.offset
        if self.add_channel:
            t = t.unsqueeze(1)
        elif self.hwc:
            t = t.permute(0, 3, 1, 2)
        hot = F.one_hot(torch.remainder(t, self.per), self.per)  # (B, C, H, W, per)
        b, c, h, w, p = hot.shape
        return hot.permute(0, 1, 4, 2, 3).reshape(b, c * p, h, w).to(dtype)


class Batched:
    """Refuses one observation given without its batch dimension (as many dims as one sample of the
    source has), which would otherwise fail deep in a branch; then converts with `convert`."""

    def __init__(self, convert: Converter, name: str, shape: tuple[int, ...]) -> None:
        self.convert, self.name, self.shape = convert, name, shape

    def __call__(self, x: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        ndim = x.ndim if hasattr(x, "ndim") else np.ndim(x)
        if ndim == len(self.shape):
            got = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
            raise CompileError(
                f"observation source {self.name!r}: got shape {got}, one observation; the encoder takes "
                f"a batch of shape (B{''.join(f', {d}' for d in self.shape)}): add a batch dimension "
                "(obs[None] for one observation, on every source of a dict)")
        return self.convert(x, device, dtype)


def make_input(spec: SourceSpec) -> Converter:
    """The converter for `spec`'s rule (string rules aside, checked for a batch dimension)."""
    convert = _convert(spec)
    return convert if spec.rule in ("text", "words") else Batched(convert, spec.name, spec.shape)


def _convert(spec: SourceSpec) -> Converter:
    shape = spec.signal.shape()
    if spec.rule == "float":
        return FloatInput(None if spec.shape == shape else shape)
    if spec.rule == "image":
        return ImageInput(spec.hwc, spec.scale, len(spec.shape) == 2)
    if spec.rule in ("tokens", "discrete"):
        return TokenInput(shape[0], spec.offsets)
    if spec.rule == "onehot":
        return OneHotInput(spec.nvec, spec.offsets)
    if spec.rule == "onehot_ids":
        return OneHotIdsInput(spec.nvec)
    if spec.rule == "text":
        return TextInput(spec.charset, shape[0])
    if spec.rule == "words":
        return WordInput(spec.charset, shape[0], spec.nvec[0])
    if spec.rule == "grid":
        return GridInput(spec.hwc, spec.scale, spec.offsets[0], spec.nvec[0], len(spec.shape) == 2)
    raise CompileError(f"source {spec.name!r}: unknown input rule {spec.rule!r}")
