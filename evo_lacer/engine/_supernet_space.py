"""The choices of the darts and enas supernet (`evo_lacer.engine._supernet`): each entry's families
at their representative settings, and the families whose width or depth is a second mixed choice
(`width_params`, `depth_params`), found by compiling; a chosen architecture's configuration
(`derived_config`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from evo_lacer.compile import compile_tree
from evo_lacer.engine._pepnas_ops import EntrySpace
from evo_lacer.errors import EvoLacerError
from evo_lacer.signals import Vector
from evo_lacer.tree import encoder
from evo_lacer.zoo import Catalog

FUSION = "fusion"

@dataclass(frozen=True)
class Width:
    """The width parameter of a family: its name, options (the space's order) and the output units
    per unit of the parameter (1 for a width; ``dim`` for attention heads of ``dim`` units each)."""

    param: str
    options: tuple[int, ...]
    units: int = 1

    @property
    def widest(self) -> int:
        return max(self.options)

    @property
    def unit_counts(self) -> tuple[int, ...]:
        """Output units kept by each option (what `WidthMasked` masks to)."""
        return tuple(o * self.units for o in self.options)

    def to_dict(self) -> dict[str, Any]:
        return {"param": self.param, "options": list(self.options), "units": self.units}


Widths = dict[str, dict[str, Width]]
"""Entry (a source, or the fusion) -> family -> its width parameter (only the families that have one)."""


@dataclass(frozen=True)
class Depth:
    """The depth parameter of a source family: its name and options (layer counts, the space's order)."""

    param: str
    options: tuple[int, ...]

    @property
    def deepest(self) -> int:
        return max(self.options)

    def to_dict(self) -> dict[str, Any]:
        return {"param": self.param, "options": list(self.options)}


Depths = dict[str, dict[str, Depth]]
"""Source entry -> family -> its depth parameter (only the families that have one)."""


def depth_key(entry: str, family: str) -> str:
    """The `mixing` key of the depth choice of `family` at `entry`."""
    return f"{entry}/{family}/depth"


Params = Mapping[str, Mapping[str, Width | Depth]]
"""`Widths` or `Depths`: entry -> family -> its width or depth parameter."""


def width_key(entry: str, family: str) -> str:
    """The `mixing` key of the width choice of `family` at `entry`."""
    return f"{entry}/{family}"


def overrides(choice: Mapping[str, str],
              *chosen: tuple[Params, Mapping[str, int]]) -> dict[str, dict[str, Any]]:
    """`derived_config`'s per-entry parameter values: for each (`Widths` or `Depths`, entry -> the
    value chosen for the family `choice` gives it) pair, entry -> {that family's parameter: value}."""
    out: dict[str, dict[str, Any]] = {}
    for params, values in chosen:
        for e, v in values.items():
            out.setdefault(e, {})[params[e][choice[e]].param] = v
    return out


def params_json(params: Params) -> dict[str, dict[str, dict[str, Any]]]:
    """`Widths` / `Depths` as JSON (entry -> family -> its parameter and options), for the results."""
    return {e: {f: p.to_dict() for f, p in fams.items()} for e, fams in params.items()}


class _Families:
    """A trial that records an entry's family choices and takes the first of everything."""

    def __init__(self, entry: str) -> None:
        self.entry = entry
        self.families: list[str] = []

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        if name == f"{self.entry}.family":
            self.families = [str(c) for c in choices]
        return next(iter(choices))


class _Pick:
    """A trial that takes the given family of an entry, the given `values` of its parameters and the
    first option of every other; it records each parameter's options (`domains`)."""

    def __init__(self, entry: str, family: str, values: Mapping[str, Any] | None = None) -> None:
        self.entry, self.family = entry, family
        self.values = dict(values or {})
        self.domains: dict[str, list[Any]] = {}

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        if name == f"{self.entry}.family":
            return self.family
        param = name.removeprefix(f"{self.entry}.{self.family}.")
        self.domains[param] = options = list(choices)
        return self.values.get(param, options[0])


def entry_families(space: EntrySpace) -> dict[str, list[str]]:
    """Entry -> its family names, in the space's order (the supernet's candidate order)."""
    out: dict[str, list[str]] = {}
    for entry in space.entries():
        trial = _Families(entry)
        space.suggest_entry(entry, trial)
        out[entry] = trial.families
    return out


def representative(space: EntrySpace, entry: str, family: str,
                   values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The values of `entry` with `family` at its representative setting (first options), except
    the parameters `values` gives."""
    return space.suggest_entry(entry, _Pick(entry, family, values))


def derived_config(space: EntrySpace, choice: Mapping[str, str],
                   values: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The configuration with each entry's chosen family at its representative setting, except the
    parameter `values` gives it (entry -> {parameter: value}, e.g. its chosen width: `overrides`)."""
    values = values or {}
    return space.validate({e: representative(space, e, choice[e], values.get(e)) for e in space.entries()})


def width_params(space: EntrySpace, sources: Any, catalog: Catalog | None) -> Widths:
    """Each family's width parameter, if any: the first integer parameter (in the family's order, at
    least two options) whose smallest and largest options, the other parameters at the
    representative setting, each compile to a branch with that many outputs times the same whole
    number of units (`sources`: the observation as `compile_tree` takes it) -- for a fusion family,
    to an encoder with that many features. One unit per option is a width (MLP width, conv
    channels, GRU hidden); several are heads (attention: ``heads`` x ``dim`` outputs, so masking
    the last heads' units is heads by masking). A setting that does not compile is not a width."""
    families = entry_families(space)
    first = {e: fams[0] for e, fams in families.items()}
    out: Widths = {}
    with torch.random.fork_rng(devices=[]):  # compiling initializes modules: leave the caller's RNG
        for entry, fams in families.items():
            for family in fams:
                trial = _Pick(entry, family)
                space.suggest_entry(entry, trial)
                for param, options in trial.domains.items():
                    ints = all(isinstance(o, int) and not isinstance(o, bool) for o in options)
                    if not ints or len(set(options)) < 2 or min(options) < 1:
                        continue
                    units = _units(space, {**first, entry: family}, entry, param, options, sources, catalog)
                    if units is not None:
                        width = Width(param, tuple(int(o) for o in options), units)
                        out.setdefault(entry, {})[family] = width
                        break
    return out


DEPTH_PARAM = "depth"
"""The name of a depth parameter (`depth_params`)."""


def depth_params(space: EntrySpace, sources: Any, catalog: Catalog | None) -> Depths:
    """Each source family's depth parameter, if any: its parameter named ``depth`` (`DEPTH_PARAM`)
    with integer options of at least 1 (at least two), where the branch compiled at the deepest option
    (the other parameters at the representative setting) starts with a module that has an ``exits``
    method (`DepthMixed`). A setting that does not compile has no depth."""
    families = entry_families(space)
    first = {e: fams[0] for e, fams in families.items()}
    out: Depths = {}
    with torch.random.fork_rng(devices=[]):  # compiling initializes modules: leave the caller's RNG
        for entry, fams in families.items():
            for family in fams if entry != FUSION else ():
                trial = _Pick(entry, family)
                space.suggest_entry(entry, trial)
                options = trial.domains.get(DEPTH_PARAM)
                if options is None or len(set(options)) < 2 or not all(
                        isinstance(o, int) and not isinstance(o, bool) and o >= 1 for o in options):
                    continue
                depth = Depth(DEPTH_PARAM, tuple(int(o) for o in options))
                try:
                    tree = space.to_tree(derived_config(space, {**first, entry: family},
                                                        {entry: {DEPTH_PARAM: depth.deepest}}))
                    alone = compile_tree(encoder([tree.branch(entry)], tree.fusion), sources, catalog,
                                         check=False)
                except EvoLacerError:
                    continue
                if callable(getattr(_first_module(alone.branches[entry]), "exits", None)):
                    out.setdefault(entry, {})[family] = depth
    return out


def _first_module(branch_module: nn.Module) -> nn.Module:
    """The first module of a compiled branch (the branch itself when it is a single module)."""
    return branch_module[0] if isinstance(branch_module, nn.Sequential) else branch_module


def _units(space: EntrySpace, pick: Mapping[str, str], entry: str, param: str, options: Sequence[int],
           sources: Any, catalog: Catalog | None) -> int | None:
    """Output units per unit of `param` when the branch's output is that whole multiple of the
    parameter at its smallest and largest options; None otherwise."""
    low, high = min(options), max(options)
    dims = [_branch_width(space, pick, entry, {param: v}, sources, catalog) for v in (low, high)]
    if dims[0] is None or dims[1] is None or dims[0] % low or dims[0] // low != dims[1] / high:
        return None
    return dims[0] // low


def _branch_width(space: EntrySpace, pick: Mapping[str, str], entry: str, values: Mapping[str, Any],
                  sources: Any, catalog: Catalog | None) -> int | None:
    """The output dimension of `entry`'s branch of `derived_config(space, pick, {entry: values})`,
    compiled alone with that configuration's fusion (the fusion: the whole encoder's features
    dimension); None where it does not compile."""
    try:
        tree = space.to_tree(derived_config(space, pick, {entry: values}))
        if entry == FUSION:
            return compile_tree(tree, sources, catalog, check=False).features_dim
        alone = encoder([tree.branch(entry)], tree.fusion)
        out = compile_tree(alone, sources, catalog, check=False).signals[(entry,)][1]  # shapes only
    except EvoLacerError:
        return None
    return out.d if isinstance(out, Vector) else None
