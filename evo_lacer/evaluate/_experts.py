"""The scripted experts evo-lacer knows, for the cheap (imitation) fidelity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

Expert = Callable[[Any], Any]
"""``obs -> action``; an expert may also have ``executed(action)``, told the action really taken."""

KNOWN_EXPERTS = "the ring road's ExpertController and BabyAI's bot (BabyAI-* levels)"


def auto_expert(env: gym.Env) -> Expert | None:  # type: ignore[type-arg]
    """The scripted expert evo-lacer knows for ``env`` (bound to it), else None."""
    from evo_lacer.envs import ExpertController, RingTrafficEnv

    unwrapped = env.unwrapped
    if isinstance(unwrapped, RingTrafficEnv):
        return ExpertController(unwrapped.config)
    from evo_lacer.envs._babyai import BabyAIExpert, is_babyai

    if is_babyai(env):
        return BabyAIExpert(env)
    return None
