"""Feedback: the frozen record of one evaluation (LACER's signals plus status and cost)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from evo_lacer.errors import EvaluationError


class Status(StrEnum):
    """How an evaluation ended. Only OK carries a fitness."""

    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    REJECTED = "rejected"  # stopped by the gate before it cost an evaluation
    PENDING = "pending"  # sent for evaluation, no result yet (a search's in-flight candidate)


@dataclass(frozen=True)
class Cost:
    """What one evaluation (or one search step) cost."""

    seconds: float = 0.0
    env_steps: int = 0
    llm_calls: int = 0
    llm_tokens: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.seconds + other.seconds, self.env_steps + other.env_steps,
                    self.llm_calls + other.llm_calls, self.llm_tokens + other.llm_tokens)


def _floats(values: Mapping[str, Any], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in values.items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            raise EvaluationError(f"{what}[{key!r}] = {value!r} is not a number") from None
    return out


@dataclass(frozen=True)
class Feedback:
    """The outcome of evaluating one tree.

    `fitness` is maximized. `metrics` holds the average episodic reward and task metrics;
    `features` holds feature statistics of the encoder (per branch and fused: effective rank,
    dead units, redundancy, linear-probe R²), keyed like ``"ego/effective_rank"``.
    """

    status: Status
    fitness: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    features: Mapping[str, float] = field(default_factory=dict)
    error: str = ""
    cost: Cost = field(default_factory=Cost)
    objectives: tuple[float, ...] = ()
    """Extra objectives for multi-objective selection (all maximized), e.g. -parameters."""
    fidelity: str = "full"

    def __post_init__(self) -> None:
        if self.status is Status.OK:
            if self.fitness is None or not math.isfinite(self.fitness):
                raise EvaluationError(f"an OK feedback needs a finite fitness, got {self.fitness!r}")
        elif self.fitness is not None:
            raise EvaluationError(f"a {self.status.value} feedback carries no fitness")

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @classmethod
    def failure(cls, status: Status, error: str, cost: Cost | None = None) -> Feedback:
        return cls(status=status, error=error, cost=cost or Cost())

    @classmethod
    def pending(cls) -> Feedback:
        """The feedback of a candidate whose evaluation is under way (not a result)."""
        return cls(status=Status.PENDING)

    def with_cost(self, cost: Cost) -> Feedback:
        return replace(self, cost=cost)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "fitness": self.fitness,
            "metrics": dict(self.metrics),
            "features": dict(self.features),
            "error": self.error,
            "cost": {"seconds": self.cost.seconds, "env_steps": self.cost.env_steps,
                     "llm_calls": self.cost.llm_calls, "llm_tokens": self.cost.llm_tokens},
            "objectives": list(self.objectives),
            "fidelity": self.fidelity,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Feedback:
        try:
            return cls(
                status=Status(data["status"]),
                fitness=None if data.get("fitness") is None else float(data["fitness"]),
                metrics=_floats(data.get("metrics", {}), "metrics"),
                features=_floats(data.get("features", {}), "features"),
                error=str(data.get("error", "")),
                cost=Cost(**data.get("cost", {})),
                objectives=tuple(float(v) for v in data.get("objectives", ())),
                fidelity=str(data.get("fidelity", "full")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EvaluationError(f"feedback record {dict(data)!r} is malformed: {exc}") from None
