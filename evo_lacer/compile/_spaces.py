"""Observation spaces -> sources: the signal each source carries and how raw values become it.

A gymnasium ``Dict`` gives one source per key; ``Tuple`` and nested ``Dict`` spaces give one
source per leaf, named by its path (``"0"``, ``"1"``, ``"obs:pos"``; see `source_leaves`); any
other space is one source named ``"obs"``. The kind of each source is inferred from its space
(see `infer_sources`, and `describe_sources` for the reasons) and may be forced with
``kinds={"key": "vector"}`` (e.g. to flatten a time series into one vector).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from gymnasium import spaces

from evo_lacer.compile._words import MINIGRID_WORDS, WORD_BUCKETS, WORD_LENGTH, words_of
from evo_lacer.errors import CompileError
from evo_lacer.signals import Image, Sequence, Signal, Tokens, Vector

SINGLE_SOURCE = "obs"
PATH_SEP = ":"
"""Joins the keys of a nested source's path (``"obs:pos"``; torch module names allow no dots)."""
#: Values `kinds=` accepts: a signal kind, an image with its layout stated, or a categorical grid.
KIND_CHOICES = ("vector", "sequence", "image", "image_hwc", "image_chw", "tokens", "grid")
#: An integer Box whose values need a larger vocabulary is read as numbers, not token ids.
MAX_VOCAB = 1 << 20
GRID_CHANNELS = 16
"""One-hot channels per channel of a categorical grid; ids beyond wrap around (``id mod 16``)."""

InputRule = Literal["float", "image", "tokens", "discrete", "onehot", "text", "onehot_ids", "words", "grid"]


@dataclass(frozen=True)
class SourceSpec:
    """One observation source: the signal it feeds its branch and the rule that makes it.

    Rules: ``float`` (cast, reshaped to the signal), ``image`` (cast, HWC->CHW when `hwc`,
    times `scale`), ``tokens`` (cast to long ids), ``discrete`` (integers minus `offsets`),
    ``onehot`` (integers -> concatenated one-hot vectors over `nvec`), ``text`` (strings ->
    character ids over `charset`, 0 = padding), ``words`` (strings -> word ids: the words of
    `charset` first, then `nvec[0]` hashed buckets; 0 = padding), ``onehot_ids`` (SB3's
    one-hot -> ids), ``grid`` (integer ids minus `offsets`, divided by `scale` when SB3 scaled
    them, -> `nvec[0]` one-hot channels per channel).
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
    why: str = ""
    """Why this kind was chosen (printed at the start of a search)."""

    def describe(self) -> str:
        extra = ""
        if self.rule == "image":
            extra = (" HWC->CHW" if self.hwc else "") + (f" x{self.scale:.5g}" if self.scale else "")
        why = f": {self.why}" if self.why else ""
        return f"{self.name}: {self.signal} <- {self.space} ({self.rule}{extra}{why})"


def _fail(key: str, space: Any, why: str) -> CompileError:
    return CompileError(
        f"observation source {key!r}: {space} {why}. Pass kinds={{{key!r}: KIND}} (on the command line "
        f"--kinds {key}=KIND) with KIND one of {KIND_CHOICES}, or flatten the space "
        "(gymnasium.wrappers.FlattenObservation, --wrapper gymnasium.wrappers:FlattenObservation)"
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


def _is_pixels(space: spaces.Box) -> bool:
    """uint8 in [0, 255]: camera pixels, as Stable-Baselines3 reads images."""
    bounds = _integral_bounds(space)
    return space.dtype == np.uint8 and bounds == (0, 255)


def _infer_box_kind(space: spaces.Box) -> tuple[str, str]:
    """The kind of a Box source and why (see `infer_sources` for the rules)."""
    shape = tuple(int(s) for s in space.shape)
    bounds = _integral_bounds(space) if np.issubdtype(space.dtype, np.integer) else None
    if len(shape) <= 1:
        if bounds is not None and bounds[0] >= 0 and bounds[1] <= 1:
            return "vector", "integers in {0, 1}: a binary / one-hot vector"
        if bounds is not None and bounds[0] >= 0 and bounds[1] + 1 <= MAX_VOCAB:
            return "tokens", f"integer ids in [0, {bounds[1]}]"
        return "vector", "a flat vector"
    if len(shape) in (2, 3) and _is_pixels(space):
        return "image", "uint8 pixels in [0, 255]"
    if len(shape) in (2, 3) and bounds is not None and bounds[1] - bounds[0] + 1 <= MAX_VOCAB:
        return "grid", f"a grid of integer ids in [{bounds[0]}, {bounds[1]}] (one-hot channels)"
    if len(shape) == 2:
        return "sequence", "a 2-D float table: rows read as steps (override with --kinds NAME=vector)"
    if len(shape) == 3:
        return "image", "a 3-D float array"
    raise CompileError(f"{space} has {len(shape)} dimensions, which no signal kind takes")


def _box(key: str, space: spaces.Box, kind: str | None, normalize_images: bool) -> SourceSpec:
    shape = tuple(int(s) for s in space.shape)
    size = math.prod(shape)
    text = str(space)
    why = "forced by kinds="
    if kind is None:
        if len(shape) > 3:
            raise _fail(key, space, f"has {len(shape)} dimensions, which no signal kind takes")
        kind, why = _infer_box_kind(space)
    if kind == "vector":
        return SourceSpec(key, Vector(size), "float", text, shape, why=why)
    if kind == "sequence":
        if len(shape) == 0:
            raise _fail(key, space, "is a scalar, not a time series")
        seq = Sequence(shape[0], 1 if len(shape) == 1 else math.prod(shape[1:]))
        return SourceSpec(key, seq, "float", text, shape, why=why)
    if kind == "grid":
        return _grid(key, space, shape, why)
    if kind.startswith("image"):
        scale = 1.0 / 255.0 if normalize_images and space.dtype == np.uint8 else None
        if len(shape) == 2:
            return SourceSpec(key, Image(1, shape[0], shape[1]), "image", text, shape, scale=scale, why=why)
        if len(shape) != 3:
            raise _fail(key, space, "is not an image (images are 2-D or 3-D boxes)")
        hwc = _image_layout(shape) if kind == "image" else kind == "image_hwc"
        c, h, w = (shape[2], shape[0], shape[1]) if hwc else shape
        return SourceSpec(key, Image(c, h, w), "image", text, shape, hwc=hwc, scale=scale, why=why)
    if kind == "tokens":
        bounds = _integral_bounds(space)
        if bounds is None or bounds[0] < 0 or bounds[1] + 1 > MAX_VOCAB:
            raise _fail(key, space, f"cannot be token ids (needs integer bounds in [0, {MAX_VOCAB}))")
        return SourceSpec(key, Tokens(size, bounds[1] + 1), "tokens", text, shape, why=why)
    raise _fail(key, space, f"cannot be read as {kind!r}")


def _grid(key: str, space: spaces.Box, shape: tuple[int, ...], why: str) -> SourceSpec:
    """A categorical grid: ids -> one-hot channels (a 1x1 conv on them is an embedding)."""
    bounds = _integral_bounds(space)
    if bounds is None or len(shape) not in (2, 3):
        raise _fail(key, space, "cannot be a categorical grid (needs a 2-D or 3-D box with integer bounds)")
    hwc = len(shape) == 3 and _image_layout(shape)
    c, h, w = (1, *shape) if len(shape) == 2 else ((shape[2], shape[0], shape[1]) if hwc else shape)
    per = min(GRID_CHANNELS, bounds[1] - bounds[0] + 1)
    return SourceSpec(key, Image(c * per, h, w), "grid", str(space), shape, hwc=hwc, nvec=(per,),
                      offsets=(bounds[0],), why=why)


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
                          nvec=nvec, offsets=offsets, why="categorical ids" if kind is None else "forced")
    if kind == "vector":
        return SourceSpec(key, Vector(sum(nvec)), "onehot", str(space), shape, nvec=nvec, offsets=offsets,
                          why="forced by kinds= (one-hot)")
    raise _fail(key, space, f"cannot be read as {kind!r} (use 'tokens' or 'vector')")


def _text(key: str, space: spaces.Text, kind: str | None) -> SourceSpec:
    if kind not in (None, "tokens"):
        raise _fail(key, space, f"cannot be read as {kind!r} (text becomes 'tokens')")
    charset = tuple(sorted(space.character_set))
    return SourceSpec(key, Tokens(int(space.max_length), len(charset) + 1), "text", str(space),
                      (int(space.max_length),), charset=charset, why="characters over the space's charset")


def is_string_space(space: Any) -> bool:
    """A space whose samples are strings (``Text``, MiniGrid's ``MissionSpace``, ...)."""
    if isinstance(space, spaces.Text):
        return True
    if isinstance(space, spaces.Box | spaces.Discrete | spaces.MultiDiscrete | spaces.MultiBinary
                  | spaces.Dict | spaces.Tuple | spaces.Sequence | spaces.Graph):
        return False
    try:
        return isinstance(copy.deepcopy(space).sample(), str)
    except Exception:
        return False


def space_vocabulary(space: Any, draws: int = 64) -> tuple[str, ...]:
    """The words a string space is known to use, sorted: its placeholders, `draws` seeded samples
    and, for MiniGrid/BabyAI spaces, the words of their missions."""
    words: set[str] = set()
    for options in getattr(space, "ordered_placeholders", None) or []:
        for option in options:
            words.update(words_of(str(option)))
    probe = copy.deepcopy(space)
    try:
        probe.seed(0)
        for _ in range(draws):
            words.update(words_of(str(probe.sample())))
    except Exception:  # a space that cannot sample still tokenizes (hashed buckets)
        pass
    if type(space).__module__.startswith("minigrid"):
        words.update(MINIGRID_WORDS)
    return tuple(sorted(words))


def _words(key: str, space: Any, kind: str | None) -> SourceSpec:
    if kind not in (None, "tokens"):
        raise _fail(key, space, f"cannot be read as {kind!r} (strings become 'tokens')")
    vocab = space_vocabulary(space)
    signal = Tokens(WORD_LENGTH, len(vocab) + 1 + WORD_BUCKETS)
    return SourceSpec(key, signal, "words", type(space).__name__, (WORD_LENGTH,), nvec=(WORD_BUCKETS,),
                      charset=vocab,
                      why=f"{len(vocab)} known, others hashed into {WORD_BUCKETS} buckets")


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
        spec = _box(key, as_box, kind or ("vector" if len(space.shape) == 1 else None), False)
        return spec if kind else replace(spec, space=str(space), why="binary")
    if isinstance(space, spaces.Text):
        return _text(key, space, kind)
    if is_string_space(space):
        return _words(key, space, kind)
    raise _fail(key, space, "is not supported (supported: Box, Discrete, MultiDiscrete, MultiBinary, Text, "
                "string spaces, and Dict / Tuple of them)")


def source_leaves(space: Any) -> list[tuple[str, tuple[str | int, ...], Any]]:
    """(source name, path of keys / indices, leaf space) of every source of ``space``: a Dict's
    keys, a Tuple's indices, nested ones joined with ``:``; a lone space is ``"obs"``."""
    if not isinstance(space, spaces.Dict | spaces.Tuple):
        return [(SINGLE_SOURCE, (), space)]
    out: list[tuple[str, tuple[str | int, ...], Any]] = []

    def walk(sub: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(sub, spaces.Dict):
            for k, v in sub.spaces.items():
                walk(v, (*path, str(k)))
        elif isinstance(sub, spaces.Tuple):
            for i, v in enumerate(sub.spaces):
                walk(v, (*path, i))
        else:
            out.append((PATH_SEP.join(str(p) for p in path), path, sub))

    walk(space, ())
    return out


def is_flat(space: Any) -> bool:
    """True when the sources are a flat Dict (or a lone space): what Stable-Baselines3 takes."""
    if isinstance(space, spaces.Tuple):
        return False
    if isinstance(space, spaces.Dict):
        return not any(isinstance(v, spaces.Dict | spaces.Tuple) for v in space.spaces.values())
    return True


def nested_paths(space: Any) -> dict[str, tuple[str | int, ...]]:
    """Source name -> path of its leaf, for a Tuple or nested Dict space (empty for a flat one)."""
    if not isinstance(space, spaces.Space) or is_flat(space):
        return {}
    return {name: path for name, path, _ in source_leaves(space)}


def infer_sources(
    space: Any, kinds: Mapping[str, str] | None = None, *, normalize_images: bool = True
) -> dict[str, SourceSpec]:
    """Map each observation source to its signal and preprocessing rule.

    Inference (each `SourceSpec.why` says which rule applied): 1-D integer boxes in [0, 1] are
    vectors, other non-negative integer ones token ids; uint8 [0, 255] boxes are images (2-D:
    one channel); other 2-D/3-D integer boxes are categorical grids (one-hot channels); 2-D
    float boxes are sequences, 3-D ones images; Discrete / MultiDiscrete are token ids; Text
    is character ids and any other string space word ids. `kinds` forces the kind of named
    sources; `normalize_images=False` says uint8 images are already scaled.
    """
    kinds = dict(kinds or {})
    items = [(name, sub) for name, _, sub in source_leaves(space)]
    names = [k for k, _ in items]
    unknown = sorted(set(kinds) - set(names))
    if unknown:
        raise CompileError(f"kinds names {unknown}, which are not observation sources; sources: {names}")
    out: dict[str, SourceSpec] = {}
    for key, sub in items:
        out[key] = _one(key, sub, kinds.get(key), normalize_images)
    return out


def describe_sources(space: Any, kinds: Mapping[str, str] | None = None) -> list[str]:
    """One line per source: its signal, rule and why it was inferred (for the start of a search)."""
    return [spec.describe() for spec in infer_sources(space, kinds).values()]


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
