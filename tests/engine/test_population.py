"""The DEAP population: fitness classes, objectives, survival (elitism / NSGA-II), parents."""

from __future__ import annotations

import numpy as np
import pytest

from evo_lacer.engine import FITNESS_CLASSES, Individual
from evo_lacer.engine._population import (
    MISSING_OBJECTIVE,
    best_of,
    check_objectives,
    make_fitness,
    objective_values,
    select_parent,
    survive,
)
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import Feedback, Status
from evo_lacer.transform import GateResult
from evo_lacer.tree import branch, encoder, fusion, module


def _ind(i: int, *values: float) -> Individual:
    tree = encoder([branch("x", module("Lin", width=i + 1))], fusion("Concat"))
    fb = Feedback(Status.OK, fitness=values[0])
    return Individual(tree, i, f"h{i}", fb, make_fitness(values))


def test_fitness_classes_are_created_once_and_maximize() -> None:
    assert all(cls.weights == (1.0,) * n for n, cls in FITNESS_CLASSES.items())
    assert make_fitness((2.0,)) > make_fitness((1.0,))
    assert make_fitness((1.0, 5.0)).dominates(make_fitness((0.5, 4.0)))


def test_objective_values() -> None:
    fb = Feedback(Status.OK, fitness=0.5, metrics={"acc": 0.9}, objectives=(3.0,))
    gate = GateResult(True, params=1200, latency_ms=2.5)
    names = ("fitness", "-params", "-latency_ms", "acc", "-acc", "objective:0", "missing")
    assert objective_values(names[:6], fb, gate) == (0.5, -1200.0, -2.5, 0.9, -0.9, 3.0)
    assert objective_values(("fitness", "missing"), fb, gate)[1] == MISSING_OBJECTIVE
    assert objective_values(("fitness", "-params"), fb, None)[1] == MISSING_OBJECTIVE  # never gated


@pytest.mark.parametrize("bad", [(), ("-params",), ("fitness", "fitness"), ("fitness",) * 7])
def test_bad_objectives_are_refused(bad: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError):
        check_objectives(bad)


def test_survival_keeps_the_elite_and_distinct_individuals() -> None:
    pool = [_ind(i, float(v)) for i, v in enumerate([3, 9, 1, 7, 5, 2])]
    rng = np.random.default_rng(0)
    for _ in range(20):
        pop = survive(pool, 3, elitism=1, tournament_size=2, multi_objective=False, rng=rng)
        assert len(pop) == 3 == len({ind.candidate_id for ind in pop})
        assert best_of(pool) in pop


def test_nsga2_keeps_the_pareto_front() -> None:
    # (fitness, -params): ids 0..2 are on the front, 3 and 4 are dominated
    pool = [_ind(0, 1.0, -10.0), _ind(1, 2.0, -20.0), _ind(2, 3.0, -30.0), _ind(3, 0.5, -25.0),
            _ind(4, 1.5, -35.0)]
    pop = survive(pool, 3, elitism=0, tournament_size=2, multi_objective=True, rng=np.random.default_rng(0))
    assert sorted(ind.candidate_id for ind in pop) == [0, 1, 2]


def test_parent_selection_is_seeded() -> None:
    pool = [_ind(i, float(i)) for i in range(6)]
    picks = [select_parent(pool, tournament_size=3, multi_objective=False,
                           rng=np.random.default_rng(7)).candidate_id for _ in range(3)]
    assert len(set(picks)) == 1
