"""The compiler: encoder trees + observation spaces -> torch modules (and SB3 extractors)."""

from evo_lacer.compile._compiler import TreeEncoder, compile_tree, parameter_count
from evo_lacer.compile._infer import fusion_signal, infer_signals, module_signal
from evo_lacer.compile._inputs import TextInput, make_input
from evo_lacer.compile._sb3 import TreeFeaturesExtractor, as_tree, policy_kwargs_for, sb3_sources
from evo_lacer.compile._spaces import (
    KIND_CHOICES,
    SINGLE_SOURCE,
    SourceSpec,
    as_sources,
    describe_sources,
    infer_sources,
    source_leaves,
)

__all__ = [
    "KIND_CHOICES",
    "SINGLE_SOURCE",
    "SourceSpec",
    "TextInput",
    "TreeEncoder",
    "TreeFeaturesExtractor",
    "as_sources",
    "as_tree",
    "compile_tree",
    "describe_sources",
    "fusion_signal",
    "infer_signals",
    "infer_sources",
    "make_input",
    "module_signal",
    "parameter_count",
    "policy_kwargs_for",
    "sb3_sources",
    "source_leaves",
]
