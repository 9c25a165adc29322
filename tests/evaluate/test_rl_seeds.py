"""RLEvaluator's seeds per candidate (``ppo_seeds``) and its short-PPO copy (the cheap fidelity)."""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_helpers import ring_tree

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate import SHORT_PPO, RLEvaluator, Status

RING = "evo_lacer/RingTraffic-v0"
RING_KWARGS = {"backend": "numpy", "horizon": 30}


def ring(**kw: object) -> RLEvaluator:
    settings = {"steps": 128, "eval_episodes": 1, "env_kwargs": RING_KWARGS,
                "feedback": ("reward", "metrics"), **kw}
    return RLEvaluator(RING, **settings)  # type: ignore[arg-type]


def test_ppo_seeds_average_one_run_per_seed() -> None:
    tree = ring_tree()
    one = ring()
    runs = [one.evaluate(tree, seed=s) for s in (5, 6)]
    assert all(r.ok for r in runs) and runs[0].fitness != runs[1].fitness  # the seeds differ
    mean = ring(ppo_seeds=2).evaluate(tree, seed=5)
    assert mean.status is Status.OK, mean.error
    assert mean.fitness == pytest.approx(np.mean([r.fitness for r in runs]))
    assert mean.metrics["reward_seed_std"] == pytest.approx(np.std([r.fitness for r in runs]))
    assert mean.metrics["ppo_seeds"] == 2.0
    assert mean.metrics["mean_speed"] == pytest.approx(np.mean([r.metrics["mean_speed"] for r in runs]))
    assert mean.cost.env_steps == sum(r.cost.env_steps for r in runs)
    assert "2 PPO agents (seeds averaged)" in ring(ppo_seeds=2).describe()


def test_a_failing_candidate_fails_at_its_first_seed() -> None:
    fb = ring(ppo_seeds=3, max_seconds=0.0).evaluate(ring_tree(), seed=0)
    assert fb.status is Status.TIMED_OUT and "max_seconds" in fb.error


def test_ppo_seeds_must_be_a_positive_integer() -> None:
    with pytest.raises(EvaluationError, match=r"ppo_seeds=0.*integer >= 1"):
        ring(ppo_seeds=0)


def test_short_trains_one_agent_for_a_fraction_of_the_steps() -> None:
    full = ring(steps=512, ppo_seeds=3)
    short = full.short(0.25)
    assert (short.steps, short.ppo_seeds, short.fidelity) == (128, 1, SHORT_PPO)
    assert (full.steps, full.ppo_seeds, full.fidelity) == (512, 3, "full")  # a copy
    fb = short.evaluate(ring_tree(), seed=0)
    assert fb.ok and fb.fidelity == SHORT_PPO
    assert 128 <= fb.cost.env_steps < 512
    assert "short-PPO cheap fidelity" in short.describe() and "128 env steps" in short.describe()
