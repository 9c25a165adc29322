"""Feedback channels a strategy may see, and the one filter that strips the others (LACER's nested
ablation: reward, task metrics, feature statistics): the evaluators apply it to what they return
(their ``feedback=`` setting) and the LLM prompts to what they show (`SearchConfig.llm_channels`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate._feedback import Feedback

CHANNELS: tuple[str, ...] = ("reward", "metrics", "features")
"""``reward``: the episodic-reward entries of ``metrics``; ``metrics``: the task metrics (every
other entry); ``features``: the feature statistics."""

REWARD_KEYS = frozenset({"reward", "reward_std", "train_reward"})


def check_channels(keep: Iterable[str], where: str) -> tuple[str, ...]:
    kept = tuple(dict.fromkeys(str(k) for k in keep))
    bad = [k for k in kept if k not in CHANNELS]
    if bad:
        raise EvaluationError(f"{where}: unknown feedback channel(s) {bad}; choose from {CHANNELS}")
    return kept


def filter_feedback(feedback: Feedback, keep: Iterable[str]) -> Feedback:
    """``feedback`` with only the channels in ``keep``. The fitness always stays: selection
    needs it; a strategy that must not *show* the reward to its LLM reads ``metrics``."""
    kept = set(keep)
    metrics = {
        k: v for k, v in feedback.metrics.items()
        if ("reward" in kept if k in REWARD_KEYS else "metrics" in kept)
    }
    features = dict(feedback.features) if "features" in kept else {}
    return replace(feedback, metrics=metrics, features=features)


SIGNALS = CHANNELS
"""Deprecated name of `CHANNELS`, kept for code written before the rename (feedback channels were
called signals, the word `evo_lacer.signals` uses for tensor kinds)."""
check_signals = check_channels
"""Deprecated name of `check_channels`."""
