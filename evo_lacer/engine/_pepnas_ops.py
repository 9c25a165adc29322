"""The operators of the pepnas strategy, as plain functions (DEAP style): the progressive budget
schedule, NSGA-II ranking and mating selection, uniform crossover and per-gene mutation over a
flat per-source configuration.

A configuration's *genes* are its entries (each source, then ``"fusion"``); a gene's value is the
entry's family with that family's parameters. Crossover swaps whole entries, so a child is always
valid; mutation re-draws one decision of an entry (its family, or one parameter of its family)
through the space's own `suggest_entry`, so it can only pick a listed choice.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from deap import base, tools
from deap.tools.emo import assignCrowdingDist

from evo_lacer.engine._population import make_fitness
from evo_lacer.engine._whole_designer import FlatSpaceLike

MIN_FRACTION = 0.25
"""Training-budget fraction of the first generation (the initial population)."""
FULL_GENERATIONS = 2
"""The last planned generations trained with the full budget (the ramp reaches 1 there)."""


class EntrySpace(FlatSpaceLike, Protocol):
    """What pepnas needs of `evo_lacer.flat.FlatSpace` beyond the flat strategies' needs."""

    def entries(self) -> tuple[str, ...]: ...
    def suggest_entry(self, entry: str, trial: Any) -> dict[str, Any]: ...


@dataclass(eq=False)
class Member:
    """One individual of the population or the archive: an evaluated configuration and its
    maximized objective values (with a DEAP fitness for NSGA-II)."""

    id: int
    config: dict[str, Any]
    values: tuple[float, ...]
    generation: int
    fraction: float | None = None
    """The training-budget fraction it was evaluated with."""
    fitness: base.Fitness = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.fitness = make_fitness(self.values)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "config": self.config, "values": list(self.values),
                "generation": self.generation, "fraction": self.fraction}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Member:
        fraction = data.get("fraction")
        values = tuple(float(v) for v in data["values"])
        return cls(int(data["id"]), copy.deepcopy(dict(data["config"])), values, int(data["generation"]),
                   None if fraction is None else float(fraction))


# --- progressive evaluation --------------------------------------------------------------------
def planned_generations(budget: int, population: int, batch: int) -> int:
    """Generations a run of `budget` evaluations is expected to take: the initial population
    (`population` evaluations), then offspring generations of `batch`."""
    first = math.ceil(min(population, budget) / batch)
    return first + math.ceil(max(0, budget - population) / batch)


def budget_fraction(generation: int, planned: int) -> float:
    """Training-budget fraction of a generation: linear from `MIN_FRACTION` at generation 0 to 1 at
    generation ``planned - FULL_GENERATIONS``, then 1 (non-decreasing; rounded to 4 digits)."""
    ramp = max(1, planned - FULL_GENERATIONS)
    return round(min(1.0, MIN_FRACTION + (1.0 - MIN_FRACTION) * max(0, generation) / ramp), 4)


# --- NSGA-II -----------------------------------------------------------------------------------
def ranked(members: Sequence[Member]) -> dict[int, tuple[int, float]]:
    """Member id -> (non-domination rank, crowding distance) among `members` (rank 0: first front)."""
    pool = sorted(members, key=lambda m: m.id)
    out: dict[int, tuple[int, float]] = {}
    if not pool:
        return out
    for rank, front in enumerate(tools.sortNondominated(pool, len(pool))):
        assignCrowdingDist(front)
        for m in front:
            out[m.id] = (rank, float(m.fitness.crowding_dist))
    return out


def survivors(pool: Sequence[Member], mu: int) -> tuple[list[Member], list[Member]]:
    """NSGA-II survival (`deap.tools.selNSGA2`): (the `mu` kept, the rest), each by id."""
    pool = sorted(pool, key=lambda m: m.id)
    if len(pool) <= mu:
        return pool, []
    kept = {m.id for m in tools.selNSGA2(pool, mu)}
    return [m for m in pool if m.id in kept], [m for m in pool if m.id not in kept]


def crowded_tournament(population: Sequence[Member], rng: np.random.Generator) -> Member:
    """Binary tournament under NSGA-II's crowded comparison: lower rank, then larger crowding
    distance, then the earlier id wins."""
    marks = ranked(population)
    a, b = (population[int(i)] for i in rng.integers(0, len(population), size=2))
    return min((a, b), key=lambda m: (marks[m.id][0], -marks[m.id][1], m.id))


# --- variation ---------------------------------------------------------------------------------
def uniform_crossover(a: Mapping[str, Any], b: Mapping[str, Any], entries: Sequence[str],
                      rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, int]]:
    """Each entry (gene) from either parent with probability 1/2: (the child, entry -> the parent it
    came from, 0 for `a` and 1 for `b`)."""
    picks = {e: 0 if rng.random() < 0.5 else 1 for e in entries}
    return {e: copy.deepcopy(dict((a, b)[k][e])) for e, k in picks.items()}, picks


def inherited_entries(crossed: Mapping[str, Any], child: Mapping[str, Any], picks: Mapping[str, int],
                      parents: Sequence[int]) -> dict[str, int]:
    """Entry -> the id of the parent whose trained weights it starts from: the crossover's parent
    of each entry whose family mutation kept (a re-drawn parameter may still change shapes: those
    tensors are then skipped by the shape check); an entry whose family changed starts fresh."""
    return {e: parents[k] for e, k in picks.items()
            if child[e].get("family") == crossed[e].get("family")}


class _Decisions:
    """A trial that records an entry's decisions (name -> choices) and answers the current values."""

    def __init__(self, current: Mapping[str, Any], entry: str) -> None:
        self.current, self.entry = current, entry
        self.choices: dict[str, list[Any]] = {}

    def value(self, name: str, options: list[Any], rng: np.random.Generator | None) -> Any:
        rest = name[len(self.entry) + 1:]
        family = str(self.current.get("family"))
        if rest == "family" and family in options:
            return family
        if rest.startswith(family + ".") and self.current.get(rest[len(family) + 1:], None) in options:
            return self.current[rest[len(family) + 1:]]
        return options[0] if rng is None else options[int(rng.integers(len(options)))]

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        options = list(choices)
        self.choices[name] = options
        return self.value(name, options, None)


class _Redraw(_Decisions):
    """A trial that re-draws one named decision (another choice than the current one) and keeps the
    others; decisions the current values lack (a new family's parameters) are drawn at random."""

    def __init__(self, current: Mapping[str, Any], entry: str, target: str, rng: np.random.Generator) -> None:
        super().__init__(current, entry)
        self.target, self.rng = target, rng

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        options = list(choices)
        keep = self.value(name, options, self.rng)
        if name != self.target:
            return keep
        others = [o for o in options if o != keep] or options
        return others[int(self.rng.integers(len(others)))]


def mutate_entry(space: EntrySpace, entry: str, values: Mapping[str, Any],
                 rng: np.random.Generator) -> dict[str, Any]:
    """`values` of `entry` with one decision (the family or one parameter) re-drawn; unchanged when
    the entry has no decision with two choices."""
    record = _Decisions(values, entry)
    space.suggest_entry(entry, record)
    open_names = [n for n, options in record.choices.items() if len(options) > 1]
    if not open_names:
        return copy.deepcopy(dict(values))
    target = open_names[int(rng.integers(len(open_names)))]
    return space.suggest_entry(entry, _Redraw(values, entry, target, rng))


def mutate(space: EntrySpace, config: Mapping[str, Any], rng: np.random.Generator, *,
           rate: float | None = None, at_least_one: bool = False) -> dict[str, Any]:
    """Per-gene mutation: each entry mutated with probability `rate` (None: 1 / number of entries);
    `at_least_one`: one random entry is mutated when none was."""
    entries = space.entries()
    p = 1.0 / len(entries) if rate is None else rate
    hits = [e for e in entries if rng.random() < p]
    if at_least_one and not hits:
        hits = [entries[int(rng.integers(len(entries)))]]
    child = {e: copy.deepcopy(dict(config[e])) for e in entries}
    for e in hits:
        child[e] = mutate_entry(space, e, child[e], rng)
    return space.validate(child)
