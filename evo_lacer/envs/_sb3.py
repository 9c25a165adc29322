"""Stable-Baselines3 vector envs of the ring road (SubprocVecEnv for SUMO)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from evo_lacer.envs._config import RingConfig
from evo_lacer.envs._env import RingTrafficEnv
from evo_lacer.envs._vector import check_vec_args
from evo_lacer.errors import ConfigError

if TYPE_CHECKING:
    import gymnasium as gym
    from stable_baselines3.common.vec_env import VecEnv


def _monitored(config: RingConfig) -> gym.Env:
    from stable_baselines3.common.monitor import Monitor

    return Monitor(RingTrafficEnv(config), info_keywords=("mean_speed", "speed_std"))


def make_sb3_vec_env(
    n_envs: int,
    config: RingConfig | None = None,
    seed: int | None = None,
    *,
    start_method: str | None = None,
) -> VecEnv:
    """``n_envs`` Monitor-wrapped ring envs as an SB3 ``VecEnv``: ``SubprocVecEnv`` (with
    ``start_method``) for SUMO, ``DummyVecEnv`` for NumPy; env ``i`` gets ``seed + i`` at the
    first reset. Needs ``instruction_space="tokens"`` (SB3 has no ``Text`` space)."""
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    config = check_vec_args(n_envs, config)
    if config.instruction_space != "tokens":
        raise ConfigError(
            f"instruction_space={config.instruction_space!r} cannot be used with SB3, which "
            "has no Text space; use RingConfig(instruction_space='tokens')"
        )
    fns: list[Callable[[], gym.Env]] = [partial(_monitored, config) for _ in range(n_envs)]
    sumo = config.backend == "sumo"
    vec = SubprocVecEnv(fns, start_method=start_method) if sumo else DummyVecEnv(fns)
    if seed is not None:
        vec.seed(seed)
    return vec
