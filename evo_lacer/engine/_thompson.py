"""LLMasTool's planner: hierarchical epsilon-greedy Thompson sampling over "did it improve?".

Level 1 picks the transformation, level 2 the prompt category given the transformation; each
arm has a Beta-Bernoulli posterior (prior Beta(1, 1)), updated with ``outcome.improved``.
With probability ``epsilon`` a level is drawn uniformly instead (exploration). The site is
left to the designer (``site_class=None``: any legal site of the transformation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evo_lacer.engine._planner import Planner, pick
from evo_lacer.engine._records import PROMPT_CATEGORIES, Outcome, Plan
from evo_lacer.errors import ConfigError


class ThompsonPlanner(Planner):
    """Beta-Bernoulli Thompson sampling, operation first, then prompt category."""

    name = "thompson"

    def __init__(self, seed: int = 0, *, epsilon: float = 0.1,
                 categories: tuple[str, ...] = PROMPT_CATEGORIES) -> None:
        super().__init__(seed)
        if not 0.0 <= epsilon <= 1.0:
            raise ConfigError(f"ThompsonPlanner epsilon must be in [0, 1], got {epsilon}")
        if not categories:
            raise ConfigError("ThompsonPlanner needs at least one prompt category")
        self.epsilon = epsilon
        self.categories = tuple(categories)
        self.successes: dict[str, int] = {}
        self.failures: dict[str, int] = {}

    def _draw(self, arms: list[str], prefix: str = "") -> str:
        if self.rng.random() < self.epsilon:
            return str(pick(self.rng, arms))
        draws = [
            self.rng.beta(1 + self.successes.get(prefix + a, 0), 1 + self.failures.get(prefix + a, 0))
            for a in arms
        ]
        return arms[max(range(len(arms)), key=lambda i: (draws[i], -i))]

    def _ask(self, legal: list[dict[str, tuple[str, ...]]]) -> list[Plan]:
        plans = []
        for moves in legal:
            transformation = self._draw(sorted(moves))
            category = self._draw(list(self.categories), prefix=transformation + "/")
            plans.append(Plan(transformation, None, category))
        return plans

    def _tell(self, plans: list[Plan], outcomes: list[Outcome]) -> None:
        for plan, outcome in zip(plans, outcomes, strict=True):
            counts = self.successes if outcome.improved else self.failures
            for arm in (plan.transformation, f"{plan.transformation}/{plan.prompt_category}"):
                counts[arm] = counts.get(arm, 0) + 1

    def posterior_mean(self, arm: str) -> float:
        """Mean of an arm's Beta posterior (``"swap_module"`` or ``"swap_module/rely_on_llm"``)."""
        s, f = self.successes.get(arm, 0), self.failures.get(arm, 0)
        return (1 + s) / (2 + s + f)

    def _state(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "categories": list(self.categories),
                "successes": dict(self.successes), "failures": dict(self.failures)}

    def _load(self, state: Mapping[str, Any]) -> None:
        self.epsilon = float(state["epsilon"])
        self.categories = tuple(state["categories"])
        self.successes = {str(k): int(v) for k, v in state["successes"].items()}
        self.failures = {str(k): int(v) for k, v in state["failures"].items()}
