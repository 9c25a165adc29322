"""Tree strategies (hybrid, evolution, llmastool): a DEAP population evolved by transformations
that a planner chooses and a designer fills.

Start: a diverse first population (`DiverseStart`), evaluated before any edit.

Then one generation: per child an *arm* is drawn (`ArmBandit`: a planned edit filled at random,
the same filled by the LLM, or a whole LLM design); edit children select a parent (tournament,
or uniform among NSGA-II survivors), the planner plans a transformation, a site class and a
number of edits among the parent's legal moves, the designer picks the site and fills the slots,
and further random legal edits follow for a compound move. With a screen (hybrid, `SlotScreen`)
each slot draws several children and evaluates the one its model expects most of; an LLM arm's
answer (its edit, or its whole design) is one more child after the random fills, never in their
place, and an answer that fell back is left out -- so a model whose answers the screen passes over
changes nothing
(with ``llm_trust="learned"``, `AnswerTrust` may also take an answer unscreened, once the model's
answers have done better than the screen's picks).
After evaluation the planner is told each outcome (improvement over the parent, novelty vs. the
population), the arms learn whether their children beat the population median, new OK individuals
join the survivor selection, and the LLM designer reflects on the generation when an LLM arm was
used.

In the steady-state loop the same happens one child at a time: ``propose(1)`` from the population
as it stands, ``observe([child])`` as each outcome arrives (plans are asked and told by candidate
id, several in flight), and the designer reflects once every `reflect_every` observed candidates.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from evo_lacer.engine._arms import DESIGN_LLM, DESIGN_TPE, EDIT_LLM, LLM_ARMS, ArmBandit
from evo_lacer.engine._designer import Designer, RandomDesigner
from evo_lacer.engine._edit_maker import EditMaker
from evo_lacer.engine._edits import (
    Edit,
    credit_arms,
    edit_from_dict,
    edit_to_dict,
    outcome_of,
)
from evo_lacer.engine._flat_designs import FLAT_DESIGNS, FlatDesigns
from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._moves import LegalMoves
from evo_lacer.engine._planner import Planner, rng_from_state, rng_state
from evo_lacer.engine._population import (
    MISSING_OBJECTIVE,
    Individual,
    individual_from_dict,
    individual_to_dict,
    infeasible_values,
    make_fitness,
    objective_values,
    survive,
)
from evo_lacer.engine._records import Candidate, Plan
from evo_lacer.engine._screen import Screen, tree_features
from evo_lacer.engine._slot_screen import Screened, SlotScreen
from evo_lacer.engine._start import DiverseStart
from evo_lacer.engine._strategy import Strategy
from evo_lacer.engine._trust import AnswerTrust
from evo_lacer.engine._whole_designer import FlatSpaceLike, WholeDesigner
from evo_lacer.evaluate import Feedback
from evo_lacer.signals import Signal
from evo_lacer.transform import Site, Transformation, TransformContext
from evo_lacer.tree import Node
from evo_lacer.zoo import Catalog

LINEAGE_KEPT = 8
"""Edits remembered per individual (what repeat_previous repeats)."""
INSIGHT_LOG = 100
"""Generations whose reflection insights the checkpoint keeps (the designer keeps its own memory)."""
CONFIGS_KEPT = 64
"""Whole designs (flat configurations with their feedback) kept for the LLM's design prompts."""
OBSERVED_KEPT = 300
"""Evaluated trees (features and fitness) the screen's model trains on (the most recent kept)."""


class TreeStrategy(Strategy):
    """Population + arms + planner + designer (see module docstring)."""

    def __init__(
        self, *, name: str, planner: Planner, designer: Designer,
        transformations: Mapping[str, Transformation], catalog: Catalog, inputs: Mapping[str, Signal],
        seeds: Sequence[Node], task: str, seed: int, population_size: int, elitism: int,
        tournament_size: int, objectives: tuple[str, ...], history_kept: int = 6,
        space: FlatSpaceLike | None = None, initial_designs: int = 0, arms: ArmBandit | None = None,
        whole: WholeDesigner | None = None, llm_initial_designs: int = 0, screen: Screen | None = None,
        reflect_every: int = 0, screen_pool: str = "plan", designs: FlatDesigns | None = None,
        select_every: int = 0, trust: AnswerTrust | None = None,
    ) -> None:
        self.name = name
        self.planner = planner
        self.designer = designer
        self.random_designer = RandomDesigner()
        self.transformations = dict(transformations)
        self.edit_maker = EditMaker(transformations=self.transformations, catalog=catalog, task=task,
                                    seed=seed)
        self.catalog = catalog
        self.moves = LegalMoves(self.transformations, catalog, inputs, seed=seed,
                                tournament_size=tournament_size, multi_objective=len(objectives) > 1,
                                screen_pool=screen_pool)
        self.seeds = list(seeds)
        self.task = task
        self.seed = seed
        self.population_size = population_size
        self.elitism = elitism
        self.tournament_size = tournament_size
        self.objectives = tuple(objectives)
        self.history_kept = history_kept
        self.space = space
        self.arms = arms if arms is not None else ArmBandit(["edit:random"], seed=seed)
        self.whole = whole
        self.designs = designs if space is not None else None
        """Whole designs of the flat space: the screen's global candidates and the ``design:tpe``
        arm's (`FlatDesigns`; its TPE study is told every flat design's outcome)."""
        self.screen = (SlotScreen(screen, catalog, self.designs)
                       if screen is not None and screen.variants > 1 else None)
        self.trust = trust if trust is not None else AnswerTrust("screen", seed=seed)
        """Whether a screened LLM slot takes the model's answer without the screen (`AnswerTrust`)."""
        self.reflect_every = reflect_every
        """0: reflect at every `observe` (a generation); k: once k candidates were observed."""
        self.unreflected: list[Candidate] = []
        self.select_every = select_every
        """0: select survivors at every `observe` (a generation); k: once the population is full,
        once k children were observed (they wait in `offspring`, not yet parents)."""
        self.offspring: list[Individual] = []
        self.start = DiverseStart(self.seeds, space, initial_designs, seed=seed, whole=whole,
                                  llm_designs=llm_initial_designs)
        self.rng = np.random.default_rng([seed, 0xE70])
        self.started = False
        self.population: list[Individual] = []
        self.lineage: dict[int, list[Edit]] = {}
        self.recent: list[Candidate] = []
        self.configs: list[tuple[dict[str, Any], Feedback]] = []
        """Whole designs with their feedback, what the LLM's design prompts show (kept only when the
        LLM designs: the run's log holds every candidate, and a checkpoint need not repeat it)."""
        self.insights: list[list[str]] = []
        self.observed: list[tuple[dict[str, float], float]] = []
        self.seen: set[str] = set()
        self.flying_configs: dict[int, dict[str, Any]] = {}
        """Whole designs proposed and not yet observed (the steady loop's "this round")."""

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    # --- propose -------------------------------------------------------------------------
    def propose(self, n: int, generation: int, first_id: int) -> list[Proposal]:
        if not self.start.done:
            first = self.start.propose(n, first_id, list(self.flying_configs.values()), self.configs)
            self._fly(first, first_id)
            return first
        if not self.population:
            return []
        start = time.perf_counter()
        arms = [self.arms.choose() for _ in range(n)]
        picks: list[tuple[str, Individual | None, TransformContext | None, dict[str, list[Site]] | None]] = []
        for arm in arms:
            if arm == DESIGN_TPE or (arm == DESIGN_LLM and self.screen is None):
                picks.append((arm, None, None, None))
                continue
            chosen, chosen_ctx, legal_moves = self.moves.parent(self.population, self.lineage, self.rng)
            if legal_moves:
                picks.append((arm, chosen, chosen_ctx, legal_moves))
        if not picks:
            return []
        edits = [p for p in picks if p[1] is not None]
        legal = [{t: tuple(sorted({s.klass for s in sites})) for t, sites in moves.items()}
                 for _, _, _, moves in edits if moves is not None]
        keys = [first_id + i for i, p in enumerate(picks) if p[1] is not None]
        plans = iter(self.planner.ask(legal, keys=keys) if legal else [])
        plan_s = (time.perf_counter() - start) / len(picks)
        out: list[Proposal] = []
        this_round: list[dict[str, Any]] = list(self.flying_configs.values())
        screened: list[Screened] = []
        # whole designs join the screen only once there is a feasible tree to improve on: a search
        # walking back under a limit (max_params, latency) does it by editing its smallest trees
        feasible = self._has_feasible()
        history = tuple(self.recent[-self.history_kept:])  # what a designer is shown; fixed until observe
        index = 0
        for i, (arm, parent, ctx, moves) in enumerate(picks):
            t0 = time.perf_counter()
            status = ""
            if arm == DESIGN_TPE:
                assert self.designs is not None
                prop = self.designs.design_tpe(self.rng)
            elif parent is None or ctx is None or moves is None:
                assert self.whole is not None
                prop = self.whole.design(first_id + i, self.configs, this_round, origin=DESIGN_LLM)
            elif self.screen is None:
                designer = self.designer if arm == EDIT_LLM else self.random_designer
                prop = self.edit_maker.make(parent, ctx, moves, next(plans), first_id + i, index, plan_s,
                                            designer, history)
                index += 1
            else:  # screened: the pool edit:random would screen, then an LLM arm's answer, if any
                plan, cid = next(plans), first_id + i
                variants: list[Proposal] = []
                for v in range(self.screen.variants):
                    where = self.moves.variant_parent(self.population, self.lineage, parent, ctx, moves, plan,
                                                      cid, v)
                    variants.append(self.edit_maker.make(*where, cid, index, plan_s, self.random_designer,
                                                         history, variant=v))
                if feasible and self.designs is not None:
                    variants += self.designs.variants(first_id + i, index)
                answer, status = self._llm_answer(arm, parent, ctx, moves, plan, cid, index, plan_s, history,
                                                  this_round)
                index += 1
                if answer is not None and self.trust.trusts(arm):  # taken as it is, unscreened
                    self.screen.retire(variants)
                    prop, status = replace(answer, propose_s=time.perf_counter() - t0), "trusted"
                    prop.extra = {**prop.extra, "llm_won": True}
                else:
                    variants += [answer] if answer is not None else []
                    screened.append((len(out), variants, time.perf_counter() - t0))
                    prop = variants[0]
            prop.extra = {**prop.extra, "arm": arm, "origin": arm}
            if self.screen is not None and arm in LLM_ARMS:
                prop.extra["llm_answer"] = status
            self.arms.spent(arm, plan_s + time.perf_counter() - t0)
            out.append(prop)
        if screened:
            assert self.screen is not None
            self.screen.choose(out, screened, seen=self.seen, observed=self.observed, rng=self.rng)
        self._fly(out, first_id)
        return out

    def _llm_answer(self, arm: str, parent: Individual, ctx: TransformContext, moves: dict[str, list[Site]],
                    plan: Plan, cid: int, index: int, plan_s: float, history: tuple[Candidate, ...],
                    this_round: list[dict[str, Any]]) -> tuple[Proposal | None, str]:
        """An LLM arm's answer for a screened slot, and what became of it: ``screened`` (it joins the
        pool, after the random fills), ``fell back`` or ``no tree`` (left out: a fallback is a random
        fill, not the model's, and the pool has those already). Only the model's own answers enter a
        screen, so a run whose answers the screen passes over makes the trees of the run without an LLM."""
        if arm == EDIT_LLM:  # variant 0's parent, plan and seeds, filled by the LLM
            answer = self.edit_maker.make(parent, ctx, moves, plan, cid, index, plan_s, self.designer,
                                          history)
        elif arm == DESIGN_LLM:  # told to the planner as its slot's plan when chosen, as a flat draw is
            assert self.whole is not None
            whole = self.whole.design(cid, self.configs, this_round, origin=DESIGN_LLM)
            answer = replace(whole, extra={**whole.extra, "plan_index": index})
        else:
            return None, ""
        if answer.fell_back:
            return None, "fell back"
        if answer.tree is None:
            return None, "no tree"
        return answer, "screened"

    def _fly(self, out: list[Proposal], first_id: int) -> None:
        for i, prop in enumerate(out):
            if prop.choice and prop.transformation in FLAT_DESIGNS:
                self.flying_configs[first_id + i] = dict(prop.choice)

    # --- observe -------------------------------------------------------------------------
    def observe(self, candidates: Sequence[Candidate]) -> None:
        cands = sorted(candidates, key=lambda c: c.id)
        for c in cands:
            self.flying_configs.pop(c.id, None)
        planned = sorted((c for c in cands if "plan_index" in c.extra),
                         key=lambda c: int(c.extra["plan_index"]))
        flying = set(self.planner.in_flight)
        told = [c for c in planned if c.id in flying]
        if told:
            self.planner.tell([outcome_of(c, self.population) for c in told], keys=[c.id for c in told])
        elif self.planner.pending is not None and not flying:  # asked without keys (an older checkpoint)
            self.planner.tell([outcome_of(c, self.population) for c in planned])
        credit_arms(cands, self.population, self.arms, self.trust)
        new = []
        if self.designs is not None:
            self.designs.tell(cands)
        # With no feasible member, rejected and failed children compete by how near they are to
        # passing, so a search whose start breaks a limit (max_params, latency) walks back under it.
        no_feasible = self.started and not self._has_feasible()
        for c in cands:
            if c.tree_hash:
                self.seen.add(c.tree_hash)
            if not (c.evaluated and c.feedback.ok) or c.tree is None:
                if no_feasible and c.tree is not None:
                    new.append(self._infeasible(c))
                continue
            tree = c.tree
            if self.screen is not None and c.fitness is not None:
                self.observed = [*self.observed, (tree_features(tree), float(c.fitness))][-OBSERVED_KEPT:]
            values = objective_values(self.objectives, c.feedback, c.gate)
            new.append(Individual(tree, c.id, c.tree_hash, c.feedback, make_fitness(values)))
            parent_edits = self.lineage.get(c.parents[0], []) if c.parents else []
            done = [edit_from_dict(e) for e in c.extra.get("edits", [c.extra["edit"]] if "edit" in c.extra
                                                           else [])]
            self.lineage[c.id] = (parent_edits + done)[-LINEAGE_KEPT:]
            if c.choice and c.transformation in FLAT_DESIGNS and self.whole is not None:
                self.configs = [*self.configs, (dict(c.choice), c.feedback)][-CONFIGS_KEPT:]
        self._select(new)
        starting = not self.started
        if starting and not self.population and self.start.done:
            # Every design of the start failed or was rejected: evolve from those trees anyway.
            self.population = [self._infeasible(c) for c in cands if c.tree is not None]
        alive = {ind.candidate_id for ind in self.population + self.offspring}
        self.lineage = {k: v for k, v in self.lineage.items() if k in alive}
        self._reflect(cands)
        self.started = self.start.done
        self.recent = (self.recent + [c for c in cands if "arm" in c.extra])[-self.history_kept:]

    def _has_feasible(self) -> bool:
        """Whether a member of the population passed the gate and was evaluated."""
        return any(ind.score > MISSING_OBJECTIVE for ind in self.population)

    def _infeasible(self, c: Candidate) -> Individual:
        assert c.tree is not None
        return Individual(c.tree, c.id, c.tree_hash, c.feedback,
                          make_fitness(infeasible_values(len(self.objectives), c.gate)))

    def _select(self, new: list[Individual]) -> None:
        """Survivor selection over the population and the new children (with `select_every`, only
        once that many children waited while the population was full)."""
        if self.select_every > 0:
            room = max(0, self.population_size - len(self.population))
            self.population, new = self.population + new[:room], new[room:]
            self.offspring = [*self.offspring, *new]
            if len(self.offspring) < self.select_every:
                return
            new, self.offspring = self.offspring, []
        self.population = survive(self.population + new, self.population_size, elitism=self.elitism,
                                  tournament_size=self.tournament_size,
                                  multi_objective=self.multi_objective, rng=self.rng)

    def _reflect(self, cands: list[Candidate]) -> None:
        """Let the designer reflect on a generation (or, steady, on the last `reflect_every`
        candidates) when an LLM arm made one of them."""
        if not self.started:
            return
        if self.reflect_every > 0:
            self.unreflected = [*self.unreflected, *cands]
            if len(self.unreflected) < self.reflect_every:
                return
            cands, self.unreflected = self.unreflected, []
        if any(c.extra.get("arm") in (EDIT_LLM, DESIGN_LLM) for c in cands):
            self.insights = [*self.insights, self.designer.reflect(cands)][-INSIGHT_LOG:]

    # --- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.name, "started": self.started, "initial_proposed": self.start.proposed,
            "rng": rng_state(self.rng),
            "population": [individual_to_dict(ind) for ind in self.population],
            "offspring": [individual_to_dict(ind) for ind in self.offspring],
            "lineage": {str(k): [edit_to_dict(e) for e in v] for k, v in self.lineage.items()},
            "recent": [c.to_dict() for c in self.recent],
            "unreflected": [c.to_dict() for c in self.unreflected],
            "flying_configs": [[k, v] for k, v in self.flying_configs.items()],
            "configs": [[cfg, fb.to_dict()] for cfg, fb in self.configs],
            "insights": self.insights, "arms": self.arms.state_dict(), "trust": self.trust.state_dict(),
            "observed": [[f, y] for f, y in self.observed], "seen": sorted(self.seen),
            "whole": None if self.whole is None else self.whole.counters(),
            **(self.designs.state_dict() if self.designs is not None else {"tpe": None, "screen_spare": []}),
            "planner": self.planner.state_dict(), "designer": self.designer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.started = bool(state["started"])
        self.start.proposed = int(state.get("initial_proposed", self.start.total if self.started else 0))
        self.rng = rng_from_state(state["rng"])
        self.population = [individual_from_dict(p) for p in state["population"]]
        self.offspring = [individual_from_dict(p) for p in state.get("offspring", [])]
        self.lineage = {int(k): [edit_from_dict(e) for e in v] for k, v in state["lineage"].items()}
        self.recent = [Candidate.from_dict(c) for c in state["recent"]]
        self.unreflected = [Candidate.from_dict(c) for c in state.get("unreflected", [])]
        self.flying_configs = {int(k): dict(v) for k, v in state.get("flying_configs", [])}
        self.configs = [(dict(cfg), Feedback.from_dict(fb)) for cfg, fb in state.get("configs", [])]
        self.insights = [list(i) for i in state.get("insights", [])]
        self.observed = [(dict(f), float(y)) for f, y in state.get("observed", [])]
        self.seen = set(state.get("seen", []))
        if "arms" in state:
            self.arms.load_state_dict(state["arms"])
        if "trust" in state:  # (a checkpoint from before llm_trust: the default, nothing learned)
            self.trust.load_state_dict(state["trust"])
        if self.designs is not None:
            self.designs.load_state_dict(state)
        if self.whole is not None and state.get("whole"):
            self.whole.load_counters(state["whole"])
        self.planner.load_state_dict(state["planner"])
        self.designer.load_state_dict(state["designer"])

    def accounting(self) -> dict[str, Any]:
        acc = getattr(self.designer, "accounting", None)
        out: dict[str, Any] = {"planner": self.planner.name, "designer": self.designer.name,
                               "population": len(self.population), "arms": self.arms.to_dict(),
                               "llm_trust": self.trust.to_dict()}
        if acc is not None:
            llm = acc.to_dict()
            if self.whole is not None:
                llm["whole_designs"] = self.whole.counters()
            out["llm"] = llm
        return out

