"""The Planner role: ask for plans (transformation, site class, prompt category), tell outcomes.

One base class holds the ask/tell protocol: ``ask`` takes one `LegalMoves` per offspring (the
legal transformations and site classes of its parent) and returns one `Plan` each; ``tell``
takes the outcomes of exactly those plans. Calling them out of order raises RuntimeError.
With ``keys=`` (one per plan, e.g. the candidate ids) plans are asked and told one by one, many
in flight at once, in any order (the steady-state loop): ``tell(outcomes, keys=...)`` answers
just those keys. State (including plans asked but not yet told) round-trips through JSON-able dicts.
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
        self._keyed: dict[int, Plan] = {}

    @property
    def pending(self) -> tuple[Plan, ...] | None:
        """Plans asked and not yet told (None when every plan was told)."""
        if self._pending is not None:
            return tuple(self._pending)
        return tuple(self._keyed.values()) if self._keyed else None

    @property
    def in_flight(self) -> tuple[int, ...]:
        """Keys of the plans asked with ``keys=`` and not yet told, in the order asked."""
        return tuple(self._keyed)

    def ask(self, legal: Sequence[LegalMoves], *, keys: Sequence[int] | None = None) -> list[Plan]:
        """One plan per entry of `legal`; each plan's transformation is legal for its entry.
        `keys`: one distinct key per entry; those plans stay in flight until told by key."""
        if self._pending is not None:
            raise RuntimeError(
                f"{type(self).__name__}.ask() called twice: tell() the outcomes of the "
                f"{len(self._pending)} pending plan(s) first"
            )
        if keys is None and self._keyed:
            raise RuntimeError(f"{type(self).__name__}.ask() without keys while {len(self._keyed)} "
                               "plan(s) asked with keys are in flight; pass keys= or tell() them first")
        if keys is not None:
            keys = [int(k) for k in keys]
            if len(keys) != len(legal) or len(set(keys)) != len(keys):
                raise ValueError(f"{type(self).__name__}.ask(): give one distinct key per entry of legal "
                                 f"({len(legal)}), got {keys}")
            taken = sorted(set(keys) & set(self._keyed))
            if taken:
                raise RuntimeError(f"{type(self).__name__}.ask(): keys {taken} are already in flight; "
                                   "tell() their outcomes first")
        for i, moves in enumerate(legal):
            if not moves or any(not classes for classes in moves.values()):
                raise ConfigError(
                    f"{type(self).__name__}.ask(): legal moves #{i} are empty ({dict(moves)!r}); "
                    "only ask for parents that have at least one legal transformation"
                )
        plans = self._ask([{t: tuple(c) for t, c in m.items()} for m in legal])
        self.asks += len(plans)
        if keys is None:
            self._pending = list(plans)
        else:
            self._keyed.update(zip(keys, plans, strict=True))
        return list(plans)

    def tell(self, outcomes: Sequence[Outcome], *, keys: Sequence[int] | None = None) -> None:
        """The outcomes of the pending plans, in the order they were asked; with `keys`, the
        outcomes of the plans asked under those keys (one outcome per key)."""
        if keys is not None:
            keys = [int(k) for k in keys]
            unknown = [k for k in keys if k not in self._keyed]
            if unknown or len(set(keys)) != len(keys):
                raise RuntimeError(f"{type(self).__name__}.tell(): keys {unknown or keys} were not asked "
                                   f"(in flight: {list(self._keyed)[:20]})")
            if len(outcomes) != len(keys):
                raise ValueError(f"{type(self).__name__}.tell() got {len(outcomes)} outcome(s) for "
                                 f"{len(keys)} key(s); give one outcome per key")
            self._tell([self._keyed.pop(k) for k in keys], list(outcomes))
            return
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
            "in_flight": [[k, p.to_dict()] for k, p in self._keyed.items()],
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
        self._keyed = {int(k): Plan.from_dict(p) for k, p in state.get("in_flight", [])}
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
