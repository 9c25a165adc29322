"""compile_tree / infer_signals: building, running, composites, foreign modules, errors."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from compile_helpers import ROOT, ring_space, sample_batch
from gymnasium import spaces
from torch import nn

from evo_lacer.compile import compile_tree, infer_signals, module_signal, parameter_count
from evo_lacer.compile._build import ChannelsFirst, Pick, ProjectedResidual, Residual
from evo_lacer.errors import CompileError, ShapeError, TreeError
from evo_lacer.signals import Image, Sequence, Tokens, Vector
from evo_lacer.tree import (
    Node,
    branch,
    chain,
    encoder,
    from_json,
    fusion,
    load_tree,
    module,
    repeat,
    residual,
    to_json,
)
from evo_lacer.zoo import Catalog

SOURCES = {"ego": Vector(8), "history": Sequence(10, 4), "bev": Image(3, 16, 16), "ins": Tokens(5, 20)}


def tree_of(fuse: Node | None = None, head: Node | None = None, **branches: list[Node]) -> Node:
    return encoder([branch(k, *v) for k, v in branches.items()], fuse or fusion("ConcatMLP", width=16), head)


def test_ring_expert_compiles_and_runs_on_raw_observations() -> None:
    space = ring_space()
    enc = compile_tree(load_tree(ROOT / "trees" / "ring_lacer_expert.json"), space)
    out = enc(sample_batch(space, 5))
    assert out.shape == (5, enc.features_dim) and torch.isfinite(out).all()
    assert set(enc.sources) == {"ego", "history", "bev", "instruction"}
    assert enc.signals[("bev",)][0] == Image(3, 40, 40)
    out.sum().backward()  # trainable end to end
    assert all(p.grad is not None for p in enc.parameters())


def test_text_source_takes_strings() -> None:
    space = ring_space(text=True)
    tree = tree_of(ego=[module("MLPBlock", width=8)], instruction=[module("EmbedGRU", dim=8, hidden=8)])
    enc = compile_tree(tree, space)
    assert enc.sources["instruction"].signal == Tokens(24, 40)
    assert enc(sample_batch(space, 3)).shape == (3, 16)
    assert enc.ignored_sources == ["bev", "history"]


def test_single_box_space_takes_a_tensor() -> None:
    space = spaces.Box(-1, 1, (6,), np.float32)
    enc = compile_tree(tree_of(obs=[module("MLPBlock", width=8)]), space)
    assert enc(torch.zeros(4, 6)).shape == (4, 16)
    assert enc({"obs": np.zeros((4, 6), np.float32)}).shape == (4, 16)


def test_discrete_and_multidiscrete_sources() -> None:
    space = spaces.Dict({"mode": spaces.Discrete(3), "codes": spaces.MultiDiscrete([4, 2])})
    enc = compile_tree(tree_of(mode=[module("EmbedMeanPool", dim=4)], codes=[module("OneHot")]), space)
    assert enc.signals[("codes", "0")] == (Tokens(2, 4), Vector(8))
    assert enc({"mode": np.array([0, 2]), "codes": np.array([[3, 1], [0, 0]])}).shape == (2, 16)


@pytest.mark.parametrize(("branches", "message"), [
    ({"history": [module("MLPBlock")]}, "encoder/history/0: MLPBlock expects vector, got Sequence(10, 4)"),
    ({"ego": [module("MLPBlock", width=32), module("Conv1dStack")]},
     "encoder/ego/1: Conv1dStack expects sequence, got Vector(32)"),
    ({"bev": [module("ConvStack", channels=16)]},
     "encoder/bev: branch ends in Image(16, 4, 4); add a pooling module such as GlobalAvgPool"),
    ({"history": [module("GRUEncoder")]}, "encoder/history: branch ends in Sequence(10, 32)"),
    ({"ins": []}, "encoder/ins: branch ends in Tokens(5, vocab=20)"),
    ({"bev": [residual(module("ConvStack", stride=2)), module("GlobalAvgPool")]},
     "encoder/bev/0: residual body maps Image(3, 16, 16) to Image(16, 4, 4)"),
    ({"history": [chain(module("GRUEncoder"), module("LastStep")), module("LastStep")]},
     "encoder/history/1: LastStep expects sequence, got Vector(32)"),
])
def test_shape_errors_name_the_path(branches: dict[str, list[Node]], message: str) -> None:
    with pytest.raises(ShapeError) as err:
        compile_tree(tree_of(**branches), SOURCES)
    assert message in str(err.value)


@pytest.mark.parametrize(("node", "needles"), [
    (module("MLPBlock", widht=3), ["encoder/ego/0", "no parameter 'widht'", "valid parameters: width=64"]),
    (module("MLPBloc"), ["encoder/ego/0", "not in the catalog", "MLPBlock"]),
    (module("MLPBlock", in_dim=3), ["encoder/ego/0", "set by the compiler"]),
    (module("MLPBlock", activation="nope"), ["encoder/ego/0", "unknown activation", "activation='relu'"]),
    (module("ConcatMLP"), ["encoder/ego/0", "fusion module"]),
])
def test_bad_modules_and_params_are_compile_errors(node: Node, needles: list[str]) -> None:
    with pytest.raises(CompileError) as err:
        compile_tree(tree_of(ego=[node]), SOURCES)
    for needle in needles:
        assert needle in str(err.value)


def test_tree_level_errors(torch_catalog: Catalog) -> None:
    with pytest.raises(CompileError, match=r"source 'nope'.*lacks"):
        compile_tree(tree_of(nope=[module("MLPBlock")]), SOURCES)
    with pytest.raises(CompileError, match="not a fusion module"):
        compile_tree(tree_of(fusion("MLPBlock"), ego=[module("MLPBlock")]), SOURCES)
    with pytest.raises(ShapeError, match="encoder/head: the head ends in"):
        compile_tree(tree_of(head=chain(module("nn.Unflatten", dim=1, unflattened_size=(4, 4))),
                             ego=[module("MLPBlock")]), SOURCES, torch_catalog)
    with pytest.raises(TreeError):
        compile_tree(Node("encoder", children=(branch("ego"),)), SOURCES)


@pytest.mark.parametrize(("source", "body", "projected", "skip_type"), [
    ("ego", [module("MLPBlock", width=8)], False, None),
    ("ego", [module("MLPBlock", width=32)], True, nn.Linear),
    ("history", [module("SequenceMLP", width=12)], True, nn.Linear),
    ("bev", [module("ConvStack", channels=6, stride=1, depth=1)], True, nn.Conv2d),
    ("bev", [module("ResidualConvBlock")], False, None),
])
def test_residual_adds_a_projection_only_when_the_width_changes(
    source: str, body: list[Node], projected: bool, skip_type: type | None
) -> None:
    pool = {"ego": [], "history": [module("MeanPool")], "bev": [module("GlobalAvgPool")]}[source]
    enc = compile_tree(tree_of(**{source: [residual(*body), *pool]}), SOURCES)
    block = enc.node_modules[(source, "0")]
    assert isinstance(block, ProjectedResidual if projected else Residual)
    if skip_type is not None:
        assert isinstance(block.skip, skip_type)  # type: ignore[union-attr]
    x = torch.randn(2, *SOURCES[source].shape())
    assert torch.allclose(block(x), (block.skip(x) if projected else x) + block.body(x))  # type: ignore[operator]


def test_repeat_builds_independent_copies() -> None:
    one = compile_tree(tree_of(ego=[module("MLPBlock", width=8)]), SOURCES)
    three = compile_tree(tree_of(ego=[repeat(3, module("MLPBlock", width=8))]), SOURCES)
    layer = parameter_count(one.branches["ego"])  # 8 -> 8
    assert parameter_count(three.branches["ego"]) == 3 * layer
    weights = [m.net[0].weight for m in three.branches["ego"]]  # type: ignore[union-attr, index]
    assert len({id(w) for w in weights}) == 3 and not torch.equal(weights[0], weights[1])
    # a width change in the first copy feeds the second copy the new width
    grow = compile_tree(tree_of(ego=[repeat(2, module("MLPBlock", width=4))]), {"ego": Vector(6)})
    assert grow.signals[("ego", "0")] == (Vector(6), Vector(4))


def test_foreign_torch_modules_compile_and_run(torch_catalog: Catalog) -> None:
    tree = tree_of(
        ego=[module("nn.Linear", out_features=32), module("nn.GELU")],
        history=[module("nn.GRU", hidden_size=16), module("LastStep")],
        ins=[module("nn.Embedding", embedding_dim=8), module("MeanPool")],
        bev=[module("nn.Conv2d", out_channels=4, kernel_size=3), module("nn.ReLU"), module("GlobalAvgPool")],
        seq2=[module("nn.Conv1d", out_channels=6, kernel_size=3), module("nn.LayerNorm"), module("MeanPool")],
    )
    enc = compile_tree(tree, {**SOURCES, "seq2": Sequence(9, 5)}, torch_catalog)
    assert enc.signals[("seq2", "0")] == (Sequence(9, 5), Sequence(7, 6))  # (B, d, T) inside
    assert enc.signals[("history", "0")][1] == Sequence(10, 16)
    assert isinstance(enc.node_modules[("seq2", "0")], ChannelsFirst)
    assert isinstance(enc.node_modules[("history", "0")], Pick)
    batch = {k: torch.randn(3, *s.shape()) for k, s in SOURCES.items() if k != "ins"}
    batch["ins"] = torch.randint(0, 20, (3, 5))
    batch["seq2"] = torch.randn(3, 9, 5)
    assert enc(batch).shape == (3, 16)


def test_branches_are_ordered_by_source_name() -> None:
    a = tree_of(ego=[module("MLPBlock", width=8)], bev=[module("GlobalAvgPool")])
    b = encoder(list(reversed(a.branches)), a.fusion)
    ea, eb = compile_tree(a, SOURCES), compile_tree(b, SOURCES)
    assert list(ea.branches) == list(eb.branches) == ["bev", "ego"]
    assert parameter_count(ea) == parameter_count(eb)
    film = tree_of(fusion("FiLMFusion", condition_source="ego", width=8),
                   ego=[module("MLPBlock", width=8)], bev=[module("GlobalAvgPool")])
    enc = compile_tree(film, SOURCES)
    assert enc.fusion.cond == 1  # type: ignore[union-attr]  # "ego" is second in branch order


def test_head_runs_on_the_fused_vector() -> None:
    enc = compile_tree(tree_of(head=chain(module("MLPBlock", width=5)), ego=[module("MLPBlock")]), SOURCES)
    assert enc.features_dim == 5 and enc.signals[("head",)] == (Vector(16), Vector(5))


def test_infer_signals_covers_every_path_and_matches_compile() -> None:
    tree = tree_of(ego=[residual(module("MLPBlock", width=8)), repeat(2, module("MLPBlock", width=4))],
                   history=[module("GRUEncoder", hidden=6), module("AttentionPool")])
    signals = infer_signals(tree, SOURCES)
    assert signals[("ego", "0", "0")] == (Vector(8), Vector(8))
    assert signals[("ego", "1")] == (Vector(8), Vector(4))
    assert signals[("history",)] == (Sequence(10, 4), Vector(6))
    assert signals[("fusion",)] == (Vector(10), Vector(16))
    assert signals == compile_tree(tree, SOURCES).signals


def test_module_signal_is_cached() -> None:
    node = module("AttentionBlock", heads=2, dim=4)
    assert module_signal(node, Sequence(7, 3)) == Sequence(7, 8)
    with pytest.raises(ShapeError, match="here/0: AttentionBlock expects sequence"):
        module_signal(node, Vector(3), where="here/0")
    with pytest.raises(ShapeError, match="there: AttentionBlock"):  # cached error, new path
        module_signal(node, Vector(3), where="there")


def test_a_probe_runs_on_one_thread_and_gives_the_callers_threads_back() -> None:
    """Shape probes run on one intra-op thread without gradients; the caller's thread count comes
    back afterwards, also when the probe fails (a module that cannot take its input)."""
    from evo_lacer.compile._build import probing

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen: list[tuple[int, bool]] = []
        with probing():
            seen.append((torch.get_num_threads(), torch.is_grad_enabled()))
        assert seen == [(1, False)] and torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), probing():
            nn.Linear(3, 4)(torch.zeros(2, 5))
        assert torch.get_num_threads() == 2 and torch.is_grad_enabled()
        node = module("AttentionBlock", heads=2, dim=4)
        assert module_signal(node, Sequence(5, 6)) == Sequence(5, 8)  # probed, not cached before
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_json_round_trip_keeps_parameter_count() -> None:
    tree = load_tree(ROOT / "trees" / "ring_lacer_expert.json")
    again = from_json(to_json(tree))
    assert again == tree
    space = ring_space()
    assert parameter_count(compile_tree(tree, space)) == parameter_count(compile_tree(again, space))


def test_compiled_encoder_pickles_copies_and_changes_dtype() -> None:
    space = ring_space(text=True)
    tree = tree_of(ego=[module("MLPBlock", width=8)],
                   bev=[module("ConvStack", depth=1), module("GlobalMaxPool")],
                   instruction=[module("EmbedMeanPool", dim=4)])
    enc = compile_tree(tree, space)
    batch = sample_batch(space, 2)
    enc.eval()
    for other in (pickle.loads(pickle.dumps(enc)), copy.deepcopy(enc)):
        assert torch.allclose(other(batch), enc(batch))
    assert enc.double()(batch).dtype == torch.float64


def test_check_false_skips_the_dummy_forward() -> None:
    enc = compile_tree(tree_of(ego=[module("MLPBlock", width=8)]), SOURCES, check=False)
    assert enc.features_dim == 16
    with pytest.raises(CompileError, match="tree Node"):
        compile_tree({"kind": "encoder"}, SOURCES)  # type: ignore[arg-type]


def test_cache_tells_equal_values_of_different_types_apart() -> None:
    assert module_signal(module("MLPBlock", width=4), Vector(3)) == Vector(4)
    with pytest.raises(CompileError, match="float"):
        module_signal(module("MLPBlock", width=4.0), Vector(3))


def test_weights_depend_only_on_the_seed_not_on_the_probe_cache() -> None:
    from evo_lacer.compile._infer import _CACHES

    tree = tree_of(ego=[module("MLPBlock", width=8)], history=[module("GRUEncoder"), module("LastStep")])
    _CACHES.clear()
    torch.manual_seed(7)
    cold = compile_tree(tree, SOURCES)
    after_cold = torch.rand(1)
    torch.manual_seed(7)
    warm = compile_tree(tree, SOURCES)
    assert torch.equal(torch.rand(1), after_cold)
    for a, b in zip(cold.state_dict().values(), warm.state_dict().values()):
        assert torch.equal(a, b)


def test_missing_source_in_the_observation_is_named() -> None:
    enc = compile_tree(tree_of(ego=[module("MLPBlock", width=8)]), SOURCES)
    with pytest.raises(CompileError, match=r"lacks sources \['ego'\]"):
        enc({"bev": torch.zeros(1, 3, 16, 16)})
