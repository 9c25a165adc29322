"""One edited child, the tree strategies' local move: the planned transformation, filled by a
designer at a site of the parent, then -- for a compound move -- further random legal edits filled
by the same designer. Every random choice is seeded by the search seed, the candidate id and the
screen variant, so a child is the same whenever it is made again (a resumed search, a rerun)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from evo_lacer.engine._designer import DesignContext, Designer
from evo_lacer.engine._edits import Edit, edit_to_dict, site_to_dict
from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._population import MISSING_OBJECTIVE, Individual
from evo_lacer.engine._records import Candidate, Plan
from evo_lacer.engine._strategy import candidate_rng, candidate_seed
from evo_lacer.evaluate import Feedback, probe_quality
from evo_lacer.transform import Site, Transformation, TransformContext, random_move
from evo_lacer.tree import Node, tree_hash
from evo_lacer.zoo import Catalog


class EditMaker:
    """Makes edited children for one search (see module docstring)."""

    def __init__(self, *, transformations: Mapping[str, Transformation], catalog: Catalog, task: str,
                 seed: int) -> None:
        self.transformations = transformations
        self.catalog = catalog
        self.task = task
        self.seed = seed

    def make(self, parent: Individual, ctx: TransformContext, moves: dict[str, list[Site]], plan: Plan,
             cid: int, index: int, plan_s: float, designer: Designer, history: tuple[Candidate, ...],
             variant: int = 0) -> Proposal:
        """One child of `parent` by `plan` (candidate `cid`, the `index`-th plan of its batch),
        `history` being the recent candidates the designer is shown; `variant` > 0 draws another
        child for the screen."""
        start = time.perf_counter()
        t = self.transformations[plan.transformation]
        sites = tuple(s for s in moves[plan.transformation]
                      if plan.site_class is None or s.klass == plan.site_class)
        parent_fitness = parent.score if parent.score > MISSING_OBJECTIVE else None
        base: dict[str, Any] = dict(parents=(parent.candidate_id,), parent_tree=parent.tree,
                                    transformation=plan.transformation, prompt_category=plan.prompt_category,
                                    plan=plan.to_dict())
        extra: dict[str, Any] = {"parent_fitness": parent_fitness, "plan_index": index,
                                 "parent_quality": probe_quality(parent.feedback.features)
                                 if parent.feedback is not None else None}
        rng = candidate_rng(self.seed, cid) if not variant else np.random.default_rng(
            [self.seed, cid, variant, 0x5C7])
        context = DesignContext(
            tree=parent.tree, transformation=t, sites=sites, ctx=ctx, plan=plan,
            rng=rng, parent_feedback=parent.feedback if parent_fitness is not None
            else None, task=self.task, history=history,
            seed=candidate_seed(self.seed, cid), candidate_id=cid)
        try:
            decision = designer.fill(context)
        except Exception as exc:  # a transformation bug must not stop the search
            return Proposal(tree=None, error=f"designer failed: {type(exc).__name__}: {exc}",
                            propose_s=plan_s + time.perf_counter() - start, extra=extra, **base)
        extra.update(site_data=site_to_dict(decision.site), llm_calls=decision.llm_calls,
                     differs_from_random=decision.differs_from_random, llm_errors=list(decision.errors))
        done: dict[str, Any] = dict(site=decision.site.describe(), site_class=decision.site.klass,
                    choice=dict(decision.choice), designer=decision.designer, fell_back=decision.fell_back)
        intended: tuple[str, Site, dict[str, Any]] | None = (t.name, decision.site, dict(decision.choice))
        try:
            child = t.apply(parent.tree, decision.site, decision.choice, ctx)
        except Exception as exc:
            return Proposal(tree=None, error=f"{t.name} could not be applied: {type(exc).__name__}: {exc}",
                            propose_s=plan_s + time.perf_counter() - start, extra=extra, **base, **done)
        edits = [self.as_edit(t, decision.site, dict(decision.choice), ctx)]
        child, more = self.more_edits(child, ctx, plan, cid, designer, context.parent_feedback,
                                      history, variant)
        edits += more
        if more:  # the gate checks intent against the parent; later edits may move the first site
            intended = None
        extra["edit"] = edit_to_dict(edits[0])
        if len(edits) > 1:
            extra["edits"] = [edit_to_dict(e) for e in edits]
        return Proposal(tree=child, propose_s=plan_s + time.perf_counter() - start, extra=extra,
                        intended=intended, **base, **done)

    @staticmethod
    def as_edit(t: Transformation, site: Site, choice: dict[str, Any], ctx: TransformContext) -> Edit:
        """The edit to remember (repeat_previous is remembered as what it repeated)."""
        resolve = getattr(t, "resolve", None)
        if t.name == "repeat_previous" and callable(resolve):
            prev = resolve(ctx)
            if prev is not None:
                return (prev[0].name, site, dict(prev[2]))
        return (t.name, site, choice)

    def more_edits(self, tree: Node, ctx: TransformContext, plan: Plan, cid: int, designer: Designer,
                   parent_feedback: Feedback | None, history: tuple[Candidate, ...], variant: int = 0
                   ) -> tuple[Node, list[Edit]]:
        """A compound move: ``plan.edits - 1`` further random legal edits on the child, filled by the
        same designer; the first that cannot be made, or changes nothing, ends the move (the child
        so far is kept)."""
        edits: list[Edit] = []
        for j in range(1, plan.edits):
            rng = np.random.default_rng([self.seed, cid, j, 0xC0] + ([variant] if variant else []))
            picked = random_move(tree, ctx, rng, {n: t for n, t in self.transformations.items()
                                                  if n != "repeat_previous"})
            if picked is None:
                break
            name, sites = picked
            t = self.transformations[name]
            context = DesignContext(
                tree=tree, transformation=t, sites=tuple(sites), ctx=ctx,
                plan=replace(plan, transformation=name, site_class=None, edits=1), rng=rng,
                parent_feedback=parent_feedback, task=self.task,
                history=history,
                seed=candidate_seed(self.seed, cid) + j, candidate_id=cid)
            try:
                decision = designer.fill(context)
                edited = t.apply(tree, decision.site, decision.choice, ctx)
            except Exception:
                break
            if tree_hash(edited, self.catalog) == tree_hash(tree, self.catalog):
                break
            tree = edited
            edits.append((name, decision.site, dict(decision.choice)))
        return tree, edits
