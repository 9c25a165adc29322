"""The promotion's bookkeeping: how many cheap results are promoted, and what a promoted record keeps
(the promotion itself, `engine._promotion.promote`, is tested in tests/engine/test_promotion*.py)."""

from __future__ import annotations

from evo_lacer.evaluate import Cost, Feedback, Status, promote_record
from evo_lacer.evaluate._fidelity import n_promoted


def test_a_quarter_rounded_up_and_at_least_the_minimum_is_promoted() -> None:
    assert n_promoted(7, 0.25) == 2  # ceil(1.75)
    assert n_promoted(8, 0.25) == 2
    assert n_promoted(2, 0.25) == 1 and n_promoted(2, 0.25, min_keep=2) == 2
    assert n_promoted(0, 0.25) == 0 and n_promoted(3, 1.0) == 3


def test_a_promoted_record_is_the_full_one_with_the_cheap_fitness_and_both_costs() -> None:
    cheap = Feedback(Status.OK, fitness=0.4, cost=Cost(1.0, 10), fidelity="imitation")
    full = Feedback(Status.OK, fitness=20.0, metrics={"reward": 20.0}, cost=Cost(30.0, 4096), fidelity="full")
    out = promote_record(cheap, full)
    assert out.fitness == 20.0 and out.fidelity == "full"
    assert out.metrics == {"reward": 20.0, "cheap_fitness": 0.4}
    assert out.cost.seconds == 31.0 and out.cost.env_steps == 4106
