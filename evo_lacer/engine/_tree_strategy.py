"""Tree strategies (hybrid, evolution, llmastool): a DEAP population evolved by transformations
that a planner chooses and a designer fills.

One generation: select parents (tournament, or uniform among NSGA-II survivors) -> the planner
plans one transformation per parent among its legal moves -> the designer picks the site and
fills the slots -> the transformation is applied. After evaluation the planner is told each
outcome (improvement over the parent, novelty vs. the population), new OK individuals join the
survivor selection, and the designer reflects on the generation.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from evo_lacer.engine._designer import DesignContext, Designer
from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._planner import Planner, rng_from_state, rng_state
from evo_lacer.engine._population import (
    MISSING_OBJECTIVE,
    Individual,
    make_fitness,
    objective_values,
    select_parent,
    survive,
)
from evo_lacer.engine._records import Candidate, Outcome
from evo_lacer.engine._strategy import Strategy, candidate_rng, candidate_seed
from evo_lacer.evaluate import Feedback, Status, probe_quality
from evo_lacer.signals import Signal
from evo_lacer.transform import Site, Transformation, TransformContext
from evo_lacer.tree import Node, distance, node_from_dict, node_to_dict, tree_hash
from evo_lacer.zoo import Catalog

LINEAGE_KEPT = 8
"""Edits remembered per individual (what repeat_previous repeats)."""
SITES_CACHED = 256
"""Trees whose context-free sites are kept (least recently used dropped first)."""
INSIGHT_LOG = 100
"""Generations whose reflection insights the checkpoint keeps (the designer keeps its own memory)."""

Edit = tuple[str, Site, Mapping[str, Any]]


def site_to_dict(site: Site) -> dict[str, Any]:
    out = asdict(site)
    out["path"] = list(site.path)
    return out


def site_from_dict(data: Mapping[str, Any]) -> Site:
    return Site(**{**data, "path": tuple(data["path"])})


def _edit_to_dict(edit: Edit) -> dict[str, Any]:
    name, site, choice = edit
    return {"transformation": name, "site": site_to_dict(site),
            "choice": {k: list(v) if isinstance(v, tuple) else v for k, v in choice.items()}}


def _edit_from_dict(data: Mapping[str, Any]) -> Edit:
    choice = {k: tuple(v) if isinstance(v, list) else v for k, v in data["choice"].items()}
    return (str(data["transformation"]), site_from_dict(data["site"]), choice)


def outcome_of(cand: Candidate, population: Sequence[Individual]) -> Outcome:
    """How a planned candidate fared: improvement over its parent (scaled by the population's
    fitness spread, clipped to [-1, 1]), novelty (tree distance to the nearest member) and the
    gain in probe quality over its parent (when both have feature probes)."""
    status = {Status.REJECTED: "rejected", Status.FAILED: "failed", Status.TIMED_OUT: "timed_out"}.get(
        cand.status, "duplicate" if cand.cached else "ok")
    novelty = 0.0
    if cand.tree and population:
        tree = node_from_dict(dict(cand.tree))
        novelty = min(distance(tree, ind.tree) for ind in population)
    improvement = None
    parent = cand.extra.get("parent_fitness")
    if cand.fitness is not None and status in ("ok", "duplicate"):
        improvement = 0.0
        if isinstance(parent, int | float):
            scores = [ind.score for ind in population if ind.score > MISSING_OBJECTIVE]
            spread = (max(scores) - min(scores)) if scores else 0.0
            spread = max(spread, 1e-3 * max(1.0, abs(parent)))
            improvement = float(np.clip((cand.fitness - parent) / spread, -1.0, 1.0))
    gain = None
    parent_quality, quality = cand.extra.get("parent_quality"), probe_quality(cand.feedback.features)
    if status in ("ok", "duplicate") and isinstance(parent_quality, int | float) and quality is not None:
        gain = float(np.clip(quality - parent_quality, -1.0, 1.0))
    return Outcome(status, improvement, novelty, gain)


class TreeStrategy(Strategy):
    """Population + planner + designer (see module docstring)."""

    def __init__(
        self, *, name: str, planner: Planner, designer: Designer,
        transformations: Mapping[str, Transformation], catalog: Catalog, inputs: Mapping[str, Signal],
        seeds: Sequence[Node], task: str, seed: int, population_size: int, elitism: int,
        tournament_size: int, objectives: tuple[str, ...], history_kept: int = 6,
    ) -> None:
        self.name = name
        self.planner = planner
        self.designer = designer
        self.transformations = dict(transformations)
        self.catalog = catalog
        self.inputs = dict(inputs)
        self.seeds = list(seeds)
        self.task = task
        self.seed = seed
        self.population_size = population_size
        self.elitism = elitism
        self.tournament_size = tournament_size
        self.objectives = tuple(objectives)
        self.history_kept = history_kept
        self.rng = np.random.default_rng([seed, 0xE70])
        self.started = False
        self.population: list[Individual] = []
        self.lineage: dict[int, list[Edit]] = {}
        self.recent: list[Candidate] = []
        self.insights: list[list[str]] = []
        self._sites: OrderedDict[str, dict[str, list[Site]]] = OrderedDict()
        """Sites of the context-free transformations by tree hash (parents are picked again and
        again; the sites of a tree never change). Not state: rebuilt on demand after a resume."""

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def _ctx(self, parent: Individual) -> TransformContext:
        donors = tuple(ind.tree for ind in self.population if ind is not parent)
        return TransformContext(catalog=self.catalog, inputs=self.inputs,
                                history=tuple(self.lineage.get(parent.candidate_id, [])), donors=donors)

    def _legal(self, tree: Node, ctx: TransformContext) -> dict[str, list[Site]]:
        from evo_lacer.transform import legal_moves

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

    # --- propose -------------------------------------------------------------------------
    def propose(self, n: int, generation: int, first_id: int) -> list[Proposal]:
        if not self.started:
            return [Proposal(tree=s, transformation="seed", designer="seed") for s in self.seeds[:n]]
        if not self.population:
            return []
        start = time.perf_counter()
        picks = []
        for _ in range(n):
            parent = select_parent(self.population, tournament_size=self.tournament_size,
                                   multi_objective=self.multi_objective, rng=self.rng)
            ctx = self._ctx(parent)
            moves = self._legal(parent.tree, ctx)
            if moves:
                picks.append((parent, ctx, moves))
        if not picks:
            return []
        legal = [{t: tuple(sorted({s.klass for s in sites})) for t, sites in moves.items()}
                 for _, _, moves in picks]
        plans = self.planner.ask(legal)
        plan_s = (time.perf_counter() - start) / len(plans)
        out = []
        for i, ((parent, ctx, moves), plan) in enumerate(zip(picks, plans, strict=True)):
            out.append(self._design(parent, ctx, moves, plan, first_id + i, i, plan_s))
        return out

    def _design(self, parent: Individual, ctx: TransformContext, moves: dict[str, list[Site]], plan: Any,
                cid: int, index: int, plan_s: float) -> Proposal:
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
        context = DesignContext(
            tree=parent.tree, transformation=t, sites=sites, ctx=ctx, plan=plan,
            rng=candidate_rng(self.seed, cid), parent_feedback=parent.feedback if parent_fitness is not None
            else None, task=self.task, history=tuple(self.recent[-self.history_kept:]),
            seed=candidate_seed(self.seed, cid), candidate_id=cid)
        try:
            decision = self.designer.fill(context)
        except Exception as exc:  # a transformation bug must not stop the search
            return Proposal(tree=None, error=f"designer failed: {type(exc).__name__}: {exc}",
                            propose_s=plan_s + time.perf_counter() - start, extra=extra, **base)
        extra.update(site_data=site_to_dict(decision.site), llm_calls=decision.llm_calls,
                     differs_from_random=decision.differs_from_random, llm_errors=list(decision.errors))
        done: dict[str, Any] = dict(site=decision.site.describe(), site_class=decision.site.klass,
                    choice=dict(decision.choice), designer=decision.designer, fell_back=decision.fell_back)
        intended = (t.name, decision.site, dict(decision.choice))
        try:
            child = t.apply(parent.tree, decision.site, decision.choice, ctx)
            edit: Edit = (t.name, decision.site, dict(decision.choice))
            resolve = getattr(t, "resolve", None)
            if t.name == "repeat_previous" and callable(resolve):
                prev = resolve(ctx)
                if prev is not None:
                    edit = (prev[0].name, decision.site, dict(prev[2]))
            extra["edit"] = _edit_to_dict(edit)
        except Exception as exc:
            return Proposal(tree=None, error=f"{t.name} could not be applied: {type(exc).__name__}: {exc}",
                            propose_s=plan_s + time.perf_counter() - start, extra=extra, **base, **done)
        return Proposal(tree=child, propose_s=plan_s + time.perf_counter() - start, extra=extra,
                        intended=intended, **base, **done)

    # --- observe -------------------------------------------------------------------------
    def observe(self, candidates: Sequence[Candidate]) -> None:
        cands = sorted(candidates, key=lambda c: c.id)
        if self.planner.pending is not None:
            planned = sorted((c for c in cands if "plan_index" in c.extra),
                             key=lambda c: int(c.extra["plan_index"]))
            self.planner.tell([outcome_of(c, self.population) for c in planned])
        new = []
        for c in cands:
            if not (c.evaluated and c.feedback.ok):
                continue
            values = objective_values(self.objectives, c.feedback, c.gate)
            new.append(Individual(node_from_dict(dict(c.tree)), c.id, c.tree_hash, c.feedback,
                                  make_fitness(values)))
            parent_edits = self.lineage.get(c.parents[0], []) if c.parents else []
            edit = [_edit_from_dict(c.extra["edit"])] if "edit" in c.extra else []
            self.lineage[c.id] = (parent_edits + edit)[-LINEAGE_KEPT:]
        self.population = survive(self.population + new, self.population_size, elitism=self.elitism,
                                  tournament_size=self.tournament_size,
                                  multi_objective=self.multi_objective, rng=self.rng)
        if not self.started and not self.population:
            # Every seed failed or was rejected: evolve from the seed trees anyway.
            self.population = [
                Individual(node_from_dict(dict(c.tree)), c.id, c.tree_hash, c.feedback,
                           make_fitness((MISSING_OBJECTIVE,) * len(self.objectives)))
                for c in cands if c.tree
            ]
        alive = {ind.candidate_id for ind in self.population}
        self.lineage = {k: v for k, v in self.lineage.items() if k in alive}
        if self.started:
            self.insights = [*self.insights, self.designer.reflect(cands)][-INSIGHT_LOG:]
        self.started = True
        self.recent = (self.recent + [c for c in cands if c.transformation != "seed"])[-self.history_kept:]

    # --- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.name, "started": self.started, "rng": rng_state(self.rng),
            "population": [
                {"id": ind.candidate_id, "hash": ind.tree_hash, "tree": node_to_dict(ind.tree),
                 "feedback": ind.feedback.to_dict(), "values": list(ind.fitness.values)}
                for ind in self.population
            ],
            "lineage": {str(k): [_edit_to_dict(e) for e in v] for k, v in self.lineage.items()},
            "recent": [c.to_dict() for c in self.recent],
            "insights": self.insights,
            "planner": self.planner.state_dict(), "designer": self.designer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.started = bool(state["started"])
        self.rng = rng_from_state(state["rng"])
        self.population = [
            Individual(node_from_dict(p["tree"]), int(p["id"]), str(p["hash"]),
                       Feedback.from_dict(p["feedback"]), make_fitness(tuple(p["values"])))
            for p in state["population"]
        ]
        self.lineage = {int(k): [_edit_from_dict(e) for e in v] for k, v in state["lineage"].items()}
        self.recent = [Candidate.from_dict(c) for c in state["recent"]]
        self.insights = [list(i) for i in state.get("insights", [])]
        self.planner.load_state_dict(state["planner"])
        self.designer.load_state_dict(state["designer"])

    def accounting(self) -> dict[str, Any]:
        acc = getattr(self.designer, "accounting", None)
        out: dict[str, Any] = {"planner": self.planner.name, "designer": self.designer.name,
                               "population": len(self.population)}
        if acc is not None:
            out["llm"] = acc.to_dict()
        return out
