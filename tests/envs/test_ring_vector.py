"""Vectorized ring envs: subprocesses for SUMO (one libsumo simulation each), in-process NumPy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from ring_helpers import needs_sumo

from evo_lacer.envs import RingConfig, make_sb3_vec_env, make_vec_env
from evo_lacer.errors import ConfigError

FAST = RingConfig(backend="numpy", warmup_steps=50, horizon=4)


def rollout(vec: gym.vector.VectorEnv, seed: int | None, steps: int = 5) -> np.ndarray:
    obs, _ = vec.reset(seed=seed)
    egos = [obs["ego"].copy()]
    for _ in range(steps):
        obs, *_ = vec.step(np.zeros(vec.action_space.shape, np.float32))
        egos.append(obs["ego"].copy())
    return np.stack(egos)


def test_numpy_vec_env_is_in_process_and_seeded() -> None:
    vec = make_vec_env(3, FAST, seed=11)
    assert isinstance(vec, gym.vector.SyncVectorEnv)
    assert vec.observation_space["bev"].shape == (3, 40, 40, 3)
    first = rollout(vec, None)
    assert not np.allclose(first[:, 0], first[:, 1])  # envs differ from one another
    vec.close()
    again = make_vec_env(3, FAST, seed=11)
    np.testing.assert_array_equal(rollout(again, None), first)  # the seed pins them
    again.close()


@needs_sumo
def test_sumo_vec_env_runs_one_simulation_per_process() -> None:
    config = RingConfig(backend="sumo", warmup_steps=50, horizon=4)
    vec = make_vec_env(2, config, seed=3, context="spawn")
    try:
        assert isinstance(vec, gym.vector.AsyncVectorEnv)
        sumo = rollout(vec, None)
    finally:
        vec.close()
    numpy_vec = make_vec_env(2, RingConfig(backend="numpy", warmup_steps=50, horizon=4), seed=3)
    np.testing.assert_allclose(sumo, rollout(numpy_vec, None), atol=1e-5)
    numpy_vec.close()


def test_sb3_vec_env() -> None:
    from stable_baselines3.common.vec_env import DummyVecEnv

    vec = make_sb3_vec_env(2, FAST, seed=0)
    assert isinstance(vec, DummyVecEnv)
    obs = vec.reset()
    assert obs["bev"].shape == (2, 40, 40, 3) and obs["instruction"].dtype == np.int64
    for _ in range(FAST.horizon):
        obs, _, dones, infos = vec.step(np.zeros((2, 1), np.float32))
    assert dones.all() and "episode" in infos[0] and "mean_speed" in infos[0]
    vec.close()


def test_bad_vec_arguments() -> None:
    with pytest.raises(ConfigError, match="n_envs"):
        make_vec_env(0, FAST)
    with pytest.raises(ConfigError, match="Text space"):
        make_sb3_vec_env(1, RingConfig(backend="numpy", instruction_space="text"))


@needs_sumo
def test_sb3_subproc_vec_env_with_sumo() -> None:
    from stable_baselines3.common.vec_env import SubprocVecEnv

    config = RingConfig(backend="sumo", warmup_steps=50, horizon=3)
    vec = make_sb3_vec_env(2, config, seed=0, start_method="spawn")
    try:
        assert isinstance(vec, SubprocVecEnv)
        obs = vec.reset()
        assert obs["ego"].shape == (2, 3)
        for _ in range(config.horizon):
            _, _, dones, _ = vec.step(np.zeros((2, 1), np.float32))
        assert dones.all()
    finally:
        vec.close()
