"""Where a tree strategy can edit a parent: its transformation context, its legal moves (the sites
of the context-free transformations cached per tree, since parents are picked again and again and
a tree's sites never change), and the parent, moves and plan of a screened variant."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from evo_lacer.engine._edits import Edit
from evo_lacer.engine._optuna_planner import closest_legal
from evo_lacer.engine._population import Individual, select_parent
from evo_lacer.engine._records import Plan
from evo_lacer.signals import Signal
from evo_lacer.transform import Site, Transformation, TransformContext, legal_moves
from evo_lacer.tree import Node, tree_hash
from evo_lacer.zoo import Catalog

SITES_CACHED = 256
"""Trees whose context-free sites are kept (least recently used dropped first)."""

Moves = dict[str, list[Site]]
"""Legal sites per transformation name."""


class LegalMoves:
    """The moves of a parent among a population (see module docstring). Not state: the cache is
    rebuilt on demand after a resume."""

    def __init__(self, transformations: Mapping[str, Transformation], catalog: Catalog,
                 inputs: Mapping[str, Signal], *, seed: int, tournament_size: int, multi_objective: bool,
                 screen_pool: str = "plan") -> None:
        self.transformations = dict(transformations)
        self.catalog = catalog
        self.inputs = dict(inputs)
        self.seed = seed
        self.tournament_size = tournament_size
        self.multi_objective = multi_objective
        self.screen_pool = screen_pool
        """plan: the screened children share the parent and plan; parents: each its own parent."""
        self._sites: OrderedDict[str, Moves] = OrderedDict()

    def context(self, parent: Individual, population: Sequence[Individual],
                lineage: Mapping[int, list[Edit]]) -> TransformContext:
        """`parent`'s context: its lineage's edits, and the rest of the population as donors."""
        donors = tuple(ind.tree for ind in population if ind is not parent)
        return TransformContext(catalog=self.catalog, inputs=self.inputs,
                                history=tuple(lineage.get(parent.candidate_id, [])), donors=donors)

    def legal(self, tree: Node, ctx: TransformContext) -> Moves:
        """The legal sites of every transformation on `tree`, in the transformations' order."""
        fixed = {n: t for n, t in self.transformations.items() if t.context_free}
        key = tree_hash(tree, self.catalog)
        cached = self._sites.get(key)
        if cached is None:
            cached = legal_moves(tree, ctx, fixed)
            self._sites[key] = cached
            while len(self._sites) > SITES_CACHED:
                self._sites.popitem(last=False)
        else:
            self._sites.move_to_end(key)
        rest = legal_moves(tree, ctx, {n: t for n, t in self.transformations.items() if n not in fixed})
        return {n: list(cached[n]) if n in cached else rest[n] for n in self.transformations
                if n in cached or n in rest}

    def parent(self, population: Sequence[Individual], lineage: Mapping[int, list[Edit]],
               rng: np.random.Generator) -> tuple[Individual, TransformContext, Moves]:
        """A parent by tournament (uniform among NSGA-II survivors), its context and its legal moves
        (empty when it has none)."""
        chosen = select_parent(population, tournament_size=self.tournament_size,
                               multi_objective=self.multi_objective, rng=rng)
        ctx = self.context(chosen, population, lineage)
        return chosen, ctx, self.legal(chosen.tree, ctx)

    def variant_parent(self, population: Sequence[Individual], lineage: Mapping[int, list[Edit]],
                       parent: Individual, ctx: TransformContext, moves: Moves, plan: Plan, cid: int,
                       variant: int) -> tuple[Individual, TransformContext, Moves, Plan]:
        """Parent, context, legal moves and plan of a screened variant: the slot's own for variant 0
        or ``screen_pool="plan"``; else a tournament parent of its own (seeded by candidate and
        variant) with the plan mapped to the closest move legal for it."""
        if variant == 0 or self.screen_pool != "parents":
            return parent, ctx, moves, plan
        rng = np.random.default_rng([self.seed, cid, variant, 0x9A7])
        other, other_ctx, other_moves = self.parent(population, lineage, rng)
        if other is parent or not other_moves:
            return parent, ctx, moves, plan
        classes = {t: tuple(sorted({s.klass for s in sites})) for t, sites in other_moves.items()}
        if plan.site_class:
            t, klass = closest_legal(plan.transformation, plan.site_class, classes, rng)
        else:
            t, klass = plan.transformation, None
            if t not in classes:
                t = sorted(classes)[int(rng.integers(0, len(classes)))]
        return other, other_ctx, other_moves, replace(plan, transformation=t, site_class=klass)
