"""FunctionEvaluator: normalizes what a fitness returns; failures become FAILED feedback."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
from search_helpers import failing_fitness, param_fitness, rich_fitness, small_space

from evo_lacer.engine import default_seed_tree
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import FitnessRecord, FunctionEvaluator, Status
from evo_lacer.flat import FlatSpace


@pytest.fixture(scope="module")
def tree():
    return default_seed_tree(FlatSpace.load().for_sources(small_space()))


def test_float_dict_and_record_returns(tree) -> None:
    fb = FunctionEvaluator(param_fitness, small_space()).evaluate(tree, 0)
    assert fb.ok and isinstance(fb.fitness, float) and fb.cost.seconds > 0
    fb = FunctionEvaluator(rich_fitness, small_space()).evaluate(tree, 0)
    assert fb.ok and "params" in fb.metrics and "fused/width" in fb.features
    record = FunctionEvaluator(lambda t, m: FitnessRecord(1.5, objectives=(2.0,)), small_space())
    rec = record.evaluate(tree, 0)
    assert rec.fitness == 1.5 and rec.objectives == (2.0,)
    tensor = FunctionEvaluator(lambda t, m: torch.tensor(0.25), small_space()).evaluate(tree, 0)
    assert tensor.fitness == 0.25


@pytest.mark.parametrize("fn, message", [
    (lambda t, m: failing_fitness(t, m) / 0.0, "ZeroDivisionError"),
    (lambda t, m: math.nan, "non-finite"),
    (lambda t, m: {"fitnes": 1.0}, "unknown keys"),
    (lambda t, m: "high", "return a number"),
])
def test_failures_become_failed_feedback(tree, fn, message) -> None:
    fb = FunctionEvaluator(fn, small_space()).evaluate(tree, 0)
    assert fb.status is Status.FAILED and message in fb.error and fb.fitness is None


def test_same_seed_same_weights(tree) -> None:
    def first_weight(t, m):
        return float(next(m.parameters()).detach().flatten()[0])

    ev = FunctionEvaluator(first_weight, small_space())
    state = torch.random.get_rng_state()
    assert ev.evaluate(tree, 3).fitness == ev.evaluate(tree, 3).fitness != ev.evaluate(tree, 4).fitness
    assert torch.equal(state, torch.random.get_rng_state())


def test_picklable_when_the_function_is() -> None:
    ev = pickle.loads(pickle.dumps(FunctionEvaluator(param_fitness, small_space())))
    assert ev.fitness is param_fitness
    with pytest.raises(ConfigError):
        FunctionEvaluator("not callable", small_space())  # type: ignore[arg-type]
    assert "param_fitness" in FunctionEvaluator(param_fitness, small_space()).describe()
