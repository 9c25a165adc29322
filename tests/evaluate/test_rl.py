"""RLEvaluator: tiny PPO budgets on the ring (NumPy backend), CartPole by id, a Dict env of our own."""

from __future__ import annotations

import math
import pickle

import pytest
from evaluate_helpers import cartpole_tree, register_toy, ring_tree, toy_tree

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate import Evaluator, RLEvaluator, Status, filter_feedback
from evo_lacer.tree import branch, encoder, fusion, module

RING = "evo_lacer/RingTraffic-v0"
RING_KWARGS = {"backend": "numpy", "horizon": 40}


@pytest.fixture(scope="module")
def ring_eval() -> RLEvaluator:
    return RLEvaluator(RING, steps=256, eval_episodes=2, env_kwargs=RING_KWARGS)


def test_ring_tiny_budget_gives_reward_metrics_and_features(ring_eval: RLEvaluator) -> None:
    fb = ring_eval.evaluate(ring_tree(), seed=0)
    assert fb.status is Status.OK, fb.error
    assert fb.fitness == fb.metrics["reward"]
    assert {"mean_speed", "speed_std", "collisions", "instruction_compliance"} <= set(fb.metrics)
    assert fb.metrics["encoder_params"] > 0
    for source in ("ego", "history", "bev", "instruction", "fused"):
        assert f"{source}/effective_rank" in fb.features
        assert f"{source}/dead_units" in fb.features
    assert "redundancy/ego~history" in fb.features
    assert any(k.startswith("probe_r2/") for k in fb.features)
    assert all(math.isfinite(v) for v in fb.features.values())
    assert fb.cost.env_steps >= 256 and fb.cost.seconds > 0
    assert fb.fidelity == "full"


def test_broken_tree_fails_without_raising(ring_eval: RLEvaluator) -> None:
    bad_module = encoder([branch("ego", module("NoSuchModule"))], fusion("ConcatMLP"))
    fb = ring_eval.evaluate(bad_module, seed=0)
    assert fb.status is Status.FAILED and "NoSuchModule" in fb.error
    wrong_source = encoder([branch("radar", module("MLPBlock"))], fusion("ConcatMLP"))
    fb = ring_eval.evaluate(wrong_source, seed=0)
    assert fb.status is Status.FAILED and fb.fitness is None and fb.error


def test_third_party_env_by_id_only() -> None:
    ev = RLEvaluator("CartPole-v1", steps=128, eval_episodes=2)
    assert isinstance(ev, Evaluator)
    fb = ev.evaluate(cartpole_tree(), seed=1)
    assert fb.status is Status.OK, fb.error
    assert fb.fitness is not None and fb.fitness > 0
    # no probe targets in CartPole's info: the small observation itself is probed
    assert any(k.startswith("probe_r2/obs[") for k in fb.features)
    assert "CartPole-v1" in ev.describe()


def test_discrete_observation_env_by_id() -> None:
    tree = encoder([branch("obs", module("DiscreteEmbedding", dim=4))], fusion("ConcatMLP", width=8))
    fb = RLEvaluator("FrozenLake-v1", steps=64, eval_episodes=1).evaluate(tree, seed=0)
    assert fb.status is Status.OK, fb.error
    assert "episode_length" in fb.metrics  # short episodes (< 8 observations) give no statistics


def test_seeds_stay_apart() -> None:
    ev = RLEvaluator("CartPole-v1", steps=64, n_envs=2, eval_episodes=3, eval_seed=100)
    assert ev.held_out_seeds == [100, 101, 102]
    for seed in (0, 97, 98, 99, 100, 102, 103):
        first = ev.train_seed(seed)
        assert not {first, first + 1} & set(ev.held_out_seeds)


def test_own_dict_env_with_discrete_source_and_action() -> None:
    ev = RLEvaluator(register_toy(), steps=128, eval_episodes=2)
    fb = ev.evaluate(toy_tree(), seed=0)
    assert fb.status is Status.OK, fb.error
    assert "hits" in fb.metrics and "probe_r2/code" in fb.features
    assert "redundancy/code~pos" in fb.features


def test_picklable_before_and_after_use(ring_eval: RLEvaluator) -> None:
    fresh = RLEvaluator(RING, steps=64, env_kwargs=RING_KWARGS)
    assert pickle.loads(pickle.dumps(fresh)).steps == 64
    ring_eval.observation_space  # noqa: B018  (probes the env)
    clone = pickle.loads(pickle.dumps(ring_eval))
    assert clone.observation_space == ring_eval.observation_space


def test_describe_names_sources_and_reward(ring_eval: RLEvaluator) -> None:
    text = ring_eval.describe()
    for word in (RING, "ego", "history", "bev", "instruction", "reward", "PPO"):
        assert word in text


def test_feedback_channels_and_filter(ring_eval: RLEvaluator) -> None:
    no_features = RLEvaluator(RING, steps=64, eval_episodes=1, env_kwargs=RING_KWARGS,
                              feedback=("reward", "metrics"))
    fb = no_features.evaluate(ring_tree(), seed=0)
    assert fb.ok and not fb.features and "reward" in fb.metrics
    blind = filter_feedback(fb, ("metrics",))
    assert blind.ok and blind.fitness == fb.fitness  # selection keeps the fitness
    assert "reward" not in blind.metrics and "mean_speed" in blind.metrics
    with pytest.raises(EvaluationError, match="unknown feedback channel"):
        RLEvaluator(RING, steps=64, env_kwargs=RING_KWARGS, feedback=("rewards",))


def test_time_limit_gives_timed_out() -> None:
    ev = RLEvaluator(RING, steps=4096, env_kwargs=RING_KWARGS, max_seconds=0.0)
    fb = ev.evaluate(ring_tree(), seed=0)
    assert fb.status is Status.TIMED_OUT and "max_seconds" in fb.error


def test_bad_settings_raise_with_a_fix() -> None:
    with pytest.raises(EvaluationError, match="steps"):
        RLEvaluator("CartPole-v1", steps=0)
    with pytest.raises(EvaluationError, match="vec_env"):
        RLEvaluator("CartPole-v1", vec_env="threads")


def test_expert_reference_on_the_same_held_out_episodes(ring_eval: RLEvaluator) -> None:
    from evo_lacer.envs import ExpertController, RingConfig

    fb = ring_eval.score_controller(ExpertController(RingConfig(**RING_KWARGS)))
    assert fb.ok and fb.metrics["collisions"] == 0.0


@pytest.mark.slow
def test_sumo_backend_with_subprocess_envs() -> None:
    pytest.importorskip("libsumo")
    ev = RLEvaluator(RING, steps=256, n_envs=2, eval_episodes=1,
                     env_kwargs={"backend": "sumo", "horizon": 40})
    fb = ev.evaluate(ring_tree(), seed=0)
    assert fb.status is Status.OK, fb.error
