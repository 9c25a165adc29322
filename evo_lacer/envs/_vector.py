"""Vectorized ring envs for gymnasium: subprocesses for SUMO (libsumo runs one simulation per
process), in-process for NumPy."""

from __future__ import annotations

from functools import partial
from typing import Any

import gymnasium as gym

from evo_lacer.envs._config import RingConfig
from evo_lacer.envs._env import RingTrafficEnv
from evo_lacer.errors import ConfigError


class SeedFirstReset(gym.Wrapper[Any, Any, Any, Any]):
    """Uses ``seed`` for the first ``reset()`` that is given none, so that an env built in a
    worker process is reproducible without an extra reset at construction."""

    def __init__(self, env: gym.Env[Any, Any], seed: int | None) -> None:
        super().__init__(env)
        self._pending = seed
        if seed is not None:
            env.action_space.seed(seed)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if seed is None:
            seed = self._pending
        self._pending = None
        return self.env.reset(seed=seed, options=options)


def make_ring_env(config: RingConfig, seed: int | None = None) -> gym.Env[Any, Any]:
    """One ring env whose first unseeded ``reset`` uses ``seed`` (picklable as a partial)."""
    return SeedFirstReset(RingTrafficEnv(config), seed)


def check_vec_args(n_envs: int, config: RingConfig | None) -> RingConfig:
    """Validated vector-env arguments (shared with the SB3 helper)."""
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ConfigError(f"n_envs={n_envs!r} must be an integer >= 1")
    return config if config is not None else RingConfig()


def make_vec_env(
    n_envs: int,
    config: RingConfig | None = None,
    seed: int | None = None,
    *,
    context: str | None = None,
) -> gym.vector.VectorEnv[Any, Any, Any]:
    """``n_envs`` ring envs as a gymnasium vector env: ``AsyncVectorEnv`` (one process each,
    multiprocessing ``context`` e.g. ``"spawn"``) for SUMO, ``SyncVectorEnv`` for NumPy. Env
    ``i`` is seeded with ``seed + i`` at its first reset."""
    config = check_vec_args(n_envs, config)
    fns = [
        partial(make_ring_env, config, None if seed is None else seed + i)
        for i in range(n_envs)
    ]
    if config.backend == "sumo":
        return gym.vector.AsyncVectorEnv(fns, context=context)
    return gym.vector.SyncVectorEnv(fns)
