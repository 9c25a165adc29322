"""ImitationEvaluator: fast, discriminative, cached per process; the probe-only fallback."""

from __future__ import annotations

import pickle
import time

import pytest
from evaluate_helpers import TOY_ID, cartpole_tree, register_toy, ring_tree, toy_expert, toy_tree

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate import ImitationEvaluator, Status
from evo_lacer.tree import branch, encoder, fusion, module


@pytest.fixture(scope="module")
def ring_imitation() -> ImitationEvaluator:
    return ImitationEvaluator("evo_lacer/RingTraffic-v0", env_kwargs={"backend": "numpy", "horizon": 80},
                              dataset_steps=800, grad_steps=120, batch_size=64, rollout_episodes=1)


def test_ring_encoder_that_sees_the_sources_beats_a_useless_one(ring_imitation: ImitationEvaluator) -> None:
    start = time.perf_counter()
    good = ring_imitation.evaluate(ring_tree(), seed=0)
    blind = encoder([branch("instruction", module("EmbedMeanPool", dim=8))], fusion("ConcatMLP", width=16))
    useless = ring_imitation.evaluate(blind, seed=0)
    assert time.perf_counter() - start < 30
    assert good.ok and useless.ok, (good.error, useless.error)
    assert good.fidelity == "imitation"
    assert good.fitness is not None and useless.fitness is not None
    assert good.fitness > 0.2 > useless.fitness
    assert good.features["probe_r2/ego_speed"] > useless.features.get("probe_r2/ego_speed", 0.0)
    assert {"imitation_loss", "imitation_skill", "reward", "mean_speed"} <= set(good.metrics)


def test_dataset_is_collected_once_and_shared_by_copies(ring_imitation: ImitationEvaluator) -> None:
    data = ring_imitation.dataset()
    assert data.steps == 800 and len(data.test) > 0 and set(data.train).isdisjoint(data.test)
    clone = pickle.loads(pickle.dumps(ring_imitation))
    assert clone.dataset() is data


def test_same_seed_same_fitness_whatever_ran_before() -> None:
    register_toy()
    ev = ImitationEvaluator(TOY_ID, expert=toy_expert, dataset_steps=200, grad_steps=20, rollout_episodes=0)
    first = ev.evaluate(toy_tree(), seed=7)
    other = encoder([branch("pos", module("MLPBlock", width=24)), branch("code", module("OneHot"))],
                    fusion("SumFusion", width=8))
    assert ev.evaluate(other, seed=7).ok
    assert ev.evaluate(toy_tree(), seed=7).fitness == first.fitness
    assert ev.evaluate(toy_tree(), seed=8).fitness != first.fitness


def test_toy_dict_env_with_a_user_expert() -> None:
    register_toy()
    ev = ImitationEvaluator(TOY_ID, expert=toy_expert, dataset_steps=400, grad_steps=80)
    sees = ev.evaluate(toy_tree(with_code=True), seed=0)
    blind = ev.evaluate(toy_tree(with_code=False), seed=0)
    assert sees.fitness is not None and blind.fitness is not None
    assert sees.fitness > 0.8 and blind.fitness < 0.1


def test_without_an_expert_auto_refuses_and_none_is_the_named_probe_proxy() -> None:
    with pytest.raises(EvaluationError, match=r"knows none for env 'CartPole-v1'.*--expert none"):
        ImitationEvaluator("CartPole-v1", dataset_steps=300, rollout_episodes=0)
    ev = ImitationEvaluator("CartPole-v1", expert=None, dataset_steps=300, rollout_episodes=0)
    assert ev.fidelity == "probe" and "not how well an agent using them would act" in ev.describe()
    fb = ev.evaluate(cartpole_tree(), seed=0)
    assert fb.ok and "imitation_skill" not in fb.metrics and fb.fidelity == "probe"
    probes = [v for k, v in fb.features.items() if k.startswith("probe_r2/")]
    assert probes and fb.fitness == pytest.approx(sum(probes) / len(probes))


def test_baseline_and_failures(ring_imitation: ImitationEvaluator) -> None:
    register_toy()
    assert ring_imitation.baseline(seed=0).ok
    fb = ring_imitation.evaluate(encoder([branch("ego", module("Nope"))], fusion("ConcatMLP")), seed=0)
    assert fb.status is Status.FAILED and "Nope" in fb.error
    late = ImitationEvaluator(TOY_ID, expert=toy_expert, dataset_steps=100, max_seconds=0.0)
    fb = late.evaluate(toy_tree(), seed=0)
    assert fb.status is Status.TIMED_OUT and "max_seconds" in fb.error
    with pytest.raises(EvaluationError, match="holdout"):
        ImitationEvaluator("CartPole-v1", expert=None, holdout=1.5)
