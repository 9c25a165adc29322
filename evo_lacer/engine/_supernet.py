"""The weight-sharing supernet of the darts and enas strategies, as an SB3 features extractor.

Every entry of the flat per-source space (each source, then the fusion) becomes a *mixed op* over
its families: one candidate per family, at the family's representative setting (the first option
of each parameter, `representative`), compiled by the ordinary compiler. Each source candidate's
output is projected to `PROJECTION_WIDTH` by a linear layer so the candidates of a source can be
summed, and each fusion candidate reads those projected source vectors; fusion outputs of another
width are projected to the widest. How the candidates are combined is the `mixing` function's
answer for each entry: a weight vector (darts: ``softmax(alpha)``, a weighted sum of every
candidate) or an index (enas: only the sampled candidate runs).
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
from evo_lacer.evaluate._envtools import sb3_view
from evo_lacer.tree import Node, branch, encoder, module
from evo_lacer.zoo import Catalog

PROJECTION_WIDTH = 32
"""Width every source candidate is projected to (the flat space's smallest width choice)."""
FUSION = "fusion"

Mixing = Callable[[str], "torch.Tensor | int"]
"""Entry -> weights over its candidates (a 1-d tensor) or the index of the one candidate to run."""


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
    """A trial that takes the given family of an entry and the first option of every parameter."""

    def __init__(self, entry: str, family: str) -> None:
        self.entry, self.family = entry, family

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self.family if name == f"{self.entry}.family" else next(iter(choices))


def entry_families(space: EntrySpace) -> dict[str, list[str]]:
    """Entry -> its family names, in the space's order (the supernet's candidate order)."""
    out: dict[str, list[str]] = {}
    for entry in space.entries():
        trial = _Families(entry)
        space.suggest_entry(entry, trial)
        out[entry] = trial.families
    return out


def representative(space: EntrySpace, entry: str, family: str) -> dict[str, Any]:
    """The values of `entry` with `family` at its representative setting (first options)."""
    return space.suggest_entry(entry, _Pick(entry, family))


def derived_config(space: EntrySpace, choice: Mapping[str, str]) -> dict[str, Any]:
    """The configuration with each entry's chosen family at its representative setting."""
    return space.validate({e: representative(space, e, choice[e]) for e in space.entries()})


def first_candidate(entry: str) -> torch.Tensor | int:
    """Mixing before a strategy sets its own: the first candidate (a valid network for checks)."""
    return 0


class SuperNet(nn.Module):
    """Mixed ops over the families of every entry (module docstring); `features_dim` wide."""

    def __init__(self, reader: TreeEncoder, options: Mapping[str, Sequence[nn.Module]],
                 fusions: Sequence[nn.Module], projections: Sequence[nn.Module], features_dim: int) -> None:
        super().__init__()
        self.reader = reader
        """Converts observations into each source's input (the first candidate network)."""
        self.names = list(reader.branches)
        self.options = nn.ModuleDict({name: nn.ModuleList(options[name]) for name in self.names})
        self.fusions = nn.ModuleList(fusions)
        self.projections = nn.ModuleList(projections)
        self.features_dim = features_dim
        self.mixing: Mixing = first_candidate

    def _mix(self, entry: str, ops: Sequence[Callable[[], torch.Tensor]]) -> torch.Tensor:
        weights = self.mixing(entry)
        if isinstance(weights, int):
            return ops[weights]()
        return torch.stack([op() for op in ops]).mul(weights.view(-1, 1, 1)).sum(0)

    def forward(self, obs: Any) -> torch.Tensor:
        x = self.reader.encode_sources(obs)
        feats = [self._mix(name, [partial(op, x[name]) for op in cast(nn.ModuleList, self.options[name])])
                 for name in self.names]
        pairs = zip(self.fusions, self.projections, strict=True)
        return self._mix(FUSION, [partial(_fused, f, p, feats) for f, p in pairs])


def _fused(fusion: nn.Module, projection: nn.Module, feats: list[torch.Tensor]) -> torch.Tensor:
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
                   seed: int) -> tuple[SuperNet, dict[str, list[str]]]:
    """The supernet of `space` for SB3's view of `observation_space` (images channels-first, as the
    policy receives them), initialized from `seed`; and entry -> family names (candidate order)."""
    families = entry_families(space)
    sources = sb3_sources(sb3_view(observation_space))
    count = max(len(f) for f in families.values())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        nets = []
        for j in range(count):  # network j: every entry's j-th family (its last when it has fewer)
            pick = {e: fams[min(j, len(fams) - 1)] for e, fams in families.items()}
            tree = _projected(space.to_tree(derived_config(space, pick)))
            nets.append(compile_tree(tree, sources, catalog))
    options = {e: [nets[j].branches[e] for j in range(len(f))] for e, f in families.items() if e != FUSION}
    fusions = [nets[j].fusion for j in range(len(families[FUSION]))]
    widths = [nets[j].features_dim for j in range(len(fusions))]
    width = max(widths)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        projections = [nn.Identity() if w == width else nn.Linear(w, width) for w in widths]
    return SuperNet(nets[0], options, fusions, projections, width), families


def supernet_policy_kwargs(net: SuperNet) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` with the supernet as the (shared) features extractor."""
    return {"features_extractor_class": SupernetExtractor, "features_extractor_kwargs": {"supernet": net}}
