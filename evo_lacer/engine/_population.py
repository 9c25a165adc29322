"""The DEAP population: individuals with `deap.base.Fitness`, survival and parent selection.

The fitness classes are created once, here, at import (no `deap.creator` globals). All
objectives are maximized (a minimized quantity enters negated), so one class per number of
objectives suffices. Selection draws from a `numpy.random.Generator` passed in, never from
Python's global `random`.
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import base, tools

from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import Feedback
from evo_lacer.transform import GateResult
from evo_lacer.tree import Node, node_from_dict, node_to_dict

MAX_OBJECTIVES = 6
FITNESS_CLASSES: dict[int, type[base.Fitness]] = {
    n: type(f"Fitness{n}", (base.Fitness,), {"weights": (1.0,) * n, "__module__": __name__})
    for n in range(1, MAX_OBJECTIVES + 1)
}
MISSING_OBJECTIVE = -1e18
"""Value of an objective a feedback lacks (worse than any real value, finite for crowding)."""

BUILTIN_OBJECTIVES = ("fitness", "-params", "-latency_ms")


def check_objectives(names: Sequence[str]) -> None:
    """Raise ConfigError unless `names` is a usable objective list."""
    if not names:
        raise ConfigError("objectives must name at least one objective, e.g. ('fitness',)")
    if len(names) > MAX_OBJECTIVES:
        raise ConfigError(f"at most {MAX_OBJECTIVES} objectives are supported, got {len(names)}")
    if names[0] != "fitness":
        raise ConfigError(f"the first objective must be 'fitness' (got {names[0]!r}); add others after it")
    if len(set(names)) != len(names):
        raise ConfigError(f"objectives {tuple(names)} name one objective twice")
    for name in names:
        near = difflib.get_close_matches(name, BUILTIN_OBJECTIVES, n=1, cutoff=0.8)
        if near and near[0] != name:
            raise ConfigError(f"objective {name!r} is not a built-in one: did you mean {near[0]!r}? "
                              f"(built-in: {', '.join(BUILTIN_OBJECTIVES)}; also a metric the evaluator "
                              "reports, '-name' to minimize it, or 'objective:I' for a value it returns as "
                              "its I-th extra objective -- the way to optimize a metric named like these)")


def objective_values(names: Sequence[str], feedback: Feedback, gate: GateResult | None) -> tuple[float, ...]:
    """Maximized objective values of one OK candidate.

    ``fitness``; ``-params`` / ``-latency_ms`` (from the gate's measurement); ``objective:I``
    (the evaluator's I-th extra objective); any other name is a task metric (``-name`` minimizes).
    """
    out = []
    for name in names:
        sign, key = (-1.0, name[1:]) if name.startswith("-") else (1.0, name)
        value: Any
        if name == "fitness":
            value = feedback.fitness
        elif key in ("params", "latency_ms"):
            value = None if gate is None else getattr(gate, key)
        elif key.startswith("objective:"):
            idx = int(key.split(":", 1)[1])
            value = feedback.objectives[idx] if idx < len(feedback.objectives) else None
        else:
            value = feedback.metrics.get(key)
            if key not in feedback.metrics:
                reported = ", ".join(sorted(feedback.metrics)) or "none"
                warnings.warn(f"objective {name!r}: the evaluator reports no metric {key!r} (it reports: "
                              f"{reported}), so a candidate without it gets the worst value for it; name "
                              f"one of those, 'objective:I', or a built-in objective "
                              f"({', '.join(BUILTIN_OBJECTIVES)})", UserWarning, stacklevel=2)
        ok = isinstance(value, int | float) and math.isfinite(float(value))
        out.append(sign * float(value) if ok else MISSING_OBJECTIVE)
    return tuple(out)


def infeasible_values(n: int, gate: GateResult | None) -> tuple[float, ...]:
    """`n` objective values of a tree the gate rejected or whose evaluation failed: below every
    real value, and ordered by how far the tree is from passing (Deb's feasibility rule) -- one
    rejected for its size or its forward time ranks by its parameter count or that time (smaller
    is nearer), any other rejection or failure last."""
    if gate is not None and gate.check == "params" and gate.params is not None:
        far = math.log1p(gate.params) / 100.0
    elif gate is not None and gate.check == "latency" and gate.latency_ms is not None:
        far = math.log1p(gate.latency_ms) / 100.0
    else:
        far = 1.0
    return (MISSING_OBJECTIVE * (1.0 + far),) * n


def make_fitness(values: Sequence[float]) -> base.Fitness:
    fit = FITNESS_CLASSES[len(values)]()
    fit.values = tuple(values)
    return fit


@dataclass(eq=False)
class Individual:
    """A tree in the population, with its DEAP fitness and the candidate that produced it."""

    tree: Node
    candidate_id: int
    tree_hash: str
    feedback: Feedback
    fitness: base.Fitness

    @property
    def score(self) -> float:
        """The primary fitness."""
        return float(self.fitness.values[0])


def individual_to_dict(ind: Individual) -> dict[str, Any]:
    """An individual as a checkpoint holds it (`individual_from_dict` reads it back)."""
    return {"id": ind.candidate_id, "hash": ind.tree_hash, "tree": node_to_dict(ind.tree),
            "feedback": ind.feedback.to_dict(), "values": list(ind.fitness.values)}


def individual_from_dict(p: Mapping[str, Any]) -> Individual:
    return Individual(node_from_dict(p["tree"]), int(p["id"]), str(p["hash"]),
                      Feedback.from_dict(p["feedback"]), make_fitness(tuple(p["values"])))


def _sort_key(ind: Individual) -> tuple[tuple[float, ...], int]:
    return (tuple(-v for v in ind.fitness.wvalues), ind.candidate_id)


def best_of(individuals: Sequence[Individual]) -> Individual:
    """The best by lexicographic fitness (ties: the earliest candidate)."""
    return min(individuals, key=_sort_key)


def tournament(pool: Sequence[Individual], size: int, rng: np.random.Generator) -> Individual:
    """The best of `size` individuals drawn uniformly (with replacement) from `pool`."""
    picks = [pool[int(i)] for i in rng.integers(0, len(pool), size=max(1, size))]
    return best_of(picks)


def survive(
    pool: Sequence[Individual], mu: int, *, elitism: int, tournament_size: int,
    multi_objective: bool, rng: np.random.Generator,
) -> list[Individual]:
    """The next population of at most `mu` distinct individuals from `pool`.

    Single objective: the `elitism` best survive, the rest are tournament winners drawn without
    replacement. Several objectives: NSGA-II (`deap.tools.selNSGA2`).
    """
    pool = sorted(pool, key=lambda ind: ind.candidate_id)
    if len(pool) <= mu:
        return list(pool)
    if multi_objective:
        return sorted(tools.selNSGA2(list(pool), mu), key=lambda ind: ind.candidate_id)
    ranked = sorted(pool, key=_sort_key)
    chosen = ranked[: min(elitism, mu)]
    rest = [ind for ind in pool if ind not in chosen]
    while len(chosen) < mu and rest:
        winner = tournament(rest, tournament_size, rng)
        chosen.append(winner)
        rest.remove(winner)
    return sorted(chosen, key=lambda ind: ind.candidate_id)


def select_parent(
    population: Sequence[Individual], *, tournament_size: int, multi_objective: bool,
    rng: np.random.Generator,
) -> Individual:
    """One parent: a tournament on fitness, or (several objectives) a uniform draw from the
    NSGA-II survivors (the pressure comes from survival)."""
    if multi_objective:
        return population[int(rng.integers(0, len(population)))]
    return tournament(population, tournament_size, rng)
