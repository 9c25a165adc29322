"""Frozen records the search passes around: plans, outcomes, candidates."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from evo_lacer.evaluate import Feedback, Status
from evo_lacer.transform import GateResult
from evo_lacer.tree import Node, node_from_dict, node_to_dict

PROMPT_CATEGORIES: tuple[str, ...] = ("rely_on_llm", "reverse_exploration", "minimal_llm_diversity")
"""How the designer is asked to use the LLM (LLMasTool's prompt categories)."""

LEGACY_PENDING_ERROR = "pending evaluation"
"""How a pending candidate was stored before `Status.PENDING` (a FAILED feedback with this error),
still read as pending from an older run's ``state/pending.json``."""


_GATE_FIELDS = tuple(f.name for f in dataclasses.fields(GateResult))


def gate_to_dict(gate: GateResult) -> dict[str, Any]:
    """`dataclasses.asdict` of a gate result (plain values only) without asdict's recursion: a
    checkpoint writes many candidates."""
    return {name: getattr(gate, name) for name in _GATE_FIELDS}


class Stage(StrEnum):
    """Where a candidate is in its life (`Candidate.stage`)."""

    PENDING = "pending"
    """Sent for evaluation (or waiting for a duplicate's), no result yet."""
    EVALUATED = "evaluated"
    """Evaluated, OK."""
    CACHED = "cached"
    """Answered by an earlier evaluation of the same architecture (costs nothing)."""
    REJECTED = "rejected"
    """Stopped by the gate before it cost an evaluation."""
    FAILED = "failed"
    TIMED_OUT = "timed_out"


LegalMoves = Mapping[str, tuple[str, ...]]
"""For one parent: transformation name -> the site classes where it can act (each non-empty)."""


@dataclass(frozen=True)
class Plan:
    """A planner's answer: which transformation, at which kind of site, with which prompt.

    `site_class` None means "any legal site of the transformation" (the designer chooses).
    `info` is planner-specific JSON data (e.g. the Optuna trial number).
    """

    transformation: str
    site_class: str | None
    prompt_category: str
    info: Mapping[str, Any] = field(default_factory=dict)
    fallback: bool = False
    """True when the planner could not propose a legal move itself and a random one was used."""
    edits: int = 1
    """Edits in the child (a compound move: the planned one, then edits-1 random legal ones)."""

    def to_dict(self) -> dict[str, Any]:
        return {"transformation": self.transformation, "site_class": self.site_class,
                "prompt_category": self.prompt_category, "info": dict(self.info),
                "fallback": self.fallback, "edits": self.edits}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        return cls(str(data["transformation"]), data.get("site_class"), str(data["prompt_category"]),
                   dict(data.get("info", {})), bool(data.get("fallback", False)), int(data.get("edits", 1)))


OUTCOME_STATUSES = ("ok", "duplicate", "failed", "timed_out", "rejected")


@dataclass(frozen=True)
class Outcome:
    """What a plan led to, as the planner is told.

    `improvement` is the child's fitness minus its parent's, divided by the population's fitness
    spread and clipped to [-1, 1] (None when the child has no fitness); `novelty` is the child's
    tree distance to the nearest member of the population, in [0, 1]; `feature_gain` is the
    child's probe quality (mean probe R² of its fused features, LACER's feature signal) minus
    its parent's, in [-1, 1] (None when either has no probes).
    """

    status: str
    improvement: float | None = None
    novelty: float = 0.0
    feature_gain: float | None = None

    def __post_init__(self) -> None:
        if self.status not in OUTCOME_STATUSES:
            raise ValueError(f"Outcome.status {self.status!r} is not one of {OUTCOME_STATUSES}")
        for name in ("improvement", "feature_gain"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"Outcome.{name} must be finite or None, got {value!r}")

    @property
    def improved(self) -> bool:
        """The Bernoulli event Thompson sampling counts: the child beat its parent."""
        return self.improvement is not None and self.improvement > 0


@dataclass(frozen=True)
class Candidate:
    """One proposed tree and what became of it: the unit the run store records (JSONL).

    `evaluated` is True when the candidate cost an evaluation (counts toward the budget);
    `cached` when an earlier evaluation of the same architecture answered instead.
    """

    id: int
    generation: int
    tree: Node | None
    """The proposed tree (None: the designer produced none; ``node_to_dict`` JSON in the store)."""
    tree_hash: str
    feedback: Feedback
    parents: tuple[int, ...] = ()
    transformation: str = ""
    site: str = ""
    site_class: str = ""
    choice: Mapping[str, Any] = field(default_factory=dict)
    prompt_category: str = ""
    designer: str = ""
    fell_back: bool = False
    plan: Mapping[str, Any] = field(default_factory=dict)
    gate: GateResult | None = None
    """The gate's result (None: the candidate never reached the gate -- a cache answer has its
    source's)."""
    evaluated: bool = False
    cached: bool = False
    timings: Mapping[str, float] = field(default_factory=dict)
    """Seconds spent proposing (planner + designer), gating and evaluating this candidate."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return self.feedback.status

    @property
    def stage(self) -> Stage:
        """Pending, evaluated, cached, rejected, failed or timed out (from the record's fields)."""
        fb = self.feedback
        if fb.status is Status.PENDING:
            return Stage.PENDING
        if fb.status is Status.REJECTED:
            return Stage.REJECTED
        if self.cached:
            return Stage.CACHED
        return {Status.OK: Stage.EVALUATED, Status.FAILED: Stage.FAILED,
                Status.TIMED_OUT: Stage.TIMED_OUT}[fb.status]

    @property
    def fitness(self) -> float | None:
        return self.feedback.fitness

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "generation": self.generation, "parents": list(self.parents),
            "transformation": self.transformation, "site": self.site, "site_class": self.site_class,
            "choice": _jsonable(self.choice), "prompt_category": self.prompt_category,
            "designer": self.designer, "fell_back": self.fell_back, "plan": dict(self.plan),
            "tree": {} if self.tree is None else node_to_dict(self.tree), "tree_hash": self.tree_hash,
            "feedback": self.feedback.to_dict(),
            "gate": {} if self.gate is None else gate_to_dict(self.gate),
            "evaluated": self.evaluated, "cached": self.cached,
            "timings": dict(self.timings), "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        return cls(
            id=int(data["id"]), generation=int(data["generation"]),
            tree=node_from_dict(data["tree"]) if data.get("tree") else None,
            tree_hash=str(data["tree_hash"]), feedback=_feedback(data["feedback"]),
            parents=tuple(int(p) for p in data.get("parents", ())),
            transformation=str(data.get("transformation", "")), site=str(data.get("site", "")),
            site_class=str(data.get("site_class", "")), choice=dict(data.get("choice", {})),
            prompt_category=str(data.get("prompt_category", "")), designer=str(data.get("designer", "")),
            fell_back=bool(data.get("fell_back", False)), plan=dict(data.get("plan", {})),
            gate=gate_from_dict(data.get("gate")), evaluated=bool(data.get("evaluated", False)),
            cached=bool(data.get("cached", False)), timings=dict(data.get("timings", {})),
            extra=dict(data.get("extra", {})),
        )


def _feedback(data: Mapping[str, Any]) -> Feedback:
    feedback = Feedback.from_dict(data)
    if feedback.status is Status.FAILED and feedback.error == LEGACY_PENDING_ERROR:
        return Feedback.pending()
    return feedback


GATE_FIELDS = frozenset(f.name for f in dataclasses.fields(GateResult))


def gate_from_dict(data: Any) -> GateResult | None:
    """A stored gate result (``{}``: none); keys this version does not know are dropped."""
    if not isinstance(data, Mapping) or not data:
        return None
    return GateResult(**{k: v for k, v in data.items() if k in GATE_FIELDS})


def _jsonable(choice: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in choice.items()}
