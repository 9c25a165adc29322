"""Every built-in transformation by name, and the legal moves on a tree."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from evo_lacer.transform._base import Site, Transformation, TransformContext
from evo_lacer.transform._composite import CreateComposite
from evo_lacer.transform._crossover import Crossover
from evo_lacer.transform._fusion import ChangeFusion
from evo_lacer.transform._modules import DeleteModule, InsertModule, SwapModule
from evo_lacer.transform._params import ChangeParameter
from evo_lacer.transform._repeat import RepeatPrevious
from evo_lacer.tree import Node


def _registry() -> dict[str, Transformation]:
    base: dict[str, Transformation] = {
        t.name: t
        for t in (ChangeParameter(), SwapModule(), InsertModule(), DeleteModule(), CreateComposite(),
                  ChangeFusion(), Crossover())
    }
    repeat = RepeatPrevious(dict(base))
    return {**base, repeat.name: repeat}


ALL_TRANSFORMATIONS: Mapping[str, Transformation] = MappingProxyType(_registry())
"""name -> transformation: change_parameter, swap_module, insert_module, delete_module,
create_composite, change_fusion, crossover, repeat_previous."""


def legal_moves(tree: Node, ctx: TransformContext,
                transformations: Mapping[str, Transformation] | None = None) -> dict[str, list[Site]]:
    """name -> legal sites, for every transformation with at least one site on `tree`."""
    out: dict[str, list[Site]] = {}
    for name, t in (transformations or ALL_TRANSFORMATIONS).items():
        sites = t.sites(tree, ctx)
        if sites:
            out[name] = sites
    return out


def random_move(tree: Node, ctx: TransformContext, rng: np.random.Generator,
                transformations: Mapping[str, Transformation] | None = None) -> tuple[str, list[Site]] | None:
    """A transformation drawn uniformly among those of `transformations` with a legal site on
    `tree`, and its sites; None when none has one. It is the first of a random order that has a
    site, so only the tried transformations' sites are computed (a compound move's later edits
    need one transformation, not all of `legal_moves`)."""
    table = transformations or ALL_TRANSFORMATIONS
    names = sorted(table)
    for k in rng.permutation(len(names)):
        sites = table[names[int(k)]].sites(tree, ctx)
        if sites:
            return names[int(k)], sites
    return None
