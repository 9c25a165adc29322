"""Records of mined modules: what the miner read from source, as frozen data.

Built-in zoo modules declare, as literal class attributes the miner reads by AST:

    accepts = ("vector",)              # signal kinds taken as input
    emits = "vector"                   # signal kind produced
    search_space = {"width": (32, 64, 128), "act": ("relu", "gelu")}
    min_input = {"in_height": 36, "in_width": 36}   # optional lower bounds on bound inputs

Constructor parameters with conventional names are *bound* by the compiler from the input
signal instead of being searched (see `BINDINGS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from evo_lacer.signals import SignalKind
from evo_lacer.tree import ParamValue

# Constructor parameter name -> what the compiler passes in, from the input signal.
BINDINGS: dict[str, str] = {
    "in_dim": "in_dim",  # Vector.d / Sequence.d
    "in_channels": "in_channels",  # Image.c, or Sequence.d for channels-first modules
    "seq_len": "seq_len",  # Sequence.t / Tokens.length
    "in_height": "in_height",  # Image.h
    "in_width": "in_width",  # Image.w
    "vocab_size": "vocab_size",  # Tokens.vocab
    "in_dims": "in_dims",  # fusion: widths of the branch outputs, in branch order
    "sources": "sources",  # fusion: source names, in branch order
}
# Names foreign code (torch.nn and alike) uses for the same things.
FOREIGN_BINDINGS: dict[str, str] = {
    "in_features": "in_dim",
    "in1_features": "in_dim",
    "input_size": "in_dim",
    "normalized_shape": "in_dim",
    "num_features": "in_dim",
    "embed_dim": "in_dim",
    "d_model": "in_dim",
    "num_embeddings": "vocab_size",
}
SOURCES_MARKER = "@sources"  # a search domain meaning "one of the encoder's source names"

ParamKind = Literal["positional", "keyword", "var_positional", "var_keyword"]
KindsSource = Literal["declared", "probe", "heuristic", "unknown"]
"""Where `accepts`/`emits` come from: the class's declaration, an observed forward pass (the
opt-in probe), guesses from conventional names, or nothing known."""
Layout = Literal["channels_last", "channels_first"]


@dataclass(frozen=True)
class ParamSpec:
    """One constructor parameter of a mined module."""

    name: str
    annotation: str | None = None
    """The annotation as source text, e.g. ``"int"``; None when absent."""
    has_default: bool = False
    default: ParamValue = None
    """The default when it is a literal (see `default_text` otherwise)."""
    default_text: str | None = None
    """The default as source text, when it is not a plain literal."""
    kind: ParamKind = "positional"
    domain: tuple[ParamValue, ...] | str | None = None
    """Search choices (a tuple), `SOURCES_MARKER`, or None when the parameter is not searched."""
    binding: str | None = None
    """Which input quantity the compiler passes (a value of `BINDINGS`), or None."""


@dataclass(frozen=True)
class ModuleSpec:
    """A module mined from source: enough to list it, search it, and build it by import path."""

    name: str
    """The class name."""
    module: str
    """Import path of the defining module, e.g. ``modules_zoo.vector``."""
    qualname: str
    """Qualified name inside the module (``Outer.Inner`` for nested classes)."""
    params: tuple[ParamSpec, ...] = ()
    forward_params: tuple[str, ...] = ()
    accepts: tuple[SignalKind, ...] = ()
    emits: SignalKind | None = None
    """The kind produced; None means "the same kind as the input" (e.g. ``nn.ReLU``)."""
    role: Literal["block", "fusion"] = "block"
    layout: Layout = "channels_last"
    """How a Sequence is fed: ``(B, T, d)`` or, for Conv1d-like code, ``(B, d, T)``."""
    output_index: int | None = None
    """When forward returns a tuple (e.g. ``nn.GRU``), the element that carries the features."""
    kinds_source: KindsSource = "unknown"
    docstring: str = ""
    source_file: str = ""
    source_hash: str = ""
    lineno: int = 0
    bases: tuple[str, ...] = ()
    fixed: tuple[tuple[str, ParamValue], ...] = ()
    """Constructor arguments always passed (e.g. ``batch_first=True`` for torch RNNs)."""
    abstract: bool = False
    """Private (``_Name``) or abstract classes: kept for inheritance, never put in trees."""
    min_input: tuple[tuple[str, int], ...] = ()
    """Lower bounds on bound input quantities, as (binding, minimum) pairs, e.g.
    ``(("in_height", 36), ("in_width", 36))`` for NatureCNN; placements below them fail."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        return f"{self.module}.{self.qualname}"

    def param(self, name: str) -> ParamSpec | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    @property
    def searchable(self) -> tuple[ParamSpec, ...]:
        """Parameters with a finite search domain (what change-parameter may set)."""
        return tuple(p for p in self.params if p.domain is not None and p.binding is None)

    def defaults(self) -> dict[str, ParamValue]:
        """Literal defaults of unbound parameters (used to canonicalize trees)."""
        return {
            p.name: p.default
            for p in self.params
            if p.has_default and p.default_text is None and p.binding is None
            and p.kind in ("positional", "keyword")
        }

    @property
    def short(self) -> str:
        """The name shown to people and LLMs (``nn.Linear`` for torch, else the class name)."""
        if self.module.startswith("torch.nn"):
            return "nn." + self.name
        return self.name
