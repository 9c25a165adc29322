"""The Designer role: given a planned transformation and its candidate sites, pick one site and
fill its open slots; after each generation, reflect on the feedback.

Slots may depend on earlier answers (a module choice opens its parameters), so a designer
fills them in rounds until the transformation lists no open slot (`fill_rounds`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evo_lacer.engine._records import Candidate, Plan
from evo_lacer.errors import TreeError
from evo_lacer.evaluate import Feedback
from evo_lacer.transform import Site, Slot, Transformation, TransformContext
from evo_lacer.tree import Node, ParamValue

MAX_ROUNDS = 8
"""Most rounds of dependent slots one fill may take (a guard against a looping transformation)."""


@dataclass(frozen=True)
class DesignContext:
    """Everything a designer may look at to fill one planned transformation."""

    tree: Node
    """The parent tree."""
    transformation: Transformation
    sites: tuple[Site, ...]
    """Candidate sites (legal, of the planned class); never empty."""
    ctx: TransformContext
    plan: Plan
    rng: np.random.Generator
    """The randomness of this fill (derived from the run seed and the candidate id)."""
    parent_feedback: Feedback | None = None
    task: str = ""
    """The evaluator's description of the task."""
    history: tuple[Candidate, ...] = ()
    """Recent candidates, oldest first."""
    seed: int = 0
    """Seed for LLM requests of this fill."""
    candidate_id: int = -1


@dataclass(frozen=True)
class DesignDecision:
    """A filled transformation: the site and the value of every slot."""

    site: Site
    choice: Mapping[str, ParamValue]
    designer: str
    fell_back: bool = False
    """True when any part of the decision came from the random fallback."""
    llm_calls: int = 0
    differs_from_random: bool | None = None
    """Whether a random designer with the same rng state would have decided otherwise (LLM only)."""
    errors: tuple[str, ...] = ()
    reasons: tuple[str, ...] = field(default=())


def fill_rounds(
    context: DesignContext, site: Site,
    choose: Callable[[list[Slot], Mapping[str, ParamValue]], Mapping[str, ParamValue]],
) -> dict[str, ParamValue]:
    """Fill the slots at `site` round by round with `choose(open_slots, chosen_so_far)`."""
    chosen: dict[str, ParamValue] = {}
    for _ in range(MAX_ROUNDS):
        slots = [s for s in context.transformation.slots(context.tree, site, context.ctx, chosen)
                 if s.name not in chosen]
        if not slots:
            return chosen
        for slot in slots:
            if not slot.options:
                raise TreeError(f"{context.transformation.name}: slot {slot.name!r} at "
                                f"{site.describe()} has no options")
        answer = choose(slots, dict(chosen))
        chosen.update({s.name: answer[s.name] for s in slots})
    raise TreeError(f"{context.transformation.name} at {site.describe()} kept opening slots "
                    f"after {MAX_ROUNDS} rounds: {sorted(chosen)}")


def random_slots(rng: np.random.Generator, slots: Sequence[Slot]) -> dict[str, ParamValue]:
    return {s.name: s.options[int(rng.integers(0, len(s.options)))] for s in slots}


class Designer(ABC):
    """Fills planned transformations; may learn from feedback (`reflect`)."""

    name: str = ""

    @abstractmethod
    def fill(self, context: DesignContext) -> DesignDecision:
        """Pick one of `context.sites` and a value for every open slot there."""

    def reflect(self, feedback_batch: Sequence[Candidate]) -> list[str]:
        """Insights drawn from one generation's candidates (none by default)."""
        return []

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state kept across a resume (insights, counters)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        return None


class RandomDesigner(Designer):
    """Uniform choices: the "pure evolution" ablation, and the fallback of the LLM designer.

    It draws from the context's rng; `rng` is used only for contexts built without one.
    """

    name = "random"

    def __init__(self, rng: np.random.Generator | None = None) -> None:
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def fill(self, context: DesignContext) -> DesignDecision:
        rng = context.rng if context.rng is not None else self.rng
        site = context.sites[int(rng.integers(0, len(context.sites)))]
        choice = fill_rounds(context, site, lambda slots, _: random_slots(rng, slots))
        return DesignDecision(site=site, choice=choice, designer=self.name)
