"""darts and enas at the cheap fidelity: the supernet is trained by behaviour cloning through the
imitation evaluator's `CloneTrainer` hook (end to end on the NumPy ring at smoke size)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from evo_lacer.api import SearchResult, search
from evo_lacer.engine._darts import ALPHA_INIT
from evo_lacer.engine._supernet import build_supernet, supernet_policy_kwargs
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import CloneTrainer, ImitationEvaluator, PPOTrainer
from evo_lacer.evaluate._clone_hook import validation_split
from evo_lacer.flat import FlatSpace

RING = "evo_lacer/RingTraffic-v0"
GRAD_STEPS = 6


def _evaluator(**kwargs: Any) -> ImitationEvaluator:
    return ImitationEvaluator(RING, env_kwargs={"backend": "numpy", "horizon": 30}, dataset_steps=240,
                              grad_steps=GRAD_STEPS, batch_size=32, rollout_episodes=0, feature_samples=64,
                              **kwargs)


@pytest.fixture(scope="module")
def evaluator() -> ImitationEvaluator:
    return _evaluator()


def _run(evaluator: ImitationEvaluator, strategy: str, budget: int, tmp_path) -> SearchResult:
    return search(evaluator=evaluator, strategy=strategy, budget=budget, seed=0, llm="none", workers=1,
                  executor="inprocess", run_dir=tmp_path / "run", progress=False)


def test_the_imitation_evaluator_is_a_clone_trainer_not_a_ppo_trainer(evaluator) -> None:
    assert isinstance(evaluator, CloneTrainer) and not isinstance(evaluator, PPOTrainer)


def test_the_validation_rows_are_whole_training_episodes_never_held_out_ones(evaluator) -> None:
    data = evaluator.dataset()
    fit, val = validation_split(data.train, data.groups)
    assert len(fit) and len(val) and not set(fit) & set(val)
    assert set(fit) | set(val) == set(data.train) and not set(val) & set(data.test)
    assert not set(data.groups[fit]) & set(data.groups[val])  # split by episode


def test_cloning_the_supernet_calls_the_hook_around_every_step_and_changes_its_weights(evaluator) -> None:
    net, _, _ = build_supernet(FlatSpace.load().for_sources(evaluator.observation_space),
                            evaluator.observation_space, None, seed=0)
    before = [p.detach().clone() for p in net.parameters()]
    calls: list[str] = []
    rewards: list[float] = []

    class Hook:
        def before_step(self) -> None:
            calls.append("before")

        def after_step(self, reward) -> None:
            calls.append("after")
            rewards.append(reward())

    run = evaluator.train_clone(supernet_policy_kwargs(net), 0, 5, Hook())
    assert run.steps == 5 and calls == ["before", "after"] * 5
    assert all(np.isfinite(rewards)) and np.isfinite(run.score())
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_darts_clones_its_supernet_for_the_budget_then_evaluates_the_argmax(evaluator, tmp_path) -> None:
    result = _run(evaluator, "darts", 3, tmp_path)
    assert [c.designer for c in result.history] == ["darts"]
    (cand,) = result.history
    assert cand.evaluated and cand.feedback.ok
    acc = result.accounting["darts"]
    assert acc["candidate_equivalents"] == 2 and acc["supernet_steps"] == 2 * GRAD_STEPS
    extra = cand.extra["darts"]
    assert extra["supernet_unit"] == "grad_steps"
    moved = [abs(v) for alphas in extra["alphas"].values() for v in alphas]
    assert max(moved) > 10 * ALPHA_INIT  # alpha took a step per cloning step, away from its init
    assert {e: v["family"] for e, v in cand.choice.items()} == extra["choice"]
    assert all(extra["choice"][e] == max(w, key=w.get) for e, w in extra["weights"].items())
    # the supernet's cloning spends no env steps: only the evaluated candidate's count
    assert result.accounting["env_steps"] == cand.feedback.cost.env_steps


def test_enas_rewards_its_controller_per_cloning_step_and_ranks_samples(evaluator, tmp_path) -> None:
    result = _run(evaluator, "enas", 4, tmp_path)
    assert [c.designer for c in result.history] == ["enas", "enas"]
    assert all(c.evaluated and c.feedback.ok for c in result.history)
    acc = result.accounting["enas"]
    assert acc["supernet_steps"] == 2 * GRAD_STEPS and acc["score_steps"] == 0
    first, second = (c.extra["enas"] for c in result.history)
    assert first["supernet_unit"] == "grad_steps"
    assert first["shared_score"] >= second["shared_score"] and first["choice"] != second["choice"]
    probs = first["probabilities"]
    assert any(abs(p - 1 / len(ps)) > 1e-4 for ps in probs.values() for p in ps.values())  # REINFORCE


@pytest.mark.parametrize("name", ["darts", "enas"])
def test_the_probe_fidelity_has_nothing_to_clone_and_is_refused(name: str, tmp_path) -> None:
    probe = ImitationEvaluator("CartPole-v1", expert=None, dataset_steps=64, rollout_episodes=0)
    with pytest.raises(ConfigError, match=r"expert=None.*fidelity='full'"):
        _run(probe, name, 3, tmp_path)
