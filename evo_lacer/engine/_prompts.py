"""Prompt texts. Everything an LLM sees is built here; everything it answers is validated data."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from evo_lacer.engine._records import Candidate
from evo_lacer.evaluate import CHANNELS, Feedback, filter_feedback

SYSTEM_DESIGN = (
    "You are a tool that helps design neural-network state encoders for reinforcement learning. "
    "You never write code. You only choose among the options listed for each field, and you answer "
    "with one JSON object matching the given schema."
)
SYSTEM_REFLECT = (
    "You review the results of one generation of an architecture search. Summarize what helped "
    "and what hurt as at most 3 short, concrete insights (one sentence each). Answer with JSON."
)
SYSTEM_CONFIG = (
    "You are a tool that designs neural-network state encoders for reinforcement learning. "
    "You choose one option for every field of the design space and answer with one JSON object "
    "matching the given schema. You never write code."
)

CATEGORY_GUIDANCE: dict[str, str] = {
    "rely_on_llm": "Use your knowledge of neural architectures: choose the options you expect to "
                   "raise the fitness most.",
    "reverse_exploration": "Explore: choose options unlike the recent edits and unlike the current "
                           "design, to try what the search has not tried yet.",
    "minimal_llm_diversity": "Choose options that make this design differ from the others, without "
                             "relying on common conventions.",
}

INSIGHT_MAX_CHARS = 120
REFLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "insights": {"type": "array", "maxItems": 3,
                     "items": {"type": "string", "minLength": 3, "maxLength": INSIGHT_MAX_CHARS}},
    },
    "required": ["insights"],
    "additionalProperties": False,
}


def num(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:.4g}" if math.isfinite(value) else str(value)


# Feature statistics that say most about an encoder come first in prompts (LACER's channels):
# how well features predict ground truth, how much branches overlap, the fused features.
_PRIORITY = ("probe_r2/", "redundancy/", "fused/")


def _rank(key: str) -> tuple[int, str]:
    for i, prefix in enumerate(_PRIORITY):
        if key.startswith(prefix):
            return i, key
    return len(_PRIORITY), key


def format_stats(values: Mapping[str, float], limit: int = 8) -> str:
    items = sorted(values.items(), key=lambda kv: _rank(kv[0]))[:limit]
    more = f", ... ({len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(f"{k}={num(v)}" for k, v in items) + more


def format_feedback(feedback: Feedback | None, *, channels: Sequence[str] = CHANNELS) -> str:
    """What the LLM is told of one evaluation: the channels it may see. ``reward``: the fitness and
    the episodic-reward metrics; ``metrics``: the other task metrics; ``features``: the feature
    statistics. GENIUS sees ``("reward",)``; LACER's ablations hide one signal after another."""
    if feedback is None:
        return "not evaluated"
    if not feedback.ok:
        return f"{feedback.status.value}: {feedback.error[:160]}"
    shown = filter_feedback(feedback, channels)
    lines = [f"fitness {num(feedback.fitness)}"] if "reward" in channels else []
    if shown.metrics:
        lines.append(f"task metrics: {format_stats(shown.metrics)}")
    if shown.features:
        lines.append(f"feature statistics: {format_stats(shown.features)}")
    return "; ".join(lines) or "evaluated (its results are withheld)"


def format_choice(choice: Mapping[str, Any]) -> str:
    return json.dumps(dict(choice), sort_keys=True, default=str, separators=(",", ":"))


def format_candidate(c: Candidate, *, channels: Sequence[str] = ("reward",)) -> str:
    parent = c.extra.get("parent_fitness")
    delta = ""
    if c.fitness is not None and isinstance(parent, int | float) and "reward" in channels:
        delta = f" ({c.fitness - parent:+.3g} vs parent)"
    edit = f"{c.transformation} at {c.site} {format_choice(c.choice)}" if c.site else c.transformation
    return f"#{c.id} {edit} -> {format_feedback(c.feedback, channels=channels)}{delta}"


def design_prompt(
    *, task: str, tree_text: str, parent_feedback: Feedback | None, transformation: str,
    description: str, category: str, history: Sequence[Candidate], insights: Sequence[str],
    question: Sequence[str], channels: Sequence[str] = CHANNELS,
) -> str:
    """The question for one design round. Parts that change least come first (task, history,
    insights, parent, plan, question), so a local model reuses its cached prompt prefix."""
    parts = [f"Task: {task or 'maximize the fitness of the encoder.'}"]
    if history:
        brief = ("reward",) if "reward" in channels else ()
        lines = [f"- {format_candidate(c, channels=brief)}" for c in history]
        parts.append("Recent edits:\n" + "\n".join(lines))
    if insights:
        parts.append("Insights so far:\n" + "\n".join(f"- {i}" for i in insights))
    parts += [f"Current encoder (the parent; [i] marks positions):\n{tree_text}",
              f"Parent feedback: {format_feedback(parent_feedback, channels=channels)}",
              f"Planned edit: {transformation} -- {description}",
              f"Guidance: {CATEGORY_GUIDANCE.get(category, '')}",
              "Choose:\n" + "\n".join(question)]
    return "\n\n".join(parts)


def reflection_prompt(*, task: str, batch: Sequence[Candidate], insights: Sequence[str],
                      channels: Sequence[str] = CHANNELS) -> str:
    parts = [f"Task: {task or 'maximize the fitness of the encoder.'}",
             "Results of this generation:\n" + "\n".join(f"- {format_candidate(c, channels=channels)}"
                                                        for c in batch)]
    if insights:
        parts.append("Earlier insights:\n" + "\n".join(f"- {i}" for i in insights))
    parts.append('Answer {"insights": [...]} with at most 3 new insights.')
    return "\n\n".join(parts)


def config_prompt(
    *, task: str, space: str, history: Sequence[tuple[Mapping[str, Any], Feedback]],
    channels: Sequence[str], this_round: Sequence[Mapping[str, Any]], ranked: bool = True,
) -> str:
    """LACER (every signal) / GENIUS (fitness only) / an ablation: propose one whole configuration.
    `ranked`: the history is best-first then most recent (else most recent only: without the
    reward the order would leak it)."""
    parts = [f"Task: {task or 'maximize the fitness of the encoder.'}", space]
    if history:
        lines = [f"- {format_choice(cfg)} -> {format_feedback(fb, channels=channels)}" for cfg, fb in history]
        head = "best first, then the most recent" if ranked else "the most recent"
        parts.append(f"Evaluated designs ({head}):\n" + "\n".join(lines))
    if this_round:
        parts.append("Already proposed this round (propose a different one):\n"
                     + "\n".join(f"- {format_choice(c)}" for c in this_round))
    parts.append("Propose the next design to evaluate: one JSON object, one family and its parameters "
                 "per entry.")
    return "\n\n".join(parts)
