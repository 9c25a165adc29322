"""pepnas: LACER's PEPNAS baseline -- evolutionary NAS with progressive evaluation and
sub-population preservation, over the flat per-source space (see ``docs/baselines.md``).

- genome: a configuration of the flat space (one entry per source, and the fusion);
- the initial population: `population` random configurations;
- each generation: parents by binary crowded tournaments, a child by uniform crossover of two
  parents' entries and per-entry mutation (`evo_lacer.engine._pepnas_ops`); a child that repeats a
  configuration already proposed is mutated again (up to `MAX_TRIES` times);
- survival: NSGA-II (`deap.tools.selNSGA2`) on (fitness, -params) -- or on `SearchConfig.objectives`
  when they name more than the fitness;
- progressive evaluation: every candidate of generation g carries ``extra["budget_fraction"]``,
  linear from 0.25 to 1 over the planned generations (the last `FULL_GENERATIONS` at 1); the harness
  trains it with that fraction of the evaluator's budget (PPO env steps for `RLEvaluator`,
  gradient steps for `ImitationEvaluator`). An evaluator without a training budget (a user's fitness
  function) ignores it; the fraction is still recorded;
- sub-population preservation: individuals removed by survival go to an archive; every
  `REINJECT_EVERY` observed generations (after that generation's survival, from the individuals
  archived before it), the archive's own first front (the archived individuals no
  other archived one dominates: on or near the first front of population + archive) is merged back
  into the population, best first by rank and crowding among population + archive, at most
  `REINJECT_SHARE` of the population (the next survival may remove them again). Each merge is
  recorded in the state (``reinjections``: generation and ids) and counted in the run summary;
- weight inheritance: a child asks (``extra["inherit"]``: entry -> parent id) to start each entry's
  encoder tensors (a source's branch, the fusion) from the trained weights of the parent that entry
  came from in crossover, where keys and shapes match; an entry whose family mutation changed
  starts fresh. The initial population inherits nothing (``{}``) but, like every candidate, saves
  its trained encoder in the run folder's ``weights/`` (`evo_lacer.engine._weights`; evaluators
  without weights record it as unavailable). Children that inherited and their tensors are counted
  in the run summary (``pepnas.inherited``, ``pepnas.inherited_tensors``).

Every random choice of a candidate comes from `candidate_rng(seed, id)`, so a run is deterministic for
a seed and a resumed run continues exactly (weight files stay in the run folder; a child whose parent
file is missing trains from scratch, and its metrics say so).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._pepnas_ops import (
    FULL_GENERATIONS,
    EntrySpace,
    Member,
    budget_fraction,
    crowded_tournament,
    inherited_entries,
    mutate,
    planned_generations,
    ranked,
    survivors,
    uniform_crossover,
)
from evo_lacer.engine._population import check_objectives, objective_values
from evo_lacer.engine._records import Candidate
from evo_lacer.engine._strategy import Strategy, candidate_rng
from evo_lacer.engine._whole_designer import config_key
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate._budget import BUDGET_FRACTION
from evo_lacer.evaluate._inherit import INHERIT

if TYPE_CHECKING:
    from evo_lacer.engine._config import SearchConfig
    from evo_lacer.engine._registry import StrategySpec
    from evo_lacer.engine._wiring import StrategyParts

REINJECT_EVERY = 2
"""Observed generations between two merges of the archive back into the population."""
REINJECT_SHARE = 0.5
"""Most archived individuals merged back at once, as a share of the population size (at least 1)."""
ARCHIVE_LIMIT = 256
"""Most archived individuals kept (the oldest go first)."""
MAX_TRIES = 16
"""Re-mutations of a child that repeats a configuration already proposed."""
DEFAULT_OBJECTIVES = ("fitness", "-params")

__all__ = ["FULL_GENERATIONS", "PepnasStrategy", "build_pepnas"]


class PepnasStrategy(Strategy):
    """NSGA-II over flat configurations with progressive budgets and an archive (module docstring)."""

    def __init__(self, *, space: EntrySpace, seed: int, population_size: int, batch_size: int, budget: int,
                 objectives: Sequence[str] = DEFAULT_OBJECTIVES) -> None:
        check_objectives(objectives)
        if len(objectives) < 2:
            raise ConfigError(f"pepnas needs two or more objectives for NSGA-II, got {tuple(objectives)}; "
                              f"use e.g. {DEFAULT_OBJECTIVES}")
        self.name = "pepnas"
        self.space = space
        self.seed = seed
        self.mu = population_size
        self.objectives = tuple(objectives)
        self.planned = planned_generations(budget, population_size, batch_size)
        self.population: list[Member] = []
        self.archive: list[Member] = []
        self.flying: dict[int, dict[str, Any]] = {}
        """Configurations proposed and not observed yet, by candidate id."""
        self.seen: set[str] = set()
        """Keys of every configuration proposed (children avoid repeating them)."""
        self.fractions: dict[int, float] = {}
        """Generation -> its training-budget fraction."""
        self.reinjections: list[dict[str, Any]] = []
        self.rounds = 0
        """Generations observed."""
        self.env_steps = 0
        """Env steps of the evaluations observed (training and scoring; cache answers cost none)."""
        self.inherited = 0
        """Children evaluated that started from one or more of their parents' tensors."""
        self.inherited_tensors = 0
        """Tensors those children loaded from their parents."""

    # --- propose -------------------------------------------------------------------------
    def propose(self, n: int, generation: int, first_id: int) -> list[Proposal]:
        fraction = budget_fraction(generation, self.planned)
        self.fractions[generation] = fraction
        out: list[Proposal] = []
        for cid in range(first_id, first_id + n):
            start = time.perf_counter()
            rng = candidate_rng(self.seed, cid)
            initial = len(self.population) + len(self.flying) < self.mu
            parents: tuple[int, ...] = ()
            config: dict[str, Any] = {}
            inherit: dict[str, int] = {}
            try:
                if initial:
                    config = self.space.validate(self.space.sample(rng))
                else:
                    a, b = crowded_tournament(self.population, rng), crowded_tournament(self.population, rng)
                    parents = (a.id, b.id) if a.id != b.id else (a.id,)
                    crossed, picks = uniform_crossover(a.config, b.config, self.space.entries(), rng)
                    config = mutate(self.space, crossed, rng)
                for _ in range(MAX_TRIES):
                    if config_key(config) not in self.seen:
                        break
                    config = mutate(self.space, config, rng, at_least_one=True)
                if not initial:
                    inherit = inherited_entries(crossed, config, picks, (a.id, b.id))
                tree, error = self.space.to_tree(config), ""
            except Exception as exc:  # a space bug rejects the candidate, never stops the search
                tree, error = None, f"configuration could not be built: {type(exc).__name__}: {exc}"
            self.flying[cid] = config
            self.seen.add(config_key(config))
            out.append(Proposal(tree=tree, parents=parents, transformation=self.name, choice=dict(config),
                                designer="initial" if initial else "nsga2", error=error,
                                plan={"generation": generation}, propose_s=time.perf_counter() - start,
                                extra={BUDGET_FRACTION: fraction, INHERIT: inherit}))
        return out

    # --- observe -------------------------------------------------------------------------
    def observe(self, candidates: Sequence[Candidate]) -> None:
        cands = sorted(candidates, key=lambda c: c.id)
        if not cands:
            return
        known = {config_key(m.config) for m in (*self.population, *self.archive)}
        fresh: list[Member] = []
        for c in cands:
            config = self.flying.pop(c.id, None) or dict(c.choice)
            if c.evaluated and not c.cached:
                self.env_steps += int(c.feedback.cost.env_steps)
                tensors = int(c.feedback.metrics.get("inherited_tensors", 0))
                self.inherited += tensors > 0
                self.inherited_tensors += tensors
            key = config_key(config)
            if not c.feedback.ok or c.fitness is None or key in known:
                continue
            known.add(key)
            fraction = c.extra.get(BUDGET_FRACTION)
            fresh.append(Member(c.id, config, objective_values(self.objectives, c.feedback, c.gate),
                                c.generation, None if fraction is None else float(fraction)))
        self.population, removed = survivors([*self.population, *fresh], self.mu)
        self.rounds += 1
        if self.rounds % REINJECT_EVERY == 0:  # from the archive before this survival's removals
            self._reinject(max(c.generation for c in cands))
        self.archive = sorted([*self.archive, *removed], key=lambda m: m.id)[-ARCHIVE_LIMIT:]

    def _reinject(self, generation: int) -> None:
        """Merge the archive's first front (the best of what survival removed) back into the population."""
        if not self.archive:
            return
        marks = ranked([*self.population, *self.archive])
        own = ranked(self.archive)
        near = [m for m in self.archive if own[m.id][0] == 0]
        limit = max(1, int(self.mu * REINJECT_SHARE))
        chosen = sorted(near, key=lambda m: (marks[m.id][0], -marks[m.id][1], m.id))[:limit]
        if not chosen:
            return
        ids = {m.id for m in chosen}
        self.population = sorted([*self.population, *chosen], key=lambda m: m.id)
        self.archive = [m for m in self.archive if m.id not in ids]
        self.reinjections.append({"generation": generation, "ids": sorted(ids)})

    # --- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.name, "objectives": list(self.objectives), "planned": self.planned,
            "population": [m.to_dict() for m in self.population],
            "archive": [m.to_dict() for m in self.archive],
            "flying": [[k, v] for k, v in self.flying.items()], "seen": sorted(self.seen),
            "fractions": [[g, f] for g, f in sorted(self.fractions.items())],
            "reinjections": [dict(r) for r in self.reinjections], "rounds": self.rounds,
            "env_steps": self.env_steps, "inherited": self.inherited,
            "inherited_tensors": self.inherited_tensors,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.population = [Member.from_dict(m) for m in state["population"]]
        self.archive = [Member.from_dict(m) for m in state["archive"]]
        self.flying = {int(k): dict(v) for k, v in state["flying"]}
        self.seen = {str(k) for k in state["seen"]}
        self.fractions = {int(g): float(f) for g, f in state["fractions"]}
        self.reinjections = [{"generation": int(r["generation"]), "ids": [int(i) for i in r["ids"]]}
                             for r in state["reinjections"]]
        self.rounds = int(state["rounds"])
        self.env_steps = int(state["env_steps"])
        self.inherited = int(state.get("inherited", 0))  # a checkpoint from before weight inheritance
        self.inherited_tensors = int(state.get("inherited_tensors", 0))

    def accounting(self) -> dict[str, Any]:
        return {"designer": "nsga2", "env_steps": self.env_steps,
                "pepnas": {"budget_fractions": [self.fractions[g] for g in sorted(self.fractions)],
                           "reinjections": len(self.reinjections),
                           "reinjected": sum(len(r["ids"]) for r in self.reinjections),
                           "archive": len(self.archive), "population": len(self.population),
                           "inherited": self.inherited, "inherited_tensors": self.inherited_tensors}}


def build_pepnas(spec: StrategySpec, config: SearchConfig, parts: StrategyParts) -> Strategy:
    """pepnas over the flat per-source space (generational loop only)."""
    space = parts.space
    if space is None or not all(hasattr(space, a) for a in ("entries", "suggest_entry")):
        raise ValueError(f"strategy {config.strategy!r} needs a flat space with entries() and "
                         "suggest_entry()")
    if config.loop_kind != "generational":
        raise ConfigError(f"strategy 'pepnas' runs generations (NSGA-II survival and one training budget per "
                          f"generation); loop={config.loop!r} is not supported: "
                          "use loop='auto' (the default) or 'generational'")
    objectives = config.objectives if len(config.objectives) > 1 else DEFAULT_OBJECTIVES
    return PepnasStrategy(space=cast(EntrySpace, space), seed=config.seed, population_size=config.population,
                          batch_size=config.generation_size, budget=config.budget, objectives=objectives)
