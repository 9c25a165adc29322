"""What the LLM cost and did: calls, tokens, seconds, fallbacks, and how often it mattered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class LLMAccounting:
    """Running totals of one designer's LLM use (mutable; snapshot with `to_dict`)."""

    calls: int = 0
    """LLM requests sent (answered or not)."""
    failed_calls: int = 0
    """Requests that raised (unavailable, timeout, invalid answer)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    """Wall-clock seconds inside LLM calls."""
    decisions: int = 0
    """Designs filled (one per candidate)."""
    fallbacks: int = 0
    """Designs where some choice came from the random fallback."""
    differs_from_random: int = 0
    """Designs that differ from what a random designer with the same rng state chose."""
    repeats: int = 0
    """Designs that repeated an earlier one and were moved to an unseen neighbour (lacer/genius)."""
    reflections: int = 0
    insights: int = 0
    """Insights kept from reflections."""
    insights_rejected: int = 0
    """Insights dropped: degenerate text, or naming nothing of this search (never shown again)."""
    skipped_calls: int = 0
    """Requests not sent because the backend was switched off after repeated unavailability."""
    errors: dict[str, int] = field(default_factory=dict)
    """Failed calls by exception type."""

    def add_call(self, *, seconds: float, prompt_tokens: int = 0, completion_tokens: int = 0,
                 error: str | None = None) -> None:
        self.calls += 1
        self.seconds += seconds
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        if error is not None:
            self.failed_calls += 1
            self.errors[error] = self.errors.get(error, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tokens"] = self.prompt_tokens + self.completion_tokens
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LLMAccounting:
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["errors"] = dict(kwargs.get("errors", {}))
        return cls(**kwargs)
