"""Forced source kinds as a change of the source's space, so that the kind inferred from the new
space is the forced one everywhere (search, gate, SB3): e.g. ``vector`` flattens a table,
``sequence`` makes a vector a one-feature series, ``grid`` reads uint8 pixels as ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from evo_lacer.compile import infer_sources
from evo_lacer.errors import CompileError

Convert = Callable[[Any], Any]


class _Reshape:
    def __init__(self, shape: tuple[int, ...], dtype: Any, transpose: tuple[int, ...] | None = None) -> None:
        self.shape, self.dtype, self.transpose = shape, dtype, transpose

    def __call__(self, value: Any) -> np.ndarray:
        arr = np.asarray(value)
        if self.transpose is not None:
            arr = arr.transpose(self.transpose)
        return arr.reshape(self.shape).astype(self.dtype, copy=False)


class _OneHot:
    def __init__(self, nvec: tuple[int, ...], start: tuple[int, ...]) -> None:
        self.nvec, self.start = nvec, start

    def __call__(self, value: Any) -> np.ndarray:
        ids = np.asarray(value).reshape(-1) - np.asarray(self.start)
        return np.concatenate([np.eye(n, dtype=np.float32)[i] for i, n in zip(ids, self.nvec)])


def _box(space: spaces.Box, shape: tuple[int, ...], dtype: Any,
         transpose: tuple[int, ...] | None = None) -> tuple[spaces.Box, Convert]:
    convert = _Reshape(shape, dtype, transpose)
    low, high = convert(space.low), convert(space.high)
    return spaces.Box(low, high, shape, dtype), convert


def forced_kind(name: str, space: Any, kind: str) -> tuple[Any, Convert | None]:
    """The space of source ``name`` read as ``kind``, and the conversion of its values."""
    new: Any = space
    convert: Convert | None = None
    if isinstance(space, spaces.Discrete | spaces.MultiDiscrete) and kind == "vector":
        nvec = (int(space.n),) if isinstance(space, spaces.Discrete) else tuple(int(n) for n in space.nvec)
        start = (int(space.start),) if isinstance(space, spaces.Discrete) else tuple(
            int(s) for s in np.broadcast_to(space.start, space.nvec.shape))
        new, convert = spaces.Box(0.0, 1.0, (sum(nvec),), np.float32), _OneHot(nvec, start)
    elif isinstance(space, spaces.MultiBinary):
        dtype = np.int64 if kind == "tokens" else np.float32
        new, convert = _box(spaces.Box(0, 1, space.shape, dtype), (int(np.prod(space.shape)),), dtype)
    elif isinstance(space, spaces.Box):
        new, convert = _box_kind(space, kind)
    spec = infer_sources(spaces.Dict({name: new}))[name]
    got = "grid" if spec.rule == "grid" else spec.signal.kind
    if got != kind.split("_")[0]:
        raise CompileError(f"observation source {name!r}: {space} cannot be read as {kind!r} (it would be "
                           f"{got}); choose another kind, or a wrapper that changes the space")
    return new, convert


def _box_kind(space: spaces.Box, kind: str) -> tuple[spaces.Box, Convert | None]:
    shape = tuple(int(s) for s in space.shape)
    size = int(np.prod(shape))
    if kind == "vector":
        return _box(space, (size,), np.float32)
    if kind == "sequence":
        return _box(space, (shape[0] if shape else 1, max(size // max(shape[0] if shape else 1, 1), 1)),
                    np.float32)
    if kind == "tokens":
        return _box(space, (size,), np.int64)
    if kind == "grid":
        return _box(space, shape, np.int64)
    if kind == "image_hwc" and len(shape) == 3:
        return _box(space, (shape[2], shape[0], shape[1]), space.dtype, (2, 0, 1))
    if kind.startswith("image") and len(shape) == 2:
        dtype = space.dtype if space.dtype == np.uint8 else np.float32
        return _box(space, (1, *shape), dtype)
    return space, None
