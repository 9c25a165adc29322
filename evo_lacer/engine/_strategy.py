"""The Strategy role: propose a generation of trees, observe what became of them.

Strategies differ only here; the harness (ids, gate, cache, budget, evaluation, recording)
and the engine loop (checkpoints, resume) are shared, so every strategy gets the same budget,
seeds and evaluator.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._records import Candidate


def candidate_rng(seed: int, candidate_id: int) -> np.random.Generator:
    """The randomness of one candidate's design: independent of everything proposed before it."""
    return np.random.default_rng([seed, candidate_id, 0x5EA6C4])


def candidate_seed(seed: int, candidate_id: int) -> int:
    """A 31-bit seed for one candidate's LLM requests."""
    return int(np.random.default_rng([seed, candidate_id, 0x11A]).integers(0, 2**31 - 1))


class Strategy(ABC):
    """Proposes candidates generation by generation and learns from their outcomes."""

    name: str = ""

    @abstractmethod
    def propose(self, n: int, generation: int, first_id: int) -> list[Proposal]:
        """At most `n` proposals (the harness gives them ids ``first_id, first_id + 1, ...``);
        an empty list ends the search."""

    @abstractmethod
    def observe(self, candidates: Sequence[Candidate]) -> None:
        """The generation's candidates (in id order), once evaluated."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: after `load_state_dict` the strategy continues identically."""

    @abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...

    def accounting(self) -> dict[str, Any]:
        """Counters for the run summary (LLM use, fallbacks, ...)."""
        return {}
