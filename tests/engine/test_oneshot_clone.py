"""darts and enas at the cheap fidelity: the supernet is trained by behaviour cloning through the
imitation evaluator's `CloneTrainer` hook (end to end on the NumPy ring at smoke size)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from evo_lacer.api import SearchResult, search
from evo_lacer.compile import sb3_sources
from evo_lacer.engine._darts import ALPHA_INIT, ALPHA_LR
from evo_lacer.engine._supernet import (
    Width,
    WidthMasked,
    build_supernet,
    derived_config,
    entry_families,
    supernet_policy_kwargs,
    width_params,
)
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import CloneTrainer, ImitationEvaluator, PPOTrainer
from evo_lacer.evaluate._clone_hook import validation_split
from evo_lacer.evaluate._envtools import sb3_view
from evo_lacer.flat import FlatSpace
from evo_lacer.runs import RunStore

RING = "evo_lacer/RingTraffic-v0"
GRAD_STEPS = 6


def _evaluator(**kwargs: Any) -> ImitationEvaluator:
    return ImitationEvaluator(RING, env_kwargs={"backend": "numpy", "horizon": 30}, dataset_steps=240,
                              grad_steps=GRAD_STEPS, batch_size=32, rollout_episodes=0, feature_samples=64,
                              **kwargs)


@pytest.fixture(scope="module")
def evaluator() -> ImitationEvaluator:
    return _evaluator()


@pytest.fixture(scope="module")
def space(evaluator) -> FlatSpace:
    return FlatSpace.load().for_sources(evaluator.observation_space)


def _run(evaluator: ImitationEvaluator, strategy: str, budget: int, tmp_path) -> SearchResult:
    return search(evaluator=evaluator, strategy=strategy, budget=budget, seed=0, llm="none", workers=1,
                  executor="inprocess", run_dir=tmp_path / "run", progress=False)


def _phase(result: SearchResult) -> dict[str, Any]:
    """The supernet phase's result, as the strategy state keeps it."""
    return RunStore.open(result.run_dir).load_state("checkpoint")["strategy"]["result"]


def _with_widths(space: FlatSpace, choice: dict[str, str], widths: dict[str, int],
                 params: dict[str, Any]) -> dict[str, Any]:
    """The configuration of `choice` at the representative setting except the recorded widths."""
    return derived_config(space, choice, {e: {params[e][choice[e]]["param"]: v} for e, v in widths.items()})


def test_a_width_parameter_is_found_by_compiling_each_family_at_its_extreme_options(evaluator, space) -> None:
    widths = width_params(space, sb3_sources(sb3_view(evaluator.observation_space)), None)
    assert widths["ego"] == {"mlp": Width("width", (32, 64, 128, 256))}
    assert widths["history"]["gru"] == Width("hidden", (16, 32, 64, 128))
    assert widths["history"]["conv1d"] == Width("channels", (16, 32, 64))
    assert widths["instruction"]["embed_gru"].param == "hidden"  # not dim: the GRU state is the output
    assert widths["bev"]["nature_cnn"].param == "width" and widths["bev"]["conv"].param == "channels"
    families = entry_families(space)
    assert "attention" in families["history"] and "attention" not in widths["history"]  # heads x dim
    assert "onehot" in families["instruction"] and "onehot" not in widths["instruction"]  # no parameter
    assert "fusion" not in widths  # sources only


def test_the_width_mask_i_keeps_exactly_the_first_w_i_units_and_mixes_them_differentiably() -> None:
    options = (2, 4, 8)
    masked = WidthMasked(nn.Identity(), nn.Identity(), options)
    x = torch.arange(1.0, 9.0).repeat(3, 1)
    for i, w in enumerate(options):
        out = masked(x, i)
        assert torch.equal(out[:, :w], x[:, :w]) and not out[:, w:].any()
    beta = torch.zeros(len(options), requires_grad=True)
    out = masked(x, torch.softmax(beta, 0))  # unit u keeps the weight of every option wider than u
    kept = torch.tensor([1.0, 1.0, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3])
    assert torch.allclose(out, x * kept)
    out.square().sum().backward()
    assert beta.grad is not None and bool(beta.grad.abs().gt(0).all())


def test_the_supernet_builds_a_width_family_at_its_widest_option(evaluator, space) -> None:
    net, families, widths = build_supernet(space, evaluator.observation_space, None, seed=0)
    for e, fams in widths.items():
        for f, width in fams.items():
            candidate = net.options[e][families[e].index(f)]
            assert isinstance(candidate, WidthMasked) and candidate.masks.shape == (len(width.options),
                                                                                   width.widest)
    assert not isinstance(net.options["history"][families["history"].index("attention")], WidthMasked)


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


def test_darts_clones_its_supernet_for_the_budget_then_evaluates_the_argmax(evaluator, space,
                                                                            tmp_path) -> None:
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
    # beta: a step per cloning step too, away from its start (drawn after alpha's, as the strategy does)
    params = _phase(result)["width_params"]
    generator = torch.Generator().manual_seed(0)
    for e in space.entries():
        torch.randn(len(extra["alphas"][e]), generator=generator)
    for e, fams in entry_families(space).items():
        for f in (f for f in fams if f in params.get(e, {})):
            start = ALPHA_INIT * torch.randn(len(params[e][f]["options"]), generator=generator)
            assert float((torch.tensor(extra["betas"][e][f]) - start).abs().max()) > ALPHA_LR / 3, (e, f)
    widths = {e: max(extra["width_weights"][e][f], key=extra["width_weights"][e][f].get)
              for e, f in extra["choice"].items() if f in params.get(e, {})}
    assert {e: str(v) for e, v in extra["widths"].items()} == widths  # the argmax width option
    assert dict(cand.choice) == _with_widths(space, extra["choice"], extra["widths"], params)


def test_enas_rewards_its_controller_per_cloning_step_and_ranks_samples(evaluator, space, tmp_path) -> None:
    result = _run(evaluator, "enas", 4, tmp_path)
    assert [c.designer for c in result.history] == ["enas", "enas"]
    assert all(c.evaluated and c.feedback.ok for c in result.history)
    acc = result.accounting["enas"]
    assert acc["supernet_steps"] == 2 * GRAD_STEPS and acc["score_steps"] == 0
    first, second = (c.extra["enas"] for c in result.history)
    assert first["supernet_unit"] == "grad_steps"
    assert first["shared_score"] >= second["shared_score"]
    assert (first["choice"], first["widths"]) != (second["choice"], second["widths"])
    probs = first["probabilities"]
    assert any(abs(p - 1 / len(ps)) > 1e-4 for ps in probs.values() for p in ps.values())  # REINFORCE
    params = _phase(result)["width_params"]
    for cand in result.history:  # the sampled width of each family drawn that has one, in its configuration
        extra = cand.extra["enas"]
        assert set(extra["widths"]) == {e for e, f in extra["choice"].items() if f in params.get(e, {})}
        assert dict(cand.choice) == _with_widths(space, extra["choice"], extra["widths"], params)
    for e, fams in first["width_probabilities"].items():
        for f, ps in fams.items():
            assert list(ps) == [str(o) for o in params[e][f]["options"]] and abs(sum(ps.values()) - 1) < 1e-4


@pytest.mark.parametrize("name", ["darts", "enas"])
def test_the_probe_fidelity_has_nothing_to_clone_and_is_refused(name: str, tmp_path) -> None:
    probe = ImitationEvaluator("CartPole-v1", expert=None, dataset_steps=64, rollout_episodes=0)
    with pytest.raises(ConfigError, match=r"expert=None.*fidelity='full'"):
        _run(probe, name, 3, tmp_path)
