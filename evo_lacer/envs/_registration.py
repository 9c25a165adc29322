"""Registration of the ring-road env with gymnasium."""

from __future__ import annotations

import gymnasium as gym

RING_ENV_ID = "evo_lacer/RingTraffic-v0"


def register_envs() -> None:
    """Register ``evo_lacer/RingTraffic-v0``; calling it again does nothing. Keyword arguments
    of ``gymnasium.make`` override ``RingConfig`` fields (``backend="numpy"``) or pass a whole
    ``config=RingConfig(...)``."""
    if RING_ENV_ID not in gym.registry:
        gym.register(id=RING_ENV_ID, entry_point="evo_lacer.envs._env:RingTrafficEnv")
