"""The weight-sharing supernet of the darts and enas strategies, as an SB3 features extractor.

Every entry of the flat per-source space (each source, then the fusion) becomes a *mixed op* over
its families: one candidate per family, at the family's representative setting (the first option
of each parameter, `representative`), compiled by the ordinary compiler. Each source candidate's
output is projected to `PROJECTION_WIDTH` by a linear layer so the candidates of a source can be
summed, and each fusion candidate reads those projected source vectors; fusion outputs of another
width are projected to the widest. How the candidates are combined is the `mixing` function's
answer for each entry: a weight vector (darts: ``softmax(alpha)``, a weighted sum of every
candidate) or an index (enas: only the sampled candidate runs).

A source family with a *width parameter* (`width_params`: an integer parameter whose value is the
branch's output dimension, found by compiling) is the exception to the representative setting: its
candidate is built at the widest option and its output units are masked before the projection
(FBNetV2's channel masking, `WidthMasked`), so the width is a second mixed choice, asked of
`mixing` under the key ``"<entry>/<family>"`` (`width_key`): weights over the width options (the
mask ``sum_i w_i mask_i``, where mask i keeps the first ``options[i]`` units) or the index of one.
A fusion family with a width parameter (its value the encoder's features dimension) is masked the
same way, before its projection to the widest fusion output (keys ``"fusion/<family>"``).

A source family with a *depth parameter* (`depth_params`: the parameter named ``depth`` whose
compiled branch starts with a module that has an ``exits`` method, each layer's output) is built at
its deepest option and its depth is mixed by weighted exits (`DepthMixed`): the rest of the branch
(e.g. a pooling) is applied to the exit of each depth option, and those outputs are summed with the
weights `mixing` gives under the key ``"<entry>/<family>/depth"`` (`depth_key`), or the exit of the
index it gives runs alone. Where a family has both, the width mask applies to the depth mix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from evo_lacer.compile import TreeEncoder, compile_tree, sb3_sources
from evo_lacer.engine._pepnas_ops import EntrySpace
from evo_lacer.errors import EvoLacerError
from evo_lacer.evaluate._envtools import sb3_view
from evo_lacer.signals import Vector
from evo_lacer.tree import Node, branch, encoder, module
from evo_lacer.zoo import Catalog

PROJECTION_WIDTH = 32
"""Width every source candidate is projected to (the flat space's smallest width choice)."""
FUSION = "fusion"

Mixing = Callable[[str], "torch.Tensor | int"]
"""Entry (or `width_key`) -> weights over its candidates or width options (a 1-d tensor), or the
index of the one to run."""


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


def first_candidate(entry: str) -> torch.Tensor | int:
    """Mixing before a strategy sets its own: the first candidate, at its first width option (a valid
    network for checks)."""
    return 0


class DepthMixed(nn.Module):
    """A source candidate built at its deepest depth option: the rest of the branch (`rest`, e.g. a
    pooling) is applied to the exit of each depth option (`first.exits`), and those outputs are
    mixed (weighted exits; the last exit is the deepest `first`'s output)."""

    def __init__(self, first: nn.Module, rest: nn.Module, options: Sequence[int]) -> None:
        super().__init__()
        self.first, self.rest = first, rest
        self.options = [int(o) for o in options]

    def forward(self, x: torch.Tensor, weights: torch.Tensor | int) -> torch.Tensor:
        """`weights` over the depth options (``sum_i w_i rest(exit_i)``) or the index of one (only
        the layers up to that exit run)."""
        exits = cast(Callable[..., list[torch.Tensor]], self.first.exits)
        if isinstance(weights, int):
            return cast(torch.Tensor, self.rest(exits(x, self.options[weights])[-1]))
        outs = exits(x, max(self.options))
        mixed = [w * self.rest(outs[d - 1]) for w, d in zip(weights, self.options, strict=True)]
        return torch.stack(mixed).sum(0)


class WidthMasked(nn.Module):
    """A source candidate built at its widest width option: its output units are masked to a mix
    of the options (FBNetV2's channel masking; mask i keeps the first ``options[i]`` units), then
    projected."""

    masks: torch.Tensor

    def __init__(self, body: nn.Module, projection: nn.Module, options: Sequence[int]) -> None:
        super().__init__()
        self.body, self.projection = body, projection
        units = torch.arange(max(options))
        self.register_buffer("masks", (units < torch.tensor(list(options)).unsqueeze(1)).float(),
                             persistent=False)
        """Row i: 1 for the first ``options[i]`` units, 0 for the others."""

    def forward(self, x: Any, weights: torch.Tensor | int,
                depth: torch.Tensor | int | None = None) -> torch.Tensor:
        """`weights` over the options (the weighted sum of their masks) or the index of one; `depth`:
        the depth mixing where the body is a `DepthMixed` (then the mask applies to its mix). `x`: a
        fusion's list of source vectors where the body is a fusion."""
        mask = self.masks[weights] if isinstance(weights, int) else weights @ self.masks
        body = self.body(x) if depth is None else self.body(x, depth)
        return cast(torch.Tensor, self.projection(body * mask))


class SuperNet(nn.Module):
    """Mixed ops over the families of every entry (module docstring); `features_dim` wide."""

    def __init__(self, reader: TreeEncoder, options: Mapping[str, Sequence[nn.Module]],
                 fusions: Sequence[nn.Module], projections: Sequence[nn.Module], features_dim: int,
                 families: Mapping[str, Sequence[str]]) -> None:
        super().__init__()
        self.reader = reader
        """Converts observations into each source's input (the first candidate network)."""
        self.names = list(reader.branches)
        self.options = nn.ModuleDict({name: nn.ModuleList(options[name]) for name in self.names})
        """Source -> its candidates, one per family (a `WidthMasked` where the family has a width,
        around a `DepthMixed` where it has a depth too; a `DepthMixed` where it has only a depth)."""
        self.fusions = nn.ModuleList(fusions)
        """The fusion candidates, one per family (a `WidthMasked` around the fusion and its projection
        where the family has a width; then its entry of `projections` is an identity)."""
        self.projections = nn.ModuleList(projections)
        self.features_dim = features_dim
        self.families = {e: list(f) for e, f in families.items()}
        self.mixing: Mixing = first_candidate

    def _mix(self, entry: str, ops: Sequence[Callable[[], torch.Tensor]]) -> torch.Tensor:
        weights = self.mixing(entry)
        if isinstance(weights, int):
            return ops[weights]()
        return torch.stack([op() for op in ops]).mul(weights.view(-1, 1, 1)).sum(0)

    def _source(self, name: str, family: str, op: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if isinstance(op, WidthMasked):
            depth = self.mixing(depth_key(name, family)) if isinstance(op.body, DepthMixed) else None
            return op(x, self.mixing(width_key(name, family)), depth)
        if isinstance(op, DepthMixed):
            return op(x, self.mixing(depth_key(name, family)))
        return cast(torch.Tensor, op(x))

    def forward(self, obs: Any) -> torch.Tensor:
        x = self.reader.encode_sources(obs)
        feats = [self._mix(name, [partial(self._source, name, family, op, x[name]) for family, op
                                  in zip(self.families[name], cast(nn.ModuleList, self.options[name]),
                                         strict=True)])
                 for name in self.names]
        triples = zip(self.families[FUSION], self.fusions, self.projections, strict=True)
        return self._mix(FUSION, [partial(self._fused, family, f, p, feats) for family, f, p in triples])

    def _fused(self, family: str, fusion: nn.Module, projection: nn.Module,
               feats: list[torch.Tensor]) -> torch.Tensor:
        if isinstance(fusion, WidthMasked):
            return cast(torch.Tensor, projection(fusion(feats, self.mixing(width_key(FUSION, family)))))
        return cast(torch.Tensor, projection(fusion(feats)))


class SupernetExtractor(BaseFeaturesExtractor):
    """SB3 features extractor around a prebuilt `SuperNet` (``features_extractor_kwargs``)."""

    def __init__(self, observation_space: spaces.Space, supernet: SuperNet) -> None:
        super().__init__(observation_space, supernet.features_dim)
        self.supernet = supernet

    def forward(self, observations: Any) -> torch.Tensor:
        return self.supernet(observations)


def _projected(tree: Node) -> Node:
    """`tree` with a linear layer to `PROJECTION_WIDTH` at the end of every branch."""
    return encoder([branch(str(b.name), *b.children, module("LinearLayer", width=PROJECTION_WIDTH))
                    for b in tree.branches], tree.fusion)


def build_supernet(space: EntrySpace, observation_space: spaces.Space, catalog: Catalog | None,
                   seed: int) -> tuple[SuperNet, dict[str, list[str]], Widths, Depths]:
    """The supernet of `space` for SB3's view of `observation_space` (images channels-first, as the
    policy receives them), initialized from `seed`; entry -> family names (candidate order); the
    families' width parameters (`width_params`; their candidates are `WidthMasked`) and the source
    families' depth parameters (`depth_params`; their candidates are built deepest and mix their
    exits, `DepthMixed`)."""
    families = entry_families(space)
    sources = sb3_sources(sb3_view(observation_space))
    widths = width_params(space, sources, catalog)
    depths = depth_params(space, sources, catalog)
    count = max(len(f) for f in families.values())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        nets = []
        for j in range(count):  # network j: every entry's j-th family (its last when it has fewer)
            pick = {e: fams[min(j, len(fams) - 1)] for e, fams in families.items()}
            widest = {e: w.widest for e, f in pick.items() if (w := widths.get(e, {}).get(f)) is not None}
            deepest = {e: d.deepest for e, f in pick.items() if (d := depths.get(e, {}).get(f)) is not None}
            extremes = overrides(pick, (widths, widest), (depths, deepest))
            tree = _projected(space.to_tree(derived_config(space, pick, extremes)))
            nets.append(compile_tree(tree, sources, catalog))
    options = {e: [_candidate(nets[j].branches[e], widths.get(e, {}).get(family),
                              depths.get(e, {}).get(family))
                   for j, family in enumerate(f)] for e, f in families.items() if e != FUSION}
    fusions = [nets[j].fusion for j in range(len(families[FUSION]))]
    dims = [nets[j].features_dim for j in range(len(fusions))]
    width = max(dims)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        projections = [nn.Identity() if w == width else nn.Linear(w, width) for w in dims]
    for j, family in enumerate(families[FUSION]):  # a fusion width: masked before its projection
        if (w := widths.get(FUSION, {}).get(family)) is not None:
            fusions[j], projections[j] = WidthMasked(fusions[j], projections[j], w.unit_counts), nn.Identity()
    return SuperNet(nets[0], options, fusions, projections, width, families), families, widths, depths


def _candidate(projected: nn.Module, width: Width | None, depth: Depth | None) -> nn.Module:
    """A source candidate from its compiled projected branch (an `nn.Sequential` ending in the
    projection): the branch itself; a `WidthMasked` around it where the family has a width (its body
    a `DepthMixed` where the family has a depth too); a `DepthMixed` where it has only a depth."""
    if width is None and depth is None:
        return projected
    assert isinstance(projected, nn.Sequential)
    if depth is None:
        assert width is not None
        return WidthMasked(projected[:-1], projected[-1], width.unit_counts)
    if width is None:
        return DepthMixed(projected[0], projected[1:], depth.options)
    return WidthMasked(DepthMixed(projected[0], projected[1:-1], depth.options), projected[-1],
                       width.unit_counts)


def supernet_policy_kwargs(net: SuperNet) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` with the supernet as the (shared) features extractor."""
    return {"features_extractor_class": SupernetExtractor, "features_extractor_kwargs": {"supernet": net}}
