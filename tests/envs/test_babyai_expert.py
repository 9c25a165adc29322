"""BabyAI's bot as the cheap fidelity's expert: it solves the level, replans after the noisy
actions the dataset collection executes, and only BabyAI levels get it."""

from __future__ import annotations

import numpy as np
import pytest

from evo_lacer.envs import BabyAIExpert
from evo_lacer.envs._babyai import is_babyai
from evo_lacer.evaluate._envtools import rollout
from evo_lacer.evaluate._experts import auto_expert
from evo_lacer.evaluate._make_env import make_env


def test_the_bot_solves_goto_local_and_is_found_automatically() -> None:
    env = make_env("BabyAI-GoToLocal-v0")
    expert = auto_expert(env)
    assert isinstance(expert, BabyAIExpert)
    roll = rollout(env, expert, range(1000, 1010), keep_obs=False)
    assert roll.summary()["reward"] > 0.8  # a random policy: 0.20 on 50 held-out seeds
    assert auto_expert(make_env("MiniGrid-Empty-5x5-v0")) is None
    assert not is_babyai(make_env("CartPole-v1"))


def test_the_bot_replans_after_actions_it_did_not_advise() -> None:
    env = make_env("BabyAI-GoToLocal-v0")
    expert = BabyAIExpert(env)
    rng = np.random.default_rng(0)
    solved = 0
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        for _ in range(64):
            advice = expert(obs)
            taken = int(rng.integers(3)) if rng.random() < 0.3 else advice
            expert.executed(taken)
            obs, reward, terminated, truncated, _ = env.step(taken)
            if terminated or truncated:
                solved += reward > 0
                break
    assert solved >= 3


def test_babyai_resets_do_not_print_their_rejection_sampling(capsys: pytest.CaptureFixture[str]) -> None:
    """BabyAI prints "Sampling rejected: ..." when it redraws a mission; an env evo-lacer builds does not."""
    import gymnasium as gym

    ours = make_env("BabyAI-GoToLocal-v0")  # (imports minigrid, which registers the levels)
    raw = gym.make("BabyAI-GoToLocal-v0")
    for seed in range(40):
        raw.reset(seed=seed)
    assert "Sampling rejected" in capsys.readouterr().out  # the library's own chatter, on these seeds
    for seed in range(40):
        ours.reset(seed=seed)
    assert capsys.readouterr().out == ""
