"""Weight inheritance: a child's encoder starts from its parents' trained tensors where the keys and
shapes match; mismatches are skipped and counted; a missing or unreadable parent file trains from
scratch; files are read with ``weights_only=True``."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from evaluate_helpers import TOY_ID, cartpole_tree, register_toy, toy_expert, toy_tree

from evo_lacer.evaluate import Feedback, FunctionEvaluator, ImitationEvaluator, RLEvaluator
from evo_lacer.evaluate._inherit import (
    WeightInheriting,
    WeightPlan,
    carry_weights,
    inherit_weights,
    part_prefix,
    read_weights,
)
from evo_lacer.tree import branch, encoder, fusion, module, tree_hash

PARTS = ("pos", "code", "fusion")


@pytest.fixture(scope="module")
def imitation() -> ImitationEvaluator:
    register_toy()
    return ImitationEvaluator(TOY_ID, expert=toy_expert, dataset_steps=200, grad_steps=20, rollout_episodes=0)


def _child_tree():
    """The toy tree with a wider code embedding: ``pos`` matches, ``code`` and the fusion's first
    layer do not."""
    return encoder([branch("pos", module("MLPBlock", width=8)),
                    branch("code", module("DiscreteEmbedding", dim=6))], fusion("ConcatMLP", width=16))


def _untrained(evaluator: ImitationEvaluator) -> ImitationEvaluator:
    """No cloning step: the saved weights are the encoder's initial weights."""
    frozen = copy.copy(evaluator)
    frozen.grad_steps = 0
    return frozen


def _evaluate(evaluator, tree, folder: Path, loads=()) -> tuple[Feedback, dict[str, torch.Tensor] | None]:
    """Evaluate `tree` loading (key prefix, parent tree hash) pairs from `folder`, saving it there."""
    plan = WeightPlan(str(folder), {tree_hash(tree): tuple(loads)})
    fb = evaluator.with_inheritance(plan).evaluate(tree, seed=0)
    return fb, read_weights(folder / f"{tree_hash(tree)}.pt")


def test_a_child_starts_from_the_parents_matching_tensors(tmp_path, imitation) -> None:
    assert isinstance(imitation, WeightInheriting)
    parent_fb, parent = _evaluate(imitation, toy_tree(), tmp_path)
    assert parent_fb.ok and parent_fb.metrics["weights_saved"] == 1.0 and parent is not None
    assert parent_fb.metrics["inherited_tensors"] == 0.0
    assert all(k.startswith(("encoder.branches.", "encoder.fusion.")) for k in parent)

    child = _child_tree()
    loads = [(part_prefix(p), tree_hash(toy_tree())) for p in PARTS]
    fb, warm = _evaluate(_untrained(imitation), child, tmp_path, loads)
    assert fb.ok and warm is not None
    pos = [k for k in warm if k.startswith("encoder.branches.pos.")]
    assert pos and all(torch.equal(warm[k], parent[k]) for k in pos)  # loaded: the parent's trained tensors
    assert fb.metrics["inherited_tensors"] >= len(pos)
    assert fb.metrics["inherit_shape_mismatch"] >= 2  # the wider embedding, the fusion's first layer
    code = [k for k in warm if k.startswith("encoder.branches.code.")]
    assert code and all(warm[k].shape != parent[k].shape for k in code)

    _, cold = _evaluate(_untrained(imitation), child, tmp_path / "cold")  # the same child, nothing loaded
    assert cold is not None and not any(torch.equal(cold[k], parent[k]) for k in pos)


def test_only_the_asked_parts_are_loaded(tmp_path, imitation) -> None:
    _evaluate(imitation, toy_tree(), tmp_path)
    parent = read_weights(tmp_path / f"{tree_hash(toy_tree())}.pt")
    (tmp_path / "code").mkdir()  # the child is the same tree: its file goes elsewhere
    (tmp_path / "code" / "parent.pt").write_bytes((tmp_path / f"{tree_hash(toy_tree())}.pt").read_bytes())
    only_code = [(part_prefix("code"), "parent")]
    fb, warm = _evaluate(_untrained(imitation), toy_tree(), tmp_path / "code", only_code)
    assert parent is not None and warm is not None
    assert all(torch.equal(warm[k], parent[k]) == k.startswith("encoder.branches.code.") for k in warm)
    assert fb.metrics["inherited_tensors"] == sum(k.startswith("encoder.branches.code.") for k in warm)


def test_missing_or_unreadable_parents_train_from_scratch(tmp_path, imitation) -> None:
    (tmp_path / "garbage.pt").write_bytes(b"not a weight file")
    torch.save({"encoder.fusion.x": 1}, tmp_path / "numbers.pt")  # loads, but holds no tensors
    loads = [(part_prefix("pos"), "absent"), (part_prefix("code"), "garbage"),
             (part_prefix("fusion"), "numbers")]
    fb, saved = _evaluate(imitation, toy_tree(), tmp_path, loads)
    assert fb.ok and saved is not None
    assert fb.metrics["inherit_unreadable_files"] == 3.0 and fb.metrics["inherited_tensors"] == 0.0
    assert fb.fitness == imitation.evaluate(toy_tree(), seed=0).fitness  # as if nothing was asked


def test_a_pickle_that_runs_code_is_refused(tmp_path) -> None:
    class Boom:
        def __reduce__(self):
            return (print, ("executed",))

    torch.save({"encoder.fusion.0.weight": Boom()}, tmp_path / "evil.pt")
    assert read_weights(tmp_path / "evil.pt") is None


def test_separate_critic_extractor_starts_from_the_same_tensors(tmp_path, imitation) -> None:
    from stable_baselines3.common.policies import MultiInputActorCriticPolicy

    from evo_lacer.compile import policy_kwargs_for
    from evo_lacer.evaluate._inherit import TreeWeights

    _evaluate(imitation, toy_tree(), tmp_path)
    weights = TreeWeights(tmp_path / "child.pt", [("", tmp_path / f"{tree_hash(toy_tree())}.pt")])
    kwargs = carry_weights(dict(policy_kwargs_for(toy_tree())), weights)
    policy = MultiInputActorCriticPolicy(imitation.observation_space, imitation.action_space, lambda _: 1e-3,
                                         share_features_extractor=False, **kwargs)
    inherit_weights(policy)
    parent = read_weights(tmp_path / f"{tree_hash(toy_tree())}.pt")
    assert parent is not None and weights.report["inherited_tensors"] == len(parent)
    for extractor in (policy.pi_features_extractor, policy.vf_features_extractor):
        assert all(torch.equal(v, parent[k]) for k, v in extractor.state_dict().items())


def test_rl_evaluator_saves_and_inherits(tmp_path) -> None:
    ev = RLEvaluator("CartPole-v1", steps=16, eval_episodes=1, eval_max_steps=20, feedback=("reward",))
    assert isinstance(ev, WeightInheriting)
    tree = cartpole_tree()
    parent_fb, parent = _evaluate(ev, tree, tmp_path)
    assert parent_fb.ok and parent is not None and parent_fb.metrics["weights_saved"] == 1.0
    wider = encoder([branch("obs", module("MLPBlock", width=16))], fusion("ConcatMLP", width=24))
    fb, _ = _evaluate(ev, wider, tmp_path, [(part_prefix("obs"), tree_hash(tree)),
                                            (part_prefix("fusion"), tree_hash(tree))])
    assert fb.ok and fb.metrics["inherited_tensors"] > 0 and fb.metrics["inherit_shape_mismatch"] > 0
    assert set(fb.metrics) - {"reward", "reward_std", "train_reward"} == {  # reported whatever feedback= says
        "inherited_tensors", "inherit_shape_mismatch", "inherit_missing_keys", "inherit_unreadable_files",
        "weights_saved"}


def test_a_fitness_function_keeps_no_weights() -> None:
    from gymnasium import spaces

    assert not isinstance(FunctionEvaluator(lambda t: 1.0, spaces.Box(0, 1, (2,))), WeightInheriting)
