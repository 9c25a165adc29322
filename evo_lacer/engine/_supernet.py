"""The weight-sharing supernet of the darts and enas strategies, as an SB3 features extractor (its
choices, found by compiling the flat space's families: `evo_lacer.engine._supernet_space`).

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
from functools import partial
from typing import Any, cast

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from evo_lacer.compile import TreeEncoder, compile_tree, sb3_sources
from evo_lacer.engine._pepnas_ops import EntrySpace
from evo_lacer.engine._supernet_space import (
    FUSION,
    Depth,
    Depths,
    Width,
    Widths,
    depth_key,
    depth_params,
    derived_config,
    entry_families,
    overrides,
    width_key,
    width_params,
)
from evo_lacer.evaluate._envtools import sb3_view
from evo_lacer.tree import Node, branch, encoder, module
from evo_lacer.zoo import Catalog

PROJECTION_WIDTH = 32
"""Width every source candidate is projected to (the flat space's smallest width choice)."""
Mixing = Callable[[str], "torch.Tensor | int"]
"""Entry (or `width_key`) -> weights over its candidates or width options (a 1-d tensor), or the
index of the one to run."""


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
