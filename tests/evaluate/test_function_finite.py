"""A fitness callable's non-finite metric, feature or objective is refused like a NaN fitness:
a FAILED feedback naming it, never stored as a number."""

from __future__ import annotations

import math

import pytest
from gymnasium import spaces

from evo_lacer.evaluate import FunctionEvaluator, Status
from evo_lacer.tree import branch, encoder, fusion, module

SPACE = spaces.Dict({"v": spaces.Box(-1, 1, (8,))})
TREE = encoder([branch("v", module("MLPBlock", width=8))], fusion("ConcatMLP", width=8))


@pytest.mark.parametrize(("value", "needle"), [
    ({"fitness": 1, "metrics": {"a": math.nan}}, "non-finite metrics['a'] = nan"),
    ({"fitness": 1, "features": {"ego/rank": math.inf}}, "non-finite features['ego/rank'] = inf"),
    ({"fitness": 1, "objectives": [0.5, -math.inf]}, "non-finite objectives[1] = -inf"),
])
def test_a_non_finite_signal_is_a_failure_naming_it(value: dict[str, object], needle: str) -> None:
    fb = FunctionEvaluator(lambda t, m: value, SPACE).evaluate(TREE, 0)
    assert fb.status is Status.FAILED and fb.fitness is None
    assert needle in fb.error and "return finite numbers" in fb.error


def test_finite_signals_are_kept() -> None:
    value = {"fitness": 1, "metrics": {"a": 2.0}, "features": {"f": 0.0}, "objectives": [3.0]}
    fb = FunctionEvaluator(lambda t, m: value, SPACE).evaluate(TREE, 0)
    assert fb.ok and fb.metrics == {"a": 2.0} and fb.objectives == (3.0,)
