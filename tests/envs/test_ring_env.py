"""RingTrafficEnv: gymnasium API, spaces, registration, seeding, info metrics."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from ring_helpers import BACKENDS

from evo_lacer.envs import (
    RING_ENV_ID,
    VOCAB,
    RingConfig,
    RingTrafficEnv,
    parse_target,
    register_envs,
    text_to_tokens,
    tokens_to_text,
)
from evo_lacer.envs._instructions import TEMPLATES, make_instruction

FAST = {"warmup_steps": 100, "horizon": 20}
PROBES = {"ego_speed", "ego_headway", "ego_accel", "leader_speed", "ring_mean_speed",
          "ring_speed_std", "downstream_speed", "min_speed", "target_speed", "ring_length"}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("instruction_space", ["tokens", "text"])
def test_check_env_passes(backend: str, instruction_space: str) -> None:
    env = RingTrafficEnv(backend=backend, instruction_space=instruction_space, **FAST)
    try:
        check_env(env, skip_render_check=True)
    finally:
        env.close()


def test_spaces_and_observation_sources() -> None:
    env = RingTrafficEnv(backend="numpy", n_controlled=2, history_length=8, **FAST)
    space = env.observation_space
    assert isinstance(space, gym.spaces.Dict)
    assert space["ego"].shape == (6,)
    assert space["history"].shape == (8, 6)
    assert space["bev"].shape == (40, 40, 3) and space["bev"].dtype == np.uint8
    assert space["instruction"].dtype == np.int64
    assert space["instruction"].high.max() == len(VOCAB) - 1
    assert env.action_space.shape == (2,)
    obs, info = env.reset(seed=0)
    assert space.contains(obs)
    bev = obs["bev"]
    assert (bev[:, :, 0] > 0).sum() >= 22  # every vehicle drawn
    assert (bev[:, :, 2] > 0).any()  # controlled-vehicle marker
    assert not np.allclose(obs["history"][0], obs["history"][-1])  # a real time series
    assert tokens_to_text(obs["instruction"]) == env.instruction.text
    assert set(info["probe_targets"]) == PROBES


def test_step_info_carries_task_metrics() -> None:
    env = RingTrafficEnv(backend="numpy", **FAST)
    env.reset(seed=1, options={"target_speed": 3.0, "ring_length": 250, "template": 2})
    assert env.instruction.text == "hold a speed of 3.0 m/s"
    _, reward, terminated, truncated, info = env.step(np.zeros(1, np.float32))
    assert -1.0 <= reward <= 1.0
    assert not terminated and not truncated
    assert info["collisions"] == 0
    assert 0.0 <= info["instruction_compliance"] <= 1.0
    assert info["speed_std"] > 0.0 and info["mean_speed"] > 0.0
    probes = info["probe_targets"]
    assert probes["target_speed"] == 3.0 and probes["ring_length"] == 250.0
    assert all(isinstance(v, float) for v in probes.values())


def test_episode_truncates_at_horizon() -> None:
    env = RingTrafficEnv(backend="numpy", warmup_steps=0, horizon=3, target_speeds=(2.0,))
    env.reset(seed=0)
    flags = [env.step(np.zeros(1, np.float32))[3] for _ in range(3)]
    assert flags == [False, False, True]


def test_collision_ends_episode_with_penalty() -> None:
    env = RingTrafficEnv(backend="numpy", **FAST)
    env.reset(seed=0)
    for _ in range(FAST["horizon"]):
        _, reward, terminated, _, info = env.step(np.ones(1, np.float32))
        if terminated:
            break
    assert terminated and reward == -env.config.collision_penalty and info["collisions"] >= 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_same_trajectory(backend: str) -> None:
    env = RingTrafficEnv(backend=backend, ring_length_range=(220, 270), **FAST)
    try:
        runs = []
        for _ in range(2):
            obs, _ = env.reset(seed=7)
            trace = [obs["ego"].copy()]
            rng = np.random.default_rng(0)
            for _ in range(10):
                obs, reward, *_ = env.step(rng.uniform(-0.3, 0.3, 1).astype(np.float32))
                trace.append(np.append(obs["ego"], reward))
            runs.append((env.instruction, env.traffic.ring_length, np.concatenate(trace)))
        assert runs[0][:2] == runs[1][:2]
        np.testing.assert_array_equal(runs[0][2], runs[1][2])
        other, _ = env.reset(seed=8)
        assert not np.array_equal(other["ego"], runs[0][2][: other["ego"].shape[0]])
    finally:
        env.close()


def test_ring_length_range_draws_integer_lengths() -> None:
    env = RingTrafficEnv(backend="numpy", ring_length_range=(220, 270), **FAST)
    lengths = set()
    for seed in range(12):
        env.reset(seed=seed)
        lengths.add(env.traffic.ring_length)
    assert len(lengths) > 3
    assert all(220 <= x <= 270 and x == int(x) for x in lengths)


def test_registration_is_idempotent_and_makes_numpy_env() -> None:
    register_envs()
    register_envs()
    assert RING_ENV_ID == "evo_lacer/RingTraffic-v0"
    env = gym.make(RING_ENV_ID, backend="numpy", warmup_steps=50, horizon=5)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert isinstance(env.unwrapped, RingTrafficEnv)
    assert env.unwrapped.config.backend == "numpy"
    check_env(env.unwrapped)
    env.close()


def test_render_rgb_array() -> None:
    env = RingTrafficEnv(backend="numpy", render_mode="rgb_array", **FAST)
    env.reset(seed=0)
    frame = env.render()
    assert frame is not None and frame.shape == (320, 320, 3) and frame.dtype == np.uint8


@pytest.mark.parametrize("template", range(len(TEMPLATES)))
@pytest.mark.parametrize("target", [0.5, 2.0, 4.5, 15.0])
def test_instruction_round_trip(template: int, target: float) -> None:
    instruction = make_instruction(target, template)
    tokens = text_to_tokens(instruction.text, 8)
    assert tokens.dtype == np.int64 and tokens.shape == (8,)
    assert tokens_to_text(tokens) == instruction.text
    assert parse_target(tokens) == target == parse_target(instruction.text)
    assert parse_target(np.zeros(8, np.int64)) is None


def test_text_instruction_space() -> None:
    env = RingTrafficEnv(RingConfig(backend="numpy", instruction_space="text", **FAST))
    obs, _ = env.reset(seed=0)
    assert isinstance(obs["instruction"], str)
    assert env.observation_space["instruction"].contains(obs["instruction"])
    assert parse_target(obs["instruction"]) == env.instruction.target_speed


@settings(max_examples=15, deadline=None)
@given(
    length=st.integers(200, 300),
    n_controlled=st.integers(1, 3),
    image_size=st.integers(36, 64),
    history_length=st.integers(1, 20),
    seed=st.integers(0, 2**16),
)
def test_observations_stay_in_space(
    length: int, n_controlled: int, image_size: int, history_length: int, seed: int
) -> None:
    env = RingTrafficEnv(
        backend="numpy", ring_length=float(length), n_controlled=n_controlled,
        image_size=image_size, history_length=history_length, warmup_steps=60, horizon=3,
    )
    obs, _ = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    for _ in range(3):
        obs, *_ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
