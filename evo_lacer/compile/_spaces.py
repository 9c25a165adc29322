"""Observation spaces -> sources: the signal each source carries and how raw values become it.

A gymnasium ``Dict`` gives one source per key; any other space is one source named ``"obs"``.
The kind of each source is inferred from its space (see `infer_sources`) and may be forced
with ``kinds={"key": "vector"}`` (e.g. to flatten a time series into one vector).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from gymnasium import spaces

from evo_lacer.errors import CompileError
from evo_lacer.signals import Image, Sequence, Signal, Tokens, Vector

SINGLE_SOURCE = "obs"
#: Values `kinds=` accepts: a signal kind, or an image with its layout stated.
KIND_CHOICES = ("vector", "sequence", "image", "image_hwc", "image_chw", "tokens")
#: An integer Box whose values need a larger vocabulary is read as numbers, not token ids.
MAX_VOCAB = 1 << 20

InputRule = Literal["float", "image", "tokens", "discrete", "onehot", "text", "onehot_ids"]


@dataclass(frozen=True)
class SourceSpec:
    """One observation source: the signal it feeds its branch and the rule that makes it.

    Rules: ``float`` (cast, reshaped to the signal), ``image`` (cast, HWC->CHW when `hwc`,
    times `scale`), ``tokens`` (cast to long ids), ``discrete`` (integers minus `offsets`),
    ``onehot`` (integers -> concatenated one-hot vectors over `nvec`), ``text`` (strings ->
    character ids over `charset`, 0 = padding), ``onehot_ids`` (SB3's one-hot -> ids).
    """

    name: str
    signal: Signal
    rule: InputRule
    space: str = ""
    """The gymnasium space, as text (for messages)."""
    shape: tuple[int, ...] = ()
    """Per-sample shape of the raw values."""
    hwc: bool = False
    scale: float | None = None
    nvec: tuple[int, ...] = ()
    offsets: tuple[int, ...] = ()
    charset: tuple[str, ...] = ()

    def describe(self) -> str:
        extra = ""
        if self.rule == "image":
            extra = (" HWC->CHW" if self.hwc else "") + (f" x{self.scale:.5g}" if self.scale else "")
        return f"{self.name}: {self.signal} <- {self.space} ({self.rule}{extra})"


def _fail(key: str, space: Any, why: str) -> CompileError:
    return CompileError(
        f"observation source {key!r}: {space} {why}. Pass kinds={{{key!r}: KIND}} with KIND one of "
        f"{KIND_CHOICES}, or flatten the space (gymnasium.wrappers.FlattenObservation)"
    )


def _image_layout(shape: tuple[int, ...]) -> bool:
    """True when a 3-D shape looks HWC: last dim in {1, 3, 4} and smaller than the first two."""
    return shape[-1] in (1, 3, 4) and shape[-1] < shape[0] and shape[-1] < shape[1]


def _integral_bounds(space: spaces.Box) -> tuple[int, int] | None:
    low, high = np.asarray(space.low, dtype=np.float64), np.asarray(space.high, dtype=np.float64)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        return None
    if np.any(low != np.floor(low)) or np.any(high != np.floor(high)):
        return None
    return int(low.min()), int(high.max())


def _box(key: str, space: spaces.Box, kind: str | None, normalize_images: bool) -> SourceSpec:
    shape = tuple(int(s) for s in space.shape)
    size = math.prod(shape)
    is_int = np.issubdtype(space.dtype, np.integer)
    text = str(space)
    if kind is None:
        bounds = _integral_bounds(space) if is_int else None
        if len(shape) == 1 and bounds is not None and bounds[0] >= 0 and bounds[1] + 1 <= MAX_VOCAB:
            kind = "tokens"
        elif len(shape) <= 1:
            kind = "vector"
        elif len(shape) == 2:
            kind = "sequence"
        elif len(shape) == 3:
            kind = "image"
        else:
            raise _fail(key, space, f"has {len(shape)} dimensions, which no signal kind takes")
    if kind == "vector":
        return SourceSpec(key, Vector(size), "float", text, shape)
    if kind == "sequence":
        if len(shape) == 0:
            raise _fail(key, space, "is a scalar, not a time series")
        seq = Sequence(shape[0], 1 if len(shape) == 1 else math.prod(shape[1:]))
        return SourceSpec(key, seq, "float", text, shape)
    if kind.startswith("image"):
        scale = 1.0 / 255.0 if normalize_images and space.dtype == np.uint8 else None
        if len(shape) == 2:
            return SourceSpec(key, Image(1, shape[0], shape[1]), "image", text, shape, scale=scale)
        if len(shape) != 3:
            raise _fail(key, space, "is not an image (images are 2-D or 3-D boxes)")
        hwc = _image_layout(shape) if kind == "image" else kind == "image_hwc"
        c, h, w = (shape[2], shape[0], shape[1]) if hwc else shape
        return SourceSpec(key, Image(c, h, w), "image", text, shape, hwc=hwc, scale=scale)
    if kind == "tokens":
        bounds = _integral_bounds(space)
        if bounds is None or bounds[0] < 0 or bounds[1] + 1 > MAX_VOCAB:
            raise _fail(key, space, f"cannot be token ids (needs integer bounds in [0, {MAX_VOCAB}))")
        return SourceSpec(key, Tokens(size, bounds[1] + 1), "tokens", text, shape)
    raise _fail(key, space, f"cannot be read as {kind!r}")


def _discrete(key: str, space: spaces.Discrete | spaces.MultiDiscrete, kind: str | None) -> SourceSpec:
    nvec: tuple[int, ...]
    offsets: tuple[int, ...]
    shape: tuple[int, ...]
    if isinstance(space, spaces.Discrete):
        nvec, offsets, shape = (int(space.n),), (int(space.start),), ()
    else:
        if len(space.nvec.shape) != 1:
            raise _fail(key, space, "has a multi-dimensional nvec")
        nvec = tuple(int(n) for n in space.nvec)
        offsets = tuple(int(s) for s in np.broadcast_to(space.start, space.nvec.shape))
        shape = (len(nvec),)
    if kind in (None, "tokens"):
        return SourceSpec(key, Tokens(len(nvec), max(nvec)), "discrete", str(space), shape,
                          nvec=nvec, offsets=offsets)
    if kind == "vector":
        return SourceSpec(key, Vector(sum(nvec)), "onehot", str(space), shape, nvec=nvec, offsets=offsets)
    raise _fail(key, space, f"cannot be read as {kind!r} (use 'tokens' or 'vector')")


def _text(key: str, space: spaces.Text, kind: str | None) -> SourceSpec:
    if kind not in (None, "tokens"):
        raise _fail(key, space, f"cannot be read as {kind!r} (text becomes 'tokens')")
    charset = tuple(sorted(space.character_set))
    return SourceSpec(key, Tokens(int(space.max_length), len(charset) + 1), "text", str(space),
                      (int(space.max_length),), charset=charset)


def _one(key: str, space: Any, kind: str | None, normalize_images: bool) -> SourceSpec:
    if kind is not None and kind not in KIND_CHOICES:
        raise CompileError(f"kinds[{key!r}] = {kind!r} is not a kind; use one of {KIND_CHOICES}")
    if isinstance(space, spaces.Box):
        return _box(key, space, kind, normalize_images)
    if isinstance(space, spaces.Discrete | spaces.MultiDiscrete):
        return _discrete(key, space, kind)
    if isinstance(space, spaces.MultiBinary):
        as_box = spaces.Box(0, 1, space.shape, np.float32)
        if kind == "tokens":
            shape = tuple(int(s) for s in space.shape)
            return SourceSpec(key, Tokens(math.prod(shape), 2), "tokens", str(space), shape)
        return _box(key, as_box, kind or ("vector" if len(space.shape) == 1 else None), False)
    if isinstance(space, spaces.Text):
        return _text(key, space, kind)
    raise _fail(key, space, "is not supported (supported: Box, Discrete, MultiDiscrete, MultiBinary, Text)")


def infer_sources(
    space: Any, kinds: Mapping[str, str] | None = None, *, normalize_images: bool = True
) -> dict[str, SourceSpec]:
    """Map each observation source to its signal and preprocessing rule.

    `kinds` forces the kind of named sources; `normalize_images=False` says uint8 images are
    already scaled (they are then not divided by 255).
    """
    kinds = dict(kinds or {})
    if isinstance(space, spaces.Dict):
        items = [(str(k), v) for k, v in space.spaces.items()]
    else:
        items = [(SINGLE_SOURCE, space)]
    names = [k for k, _ in items]
    unknown = sorted(set(kinds) - set(names))
    if unknown:
        raise CompileError(f"kinds names {unknown}, which are not observation sources; sources: {names}")
    out: dict[str, SourceSpec] = {}
    for key, sub in items:
        if isinstance(sub, spaces.Dict):
            raise _fail(key, "a nested Dict space", "is not supported")
        out[key] = _one(key, sub, kinds.get(key), normalize_images)
    return out


def as_sources(
    obj: Any, kinds: Mapping[str, str] | None = None, *, normalize_images: bool = True
) -> dict[str, SourceSpec]:
    """Sources from a gymnasium space, a mapping of names to `Signal`s or `SourceSpec`s, or a
    single `Signal` (one source ``"obs"``). Signals mean already-converted tensors."""
    if isinstance(obj, spaces.Space):
        return infer_sources(obj, kinds, normalize_images=normalize_images)
    if isinstance(obj, Vector | Sequence | Image | Tokens):
        obj = {SINGLE_SOURCE: obj}
    if isinstance(obj, Mapping) and obj and all(isinstance(v, spaces.Space) for v in obj.values()):
        return infer_sources(spaces.Dict(dict(obj)), kinds, normalize_images=normalize_images)
    if isinstance(obj, Mapping):
        out: dict[str, SourceSpec] = {}
        for key, value in obj.items():
            if isinstance(value, SourceSpec):
                out[str(key)] = value
            elif isinstance(value, Vector | Sequence | Image | Tokens):
                rule: InputRule = "tokens" if isinstance(value, Tokens) else "float"
                out[str(key)] = SourceSpec(str(key), value, rule, str(value), value.shape())
            else:
                raise CompileError(f"source {key!r}: {value!r} is neither a Signal nor a gymnasium space")
        if not out:
            raise CompileError("no observation sources given")
        return out
    raise CompileError(
        f"cannot read observation sources from {type(obj).__name__}; pass a gymnasium space, "
        "a Signal, or a mapping of source names to Signals"
    )
