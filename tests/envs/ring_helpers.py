"""Shared helpers of the ring-road env tests."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from evo_lacer.envs import RingTrafficEnv

HAS_SUMO = importlib.util.find_spec("libsumo") is not None
needs_sumo = pytest.mark.skipif(not HAS_SUMO, reason="libsumo not installed (extra 'sumo')")
BACKENDS = ["numpy", pytest.param("sumo", marks=needs_sumo)]


def run_episode(
    env: RingTrafficEnv,
    policy: Callable[[dict[str, Any]], np.ndarray] | None,
    seed: int,
    options: dict[str, Any] | None = None,
    hide: str | None = None,
) -> dict[str, float]:
    """Mean reward, mean speed spread over the last third, and whether it crashed; ``hide``
    zeroes one observation source before the policy sees it (None policy = zero action)."""
    obs, _ = env.reset(seed=seed, options=options)
    rewards, spreads, crashed = [], [], False
    done = False
    while not done:
        seen = dict(obs)
        if hide is not None:
            value = seen[hide]
            seen[hide] = "" if isinstance(value, str) else np.zeros_like(value)
        action = policy(seen) if policy else np.zeros(env.action_space.shape, np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        spreads.append(info["speed_std"])
        crashed = crashed or terminated
        done = terminated or truncated
    tail = spreads[-max(1, len(spreads) // 3):]
    return {"reward": float(np.mean(rewards)), "spread": float(np.mean(tail)),
            "crashed": float(crashed)}
