"""Small helpers shared by zoo modules (not modules themselves)."""

from __future__ import annotations

from torch import nn

ACTIVATIONS = ("relu", "gelu", "swish", "tanh")


def activation(name: str) -> nn.Module:
    """An activation module by name (`swish` is SiLU)."""
    table = {"relu": nn.ReLU, "gelu": nn.GELU, "swish": nn.SiLU, "silu": nn.SiLU, "tanh": nn.Tanh}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(table)}")
    return table[name]()
