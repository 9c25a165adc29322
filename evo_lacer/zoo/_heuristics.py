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
}
_FORWARD_MULTI = ("target", "key", "value", "input2", "x2", "tgt", "memory", "hx", "offsets")


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
    if param.has_default and isinstance(param.default, bool) and param.name in ("bias", "affine"):
        return (True, False)
    return None


def guess_kinds(class_name: str, params: tuple[ParamSpec, ...], forward: tuple[str, ...]) -> Guess:
    """Kinds a foreign module takes and gives, judged from its names (empty when unknown)."""
    names = {p.name for p in params}
    required_forward = [f for f in forward[1:] if f in _FORWARD_MULTI]
    if class_name.endswith("Loss") or required_forward:
        return Guess()
    lower = class_name.lower()
    if {"input_size", "hidden_size"} <= names:
        fixed = (("batch_first", True),) if "batch_first" in names else ()
        return Guess(("sequence",), "sequence", output_index=0, fixed=fixed)
    if "in_channels" in names:
        if lower.endswith("1d"):
            return Guess(("sequence",), "sequence", layout="channels_first")
        if lower.endswith("2d"):
            return Guess(("image",), "image")
        return Guess()
    if "num_features" in names:
        if lower.endswith("1d"):
            return Guess(("vector",), "vector")
        if lower.endswith("2d"):
            return Guess(("image",), "image")
        return Guess()
    if "d_model" in names:
        fixed = (("batch_first", True),) if "batch_first" in names else ()
        return Guess(("sequence",), "sequence", fixed=fixed)
    if "num_embeddings" in names:
        return Guess(("tokens",), "sequence")
    if "in_features" in names or "normalized_shape" in names:
        return Guess(("vector", "sequence"), None)
    required = [
        p for p in params
        if not p.has_default and p.kind in ("positional", "keyword") and guess_domain(p) is None
    ]
    if not required and len(forward) <= 1:
        return Guess(("vector", "sequence", "image"), None)
    return Guess()
