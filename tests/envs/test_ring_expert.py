"""The scripted expert damps the waves, and needs every observation source."""

from __future__ import annotations

import numpy as np
import pytest
from ring_helpers import BACKENDS, run_episode

from evo_lacer.envs import ExpertController, IDMController, RingConfig, RingTrafficEnv

#: (seed, reset options): a slow target (the instruction matters) and a fast one on a longer
#: ring (the achievable speed matters).
EPISODES = [
    (0, {"target_speed": 2.0, "ring_length": 260}),
    (1, {"target_speed": 5.0, "ring_length": 230}),
]


def score(env: RingTrafficEnv, policy, hide: str | None = None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    runs = [run_episode(env, policy, seed, options, hide) for seed, options in EPISODES]
    return {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}


@pytest.fixture(scope="module")
def numpy_env() -> RingTrafficEnv:
    return RingTrafficEnv(backend="numpy", horizon=200)


@pytest.fixture(scope="module")
def expert_score(numpy_env: RingTrafficEnv) -> dict[str, float]:
    return score(numpy_env, ExpertController(numpy_env.config))


def test_expert_beats_baselines(numpy_env: RingTrafficEnv, expert_score: dict[str, float]) -> None:
    idm = score(numpy_env, IDMController(numpy_env.config))
    zero = score(numpy_env, None)
    assert expert_score["crashed"] == 0.0
    assert expert_score["reward"] > idm["reward"] + 0.3
    assert expert_score["reward"] > zero["reward"] + 0.3
    assert idm["spread"] > 1.5, "with IDM in the controlled seat the waves persist"
    assert expert_score["spread"] < 0.25 * idm["spread"], "the expert damps the waves"


@pytest.mark.parametrize("source", ["ego", "history", "bev", "instruction"])
def test_hiding_a_source_hurts_the_expert(
    numpy_env: RingTrafficEnv, expert_score: dict[str, float], source: str
) -> None:
    hidden = score(numpy_env, ExpertController(numpy_env.config), hide=source)
    assert hidden["reward"] < expert_score["reward"] - 0.1, (source, hidden, expert_score)


def test_expert_with_text_instruction_and_two_vehicles() -> None:
    config = RingConfig(backend="numpy", instruction_space="text", n_controlled=2, horizon=200)
    env = RingTrafficEnv(config)
    expert = score(env, ExpertController(config))
    idm = score(env, IDMController(config))
    assert expert["crashed"] == 0.0
    assert expert["reward"] > idm["reward"] + 0.3


@pytest.mark.parametrize("backend", BACKENDS)
def test_expert_on_both_backends(backend: str) -> None:
    env = RingTrafficEnv(backend=backend, horizon=120)
    try:
        expert = run_episode(env, ExpertController(env.config), 0, EPISODES[0][1])
        idm = run_episode(env, IDMController(env.config), 0, EPISODES[0][1])
    finally:
        env.close()
    assert expert["crashed"] == 0.0
    assert expert["reward"] > idm["reward"] + 0.3
