"""The Evaluator role: a tree in, a Feedback out. A failing candidate is a Feedback, not a raise."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import gymnasium as gym

from evo_lacer.evaluate._feedback import Feedback
from evo_lacer.tree import Node


@runtime_checkable
class Evaluator(Protocol):
    """Scores encoder trees. Implementations must be picklable (they run in worker processes)."""

    observation_space: gym.Space
    """The space the trees are compiled for."""

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        """Build, train/score and measure `tree`; never raise for a bad candidate."""
        ...

    def describe(self) -> str:
        """One paragraph on the task, for LLM prompts (what is observed, what is rewarded)."""
        ...
