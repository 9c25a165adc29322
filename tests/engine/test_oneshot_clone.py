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
    DepthMixed,
    WidthMasked,
    build_supernet,
    supernet_policy_kwargs,
)
from evo_lacer.engine._supernet_space import (
    Depth,
    Width,
    depth_params,
    derived_config,
    entry_families,
    width_params,
)
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import CloneTrainer, ImitationEvaluator, PPOTrainer
from evo_lacer.evaluate._clone_hook import validation_split
from evo_lacer.evaluate._envtools import sb3_view
from evo_lacer.flat import FlatSpace
from evo_lacer.runs import RunStore
from modules_zoo.image import ConvStack
from modules_zoo.sequence import AttentionBlock, Conv1dStack
from modules_zoo.vector import MLPBlock

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
                 params: dict[str, Any], depths: dict[str, int] | None = None,
                 depth_params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The configuration of `choice` at the representative setting except the recorded widths and
    depths."""
    settings: dict[str, dict[str, Any]] = {e: {params[e][choice[e]]["param"]: v} for e, v in widths.items()}
    for e, v in (depths or {}).items():
        settings.setdefault(e, {})[(depth_params or {})[e][choice[e]]["param"]] = v
    return derived_config(space, choice, settings)


@pytest.mark.parametrize("block, x", [
    (MLPBlock(5, width=8, ratio=2, depth=3), torch.randn(4, 5)),
    (MLPBlock(5, width=8, ratio=1, depth=2), torch.randn(4, 5)),
    (ConvStack(3, channels=6, stride=2, depth=3), torch.rand(4, 3, 9, 9)),
    (Conv1dStack(3, channels=6, depth=3), torch.randn(4, 7, 3)),
    (AttentionBlock(3, heads=2, dim=4, depth=3), torch.randn(4, 7, 3)),
], ids=["mlp-projected", "mlp", "conv", "conv1d", "attention"])
def test_each_exit_is_the_block_stopped_after_that_layer_and_the_last_is_forward(block, x) -> None:
    torch.manual_seed(0)
    with torch.no_grad():
        exits, out = block.exits(x), block(x)
        assert len(exits) == block.depth if isinstance(block, MLPBlock | ConvStack | Conv1dStack) \
            else len(exits) == len(block.layers)
        assert torch.allclose(exits[-1], out, atol=1e-6)
        assert [len(block.exits(x, d)) for d in (1, 2)] == [1, 2]
        assert torch.allclose(block.exits(x, 2)[-1], exits[1], atol=1e-6)
    if isinstance(block, ConvStack):  # each stride-2 layer halves the image (rounded up)
        assert [tuple(e.shape[1:]) for e in exits] == [(6, 5, 5), (6, 3, 3), (6, 2, 2)]
    elif isinstance(block, MLPBlock | Conv1dStack | AttentionBlock):
        assert all(e.shape == out.shape for e in exits)


def test_a_depth_parameter_is_found_where_the_branch_starts_with_a_block_with_exits(evaluator, space) -> None:
    depths = depth_params(space, sb3_sources(sb3_view(evaluator.observation_space)), None)
    deep = Depth("depth", (1, 2, 3))
    assert depths["ego"] == {"mlp": deep} and depths["bev"] == {"conv": deep}
    assert depths["history"] == {"attention": deep, "conv1d": deep}  # not gru: nn.GRU's layers
    assert "instruction" not in depths and "fusion" not in depths  # TinyTransformer has no exits


def test_depth_mixing_weighs_the_rest_of_the_branch_at_each_exit() -> None:
    torch.manual_seed(0)
    block = MLPBlock(5, width=4, depth=3)
    rest = nn.Linear(4, 2)
    mixed = DepthMixed(block, rest, (1, 2, 3))
    x = torch.randn(6, 5)
    with torch.no_grad():
        outs = [rest(e) for e in block.exits(x)]
        for i in range(3):
            assert torch.allclose(mixed(x, i), outs[i])
    gamma = torch.zeros(3, requires_grad=True)
    out = mixed(x, torch.softmax(gamma, 0))
    assert torch.allclose(out, sum(outs) / 3, atol=1e-6)
    out.square().sum().backward()
    assert gamma.grad is not None and bool(gamma.grad.abs().gt(0).any())


def test_a_width_parameter_is_found_by_compiling_each_family_at_its_extreme_options(evaluator, space) -> None:
    widths = width_params(space, sb3_sources(sb3_view(evaluator.observation_space)), None)
    assert widths["ego"] == {"mlp": Width("width", (32, 64, 128, 256))}
    assert widths["history"]["gru"] == Width("hidden", (16, 32, 64, 128))
    assert widths["history"]["conv1d"] == Width("channels", (16, 32, 64))
    assert widths["instruction"]["embed_gru"].param == "hidden"  # not dim: the GRU state is the output
    assert widths["bev"]["nature_cnn"].param == "width" and widths["bev"]["conv"].param == "channels"
    families = entry_families(space)
    # attention's output is heads x dim (8 at the representative setting): heads, 8 units each
    assert widths["history"]["attention"] == Width("heads", (2, 4, 8), units=8)
    assert widths["history"]["attention"].unit_counts == (16, 32, 64)
    assert "onehot" in families["instruction"] and "onehot" not in widths["instruction"]  # no parameter
    # the fusion's: its features dimension
    assert widths["fusion"]["concat"] == Width("width", (32, 64, 128, 256))
    assert widths["fusion"]["cross_attention"] == Width("width", (32, 64, 128))
    assert widths["fusion"]["film"].param == "width"  # not condition_source (a source name)


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
    net, families, widths, depths = build_supernet(space, evaluator.observation_space, None, seed=0)
    for e, fams in widths.items():
        for f, width in fams.items() if e != "fusion" else ():
            candidate = net.options[e][families[e].index(f)]
            assert isinstance(candidate, WidthMasked) and candidate.masks.shape == (len(width.options),
                                                                                   width.widest * width.units)
            assert isinstance(candidate.body, DepthMixed) == (f in depths.get(e, {}))
    for j, family in enumerate(families["fusion"]):  # fusions: widest, masked, then projected to 256
        fusion = net.fusions[j]
        assert isinstance(fusion, WidthMasked) and fusion.masks.shape[1] == widths["fusion"][family].widest
    assert net.features_dim == 256
    attention = net.options["history"][families["history"].index("attention")]
    assert isinstance(attention, WidthMasked) and isinstance(attention.body, DepthMixed)
    assert len(attention.body.first.layers) == 3  # deepest
    assert attention.body.first.layers[0].attn.num_heads == 8  # most heads, masked to 2, 4 or 8
    assert net.options["ego"][0].body.first.depth == 3


def test_the_imitation_evaluator_is_a_clone_trainer_not_a_ppo_trainer(evaluator) -> None:
    assert isinstance(evaluator, CloneTrainer) and not isinstance(evaluator, PPOTrainer)


def test_the_validation_rows_are_whole_training_episodes_never_held_out_ones(evaluator) -> None:
    data = evaluator.dataset()
    fit, val = validation_split(data.train, data.groups)
    assert len(fit) and len(val) and not set(fit) & set(val)
    assert set(fit) | set(val) == set(data.train) and not set(val) & set(data.test)
    assert not set(data.groups[fit]) & set(data.groups[val])  # split by episode


def test_cloning_the_supernet_calls_the_hook_around_every_step_and_changes_its_weights(evaluator) -> None:
    net, _, _, _ = build_supernet(FlatSpace.load().for_sources(evaluator.observation_space),
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


@pytest.mark.slow
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
    deep = _phase(result)["depth_params"]
    # beta, then gamma (drawn after beta): each moved a step per cloning step; the argmax is derived
    argmax = {}
    for opts, logits, weights, chosen in ((params, "betas", "width_weights", "widths"),
                                          (deep, "gammas", "depth_weights", "depths")):
        for e, fams in entry_families(space).items():
            for f in (f for f in fams if f in opts.get(e, {})):
                start = ALPHA_INIT * torch.randn(len(opts[e][f]["options"]), generator=generator)
                assert float((torch.tensor(extra[logits][e][f]) - start).abs().max()) > ALPHA_LR / 3, (e, f)
        argmax[chosen] = {e: max(extra[weights][e][f], key=extra[weights][e][f].get)
                          for e, f in extra["choice"].items() if f in opts.get(e, {})}
        assert {e: str(v) for e, v in extra[chosen].items()} == argmax[chosen]  # the argmax option
    assert argmax["depths"]
    assert all(cand.choice[e]["depth"] == v for e, v in extra["depths"].items())  # the argmax depth
    assert dict(cand.choice) == _with_widths(space, extra["choice"], extra["widths"], params, extra["depths"],
                                             deep)


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
    params, deep = _phase(result)["width_params"], _phase(result)["depth_params"]
    for cand in result.history:  # the sampled width and depth of each family drawn that has them
        extra = cand.extra["enas"]
        assert set(extra["widths"]) == {e for e, f in extra["choice"].items() if f in params.get(e, {})}
        assert set(extra["depths"]) == {e for e, f in extra["choice"].items() if f in deep.get(e, {})}
        assert extra["depths"] and all(v in (1, 2, 3) for v in extra["depths"].values())
        assert dict(cand.choice) == _with_widths(space, extra["choice"], extra["widths"], params,
                                                 extra["depths"], deep)
    for e, fams in first["depth_probabilities"].items():
        for f, ps in fams.items():
            assert list(ps) == [str(o) for o in deep[e][f]["options"]] and abs(sum(ps.values()) - 1) < 1e-4
    for e, fams in first["width_probabilities"].items():
        for f, ps in fams.items():
            assert list(ps) == [str(o) for o in params[e][f]["options"]] and abs(sum(ps.values()) - 1) < 1e-4


@pytest.mark.parametrize("name", ["darts", "enas"])
def test_the_probe_fidelity_has_nothing_to_clone_and_is_refused(name: str, tmp_path) -> None:
    probe = ImitationEvaluator("CartPole-v1", expert=None, dataset_steps=64, rollout_episodes=0)
    with pytest.raises(ConfigError, match=r"expert=None.*fidelity='full'"):
        _run(probe, name, 3, tmp_path)
