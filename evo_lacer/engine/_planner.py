"""The Planner role: ask for plans (transformation, site class, prompt category), tell outcomes.

One base class holds the ask/tell protocol: ``ask`` takes one `LegalMoves` per offspring (the
legal transformations and site classes of its parent) and returns one `Plan` each; ``tell``
takes the outcomes of exactly those plans. Calling them out of order raises RuntimeError.
State (including plans asked but not yet told) round-trips through JSON-able dicts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from evo_lacer.engine._records import PROMPT_CATEGORIES, LegalMoves, Outcome, Plan
from evo_lacer.errors import ConfigError


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """A JSON-able snapshot of a numpy generator."""
    return dict(rng.bit_generator.state)


def rng_from_state(state: Mapping[str, Any]) -> np.random.Generator:
    rng = np.random.default_rng()
    rng.bit_generator.state = dict(state)
    return rng


def pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    """One element of `options`, uniformly."""
    return options[int(rng.integers(0, len(options)))]


class Planner(ABC):
    """Chooses *where and how* to mutate; learns from what the choices led to."""

    name: str = ""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.asks = 0
        self._pending: list[Plan] | None = None

    @property
    def pending(self) -> tuple[Plan, ...] | None:
        """Plans asked and not yet told (None between a tell and the next ask)."""
        return None if self._pending is None else tuple(self._pending)

    def ask(self, legal: Sequence[LegalMoves]) -> list[Plan]:
        """One plan per entry of `legal`; each plan's transformation is legal for its entry."""
        if self._pending is not None:
            raise RuntimeError(
                f"{type(self).__name__}.ask() called twice: tell() the outcomes of the "
                f"{len(self._pending)} pending plan(s) first"
            )
        for i, moves in enumerate(legal):
            if not moves or any(not classes for classes in moves.values()):
                raise ConfigError(
                    f"{type(self).__name__}.ask(): legal moves #{i} are empty ({dict(moves)!r}); "
                    "only ask for parents that have at least one legal transformation"
                )
        plans = self._ask([{t: tuple(c) for t, c in m.items()} for m in legal])
        self.asks += len(plans)
        self._pending = list(plans)
        return list(plans)

    def tell(self, outcomes: Sequence[Outcome]) -> None:
        """The outcomes of the pending plans, in the order they were asked."""
        if self._pending is None:
            raise RuntimeError(f"{type(self).__name__}.tell() called before ask()")
        if len(outcomes) != len(self._pending):
            raise ValueError(
                f"{type(self).__name__}.tell() got {len(outcomes)} outcome(s) for "
                f"{len(self._pending)} pending plan(s); give one outcome per plan, in order"
            )
        self._tell(self._pending, list(outcomes))
        self._pending = None

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: everything `load_state_dict` needs to continue identically."""
        return {
            "planner": self.name, "seed": self.seed, "asks": self.asks, "rng": rng_state(self.rng),
            "pending": None if self._pending is None else [p.to_dict() for p in self._pending],
            **self._state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("planner") != self.name:
            raise ConfigError(f"planner state is for {state.get('planner')!r}, not {self.name!r}")
        self.seed = int(state["seed"])
        self.asks = int(state["asks"])
        self.rng = rng_from_state(state["rng"])
        pending = state.get("pending")
        self._pending = None if pending is None else [Plan.from_dict(p) for p in pending]
        self._load(state)

    @abstractmethod
    def _ask(self, legal: list[dict[str, tuple[str, ...]]]) -> list[Plan]: ...

    @abstractmethod
    def _tell(self, plans: list[Plan], outcomes: list[Outcome]) -> None: ...

    def _state(self) -> dict[str, Any]:
        return {}

    def _load(self, state: Mapping[str, Any]) -> None:
        return None


class RandomPlanner(Planner):
    """Uniform: a legal transformation, then one of its site classes, then a prompt category,
    then the number of edits (1..`max_edits`)."""

    name = "random"

    def __init__(self, seed: int = 0, *, max_edits: int = 1) -> None:
        super().__init__(seed)
        self.max_edits = max(1, max_edits)

    def _ask(self, legal: list[dict[str, tuple[str, ...]]]) -> list[Plan]:
        plans = []
        for moves in legal:
            transformation = pick(self.rng, sorted(moves))
            site_class = pick(self.rng, sorted(moves[transformation]))
            category = pick(self.rng, PROMPT_CATEGORIES)
            edits = 1 + int(self.rng.integers(0, self.max_edits)) if self.max_edits > 1 else 1
            plans.append(Plan(transformation, site_class, category, edits=edits))
        return plans

    def _tell(self, plans: list[Plan], outcomes: list[Outcome]) -> None:
        return None
