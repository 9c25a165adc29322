"""Guesses for foreign modules (no declared kinds): signal kinds, layout and search domains.

These come from conventional constructor names in PyTorch-style code. They are marked
``kinds_source="heuristic"``; the opt-in probe replaces them with observed behaviour, and the
gate's forward pass checks every placement anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from evo_lacer.signals import SignalKind
from evo_lacer.tree import ParamValue
from evo_lacer.zoo._spec import Layout, ParamSpec

_WIDTHS: tuple[ParamValue, ...] = (16, 32, 64, 128)
DOMAIN_BY_NAME: dict[str, tuple[ParamValue, ...]] = {
    "out_features": _WIDTHS,
    "hidden_size": _WIDTHS,
    "out_channels": (8, 16, 32, 64),
    "embedding_dim": _WIDTHS,
    "dim_feedforward": (32, 64, 128, 256),
    "num_layers": (1, 2),
    "kernel_size": (1, 3, 5),
    "nhead": (1, 2, 4),
    "num_heads": (1, 2, 4),
    "dropout": (0.0, 0.1, 0.2),
    "p": (0.0, 0.1, 0.2),
    "negative_slope": (0.01, 0.1, 0.2),
    "output_size": (1, 2, 4),
    "nonlinearity": ("tanh", "relu"),
    "approximate": ("none", "tanh"),
}
_BOOL_NAMES = ("bias", "affine", "elementwise_affine", "bidirectional", "norm_first")
_FORWARD_MULTI = ("target", "key", "value", "input2", "x2", "tgt", "memory", "offsets")


@dataclass(frozen=True)
class Guess:
    accepts: tuple[SignalKind, ...] = ()
    emits: SignalKind | None = None
    layout: Layout = "channels_last"
    output_index: int | None = None
    fixed: tuple[tuple[str, ParamValue], ...] = ()


def guess_domain(param: ParamSpec) -> tuple[ParamValue, ...] | None:
    """A finite search domain for a foreign constructor parameter, or None."""
    if param.name in DOMAIN_BY_NAME:
        return DOMAIN_BY_NAME[param.name]
    if param.has_default and isinstance(param.default, bool) and param.name in _BOOL_NAMES:
        return (param.default, not param.default)
    if param.name == "activation" and "str" in (param.annotation or "str"):
        return ("relu", "gelu")
    return None


def _by_suffix(lower: str) -> Guess | None:
    """Kinds from a ``1d`` / ``2d`` / ``3d`` class-name suffix (conv, pooling, norm, dropout)."""
    if lower.endswith("1d"):
        return Guess(("sequence",), "sequence", layout="channels_first")
    if lower.endswith("2d"):
        return Guess(("image",), "image")
    if lower.endswith("3d"):
        return Guess()
    return None


def guess_kinds(class_name: str, params: tuple[ParamSpec, ...], forward: tuple[str, ...],
                forward_required: int | None = None) -> Guess:
    """Kinds a foreign module takes and gives, judged from its names (empty when unknown).

    `forward` holds the forward parameter names (empty when no class in the hierarchy defines
    one: containers such as ``ModuleList`` cannot be called); `forward_required` how many of
    them are required (more than one: not a single-input block)."""
    names = {p.name for p in params}
    if not forward:
        return Guess()
    if forward_required is None:
        forward_required = 1 + sum(1 for f in forward[1:] if f in _FORWARD_MULTI)
    if class_name.endswith("Loss") or forward_required > 1:
        return Guess()
    lower = class_name.lower()
    stem = lower.removeprefix("lazy")
    batch_first = (("batch_first", True),) if "batch_first" in names else ()
    if {"input_size", "hidden_size"} <= names:
        if stem.endswith("cell"):
            return Guess(("vector",), "vector", output_index=0 if "lstm" in stem else None)
        return Guess(("sequence",), "sequence", output_index=0, fixed=batch_first)
    if "in_channels" in names or (stem != lower and "out_channels" in names):
        return _by_suffix(stem) or Guess()
    if "num_features" in names:
        if stem.endswith("1d"):
            return Guess(("vector",), "vector")
        return _by_suffix(stem) or Guess()
    if "d_model" in names:
        return Guess(("sequence",), "sequence", fixed=batch_first)
    if "num_embeddings" in names:
        if "bag" in lower:
            return Guess(("tokens",), "vector")
        return Guess(("tokens",), "sequence")
    if "in_features" in names or "normalized_shape" in names or (stem != lower and "out_features" in names):
        return Guess(("vector", "sequence"), None)
    required = [
        p for p in params
        if not p.has_default and p.kind in ("positional", "keyword") and guess_domain(p) is None
    ]
    if required:
        return Guess()
    if lower == "flatten":
        return Guess(("vector", "sequence", "image"), "vector")
    return _by_suffix(stem) or Guess(("vector", "sequence", "image"), None)
