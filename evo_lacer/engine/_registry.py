"""The strategy registry: what each `SearchConfig.strategy` name means -- how it is built, whether it
evolves trees, whether it uses an LLM and which feedback channels its prompts show. Everything
that differs between strategies is read from here, never from the name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from evo_lacer.engine._darts import build_darts
from evo_lacer.engine._enas import build_enas
from evo_lacer.engine._pepnas import build_pepnas
from evo_lacer.engine._wiring import (
    build_flat_strategy,
    build_tree_strategy,
    optuna_planner,
    random_planner,
    thompson_planner,
)

if TYPE_CHECKING:
    from evo_lacer.engine._config import SearchConfig
    from evo_lacer.engine._planner import Planner
    from evo_lacer.engine._strategy import Strategy
    from evo_lacer.engine._wiring import StrategyParts

StrategyName = Literal["hybrid", "evolution", "random", "tpe", "lacer", "genius", "llmastool", "pepnas",
                       "darts", "enas"]


@dataclass(frozen=True)
class StrategySpec:
    """One strategy name: how to build it and what it uses."""

    name: str
    build: Callable[[StrategySpec, SearchConfig, StrategyParts], Strategy]
    """Builds the strategy from the config and the components passed in."""
    tree_based: bool
    """Evolves trees with transformations (population + planner + designer); else it picks whole
    configurations of the flat per-source space."""
    uses_llm: bool
    """Asks an LLM (with ``llm="none"`` it designs at random)."""
    channels: tuple[str, ...] | None = None
    """Feedback channels its LLM prompts show; None: `SearchConfig.llm_channels`."""
    planner: Callable[[SearchConfig, tuple[str, ...]], Planner] = random_planner
    """Tree strategies: builds the planner from the config and the transformation names."""
    arms: bool = False
    """Tree strategies with an LLM: a bandit chooses among random-filled edits, LLM-filled edits and
    whole LLM designs (`SearchConfig.arms`); else every edit is LLM-filled when an LLM is there."""
    reflection: bool = False
    """The LLM designer reflects on feedback (if `SearchConfig.reflection`)."""
    screen_variants: int = 1
    """Default of `SearchConfig.screen_variants` (1: no surrogate screen)."""
    screen_designs: int = 0
    """Default of `SearchConfig.screen_designs` (whole designs added to each screened slot)."""
    steady: bool = True
    """Runs in the steady loop; else (pepnas's archive merge, the one-shot supernet phases) only in
    the generational loop, which ``loop="auto"`` then picks."""
    trains_supernet: bool = False
    """Trains a weight-sharing supernet through the evaluator's `evo_lacer.evaluate.PPOTrainer` hook
    (the RL evaluator), so it refuses a fitness function; its budget is N candidates' worth, of which
    only the final evaluations are candidates."""

    def channels_for(self, llm_channels: tuple[str, ...]) -> tuple[str, ...]:
        """The channels shown, given `SearchConfig.llm_channels`."""
        return llm_channels if self.channels is None else self.channels


STRATEGY_REGISTRY: Mapping[str, StrategySpec] = {spec.name: spec for spec in (
    StrategySpec("hybrid", build_tree_strategy, tree_based=True, uses_llm=True, planner=optuna_planner,
                 arms=True, reflection=True, screen_variants=8, screen_designs=8),
    StrategySpec("evolution", build_tree_strategy, tree_based=True, uses_llm=False),
    StrategySpec("random", build_flat_strategy, tree_based=False, uses_llm=False),
    StrategySpec("tpe", build_flat_strategy, tree_based=False, uses_llm=False),
    StrategySpec("lacer", build_flat_strategy, tree_based=False, uses_llm=True),
    StrategySpec("genius", build_flat_strategy, tree_based=False, uses_llm=True, channels=("reward",)),
    StrategySpec("llmastool", build_tree_strategy, tree_based=True, uses_llm=True, planner=thompson_planner),
    StrategySpec("pepnas", build_pepnas, tree_based=False, uses_llm=False, steady=False),
    StrategySpec("darts", build_darts, tree_based=False, uses_llm=False, steady=False, trains_supernet=True),
    StrategySpec("enas", build_enas, tree_based=False, uses_llm=False, steady=False, trains_supernet=True),
)}
"""Every strategy name, in the order the docs list them (`StrategyName` spells the same names)."""
