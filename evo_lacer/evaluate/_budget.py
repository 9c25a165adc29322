"""Per-candidate training budgets (progressive evaluation, e.g. the pepnas strategy).

A strategy asks for a fraction of the evaluator's training budget by putting
``extra["budget_fraction"]`` on a proposal; the harness then evaluates that candidate with
``evaluator.with_budget(fraction)``. Evaluators that train (`RLEvaluator`: PPO env steps,
`ImitationEvaluator`: behaviour-cloning gradient steps) implement `with_budget`; the others (a
user's fitness function) have no training budget: the fraction is recorded and ignored.
"""

from __future__ import annotations

import copy
import math
from typing import Protocol, TypeVar, runtime_checkable

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate._base import Evaluator

BUDGET_FRACTION = "budget_fraction"
"""Key of a proposal's / candidate's ``extra`` holding its training-budget fraction, in (0, 1]."""


@runtime_checkable
class BudgetScalable(Protocol):
    """An evaluator whose training budget can be scaled per candidate."""

    training_steps: int
    """The training budget of one evaluation, in the evaluator's own unit."""

    def with_budget(self, fraction: float) -> Evaluator:
        """A copy that trains for ``fraction`` of `training_steps` (same settings otherwise)."""
        ...


def check_fraction(fraction: float) -> float:
    """`fraction` as a float in (0, 1]; an `EvaluationError` otherwise."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0.0 < fraction <= 1.0:
        raise EvaluationError(f"budget fraction {fraction!r}: use a number in (0, 1]")
    return float(fraction)


def scaled_steps(steps: int, fraction: float, least: int) -> int:
    """``steps * fraction`` rounded up, at least `least` (the evaluator's own minimum)."""
    return max(least, math.ceil(steps * check_fraction(fraction)))


E = TypeVar("E")


def scaled_copy(evaluator: E, attr: str, fraction: float, least: int) -> E:
    """A shallow copy of `evaluator` whose training budget ``attr`` is scaled to `fraction` (rounded
    up, at least `least`); everything else, caches included, is shared."""
    scaled = copy.copy(evaluator)
    setattr(scaled, attr, scaled_steps(getattr(evaluator, attr), fraction, least))
    return scaled


def at_budget(evaluator: Evaluator, fraction: float | None) -> tuple[Evaluator, int | None]:
    """The evaluator for a candidate with this budget fraction, and the training steps it was
    given (None: no fraction asked, or the evaluator has no training budget to scale)."""
    if fraction is None:
        return evaluator, None
    check_fraction(fraction)
    if not isinstance(evaluator, BudgetScalable):
        return evaluator, None
    scaled = evaluator.with_budget(fraction)
    return scaled, int(getattr(scaled, "training_steps", 0)) or None
