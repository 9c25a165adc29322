"""Feedback signals a strategy may see, and a wrapper that strips the others (LACER's nested
ablation: reward, task metrics, feature statistics)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import gymnasium as gym

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate._base import Evaluator
from evo_lacer.evaluate._feedback import Feedback
from evo_lacer.tree import Node

SIGNALS: tuple[str, ...] = ("reward", "metrics", "features")
"""``reward``: the episodic-reward entries of ``metrics``; ``metrics``: the task metrics (every
other entry); ``features``: the feature statistics."""

REWARD_KEYS = frozenset({"reward", "reward_std", "train_reward"})


def check_signals(keep: Iterable[str], where: str) -> tuple[str, ...]:
    kept = tuple(dict.fromkeys(str(k) for k in keep))
    bad = [k for k in kept if k not in SIGNALS]
    if bad:
        raise EvaluationError(f"{where}: unknown feedback signal(s) {bad}; choose from {SIGNALS}")
    return kept


def filter_feedback(feedback: Feedback, keep: Iterable[str]) -> Feedback:
    """``feedback`` with only the signals in ``keep``. The fitness always stays: selection
    needs it; a strategy that must not *show* the reward to its LLM reads ``metrics``."""
    kept = set(keep)
    metrics = {
        k: v for k, v in feedback.metrics.items()
        if ("reward" in kept if k in REWARD_KEYS else "metrics" in kept)
    }
    features = dict(feedback.features) if "features" in kept else {}
    return replace(feedback, metrics=metrics, features=features)


class FeedbackFilter:
    """An evaluator that passes only some feedback signals on (picklable if ``inner`` is).

    ``FeedbackFilter(evaluator, keep=("reward", "metrics"))`` is LACER without feature
    statistics; ``keep=("metrics", "features")`` is LACER without the reward.
    """

    def __init__(self, evaluator: Evaluator, keep: Iterable[str] = SIGNALS) -> None:
        self.inner = evaluator
        self.keep = check_signals(keep, "FeedbackFilter(keep=...)")
        self.observation_space: gym.Space = evaluator.observation_space
        self.isolate: bool = bool(getattr(evaluator, "isolate", False))

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        return filter_feedback(self.inner.evaluate(tree, seed), self.keep)

    def describe(self) -> str:
        hidden = [s for s in SIGNALS if s not in self.keep]
        note = f" (feedback withheld: {', '.join(hidden)})" if hidden else ""
        return self.inner.describe() + note
