"""One observation without its batch dimension is refused naming the source and both shapes."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from gymnasium import spaces

from evo_lacer.compile import compile_tree
from evo_lacer.errors import CompileError
from evo_lacer.tree import branch, encoder, fusion, module

SPACE = spaces.Dict({"v": spaces.Box(-1, 1, (8,)), "s": spaces.Box(-1, 1, (16, 2)), "d": spaces.Discrete(3)})
TREE = encoder([branch("v", module("MLPBlock", width=8)),
                branch("s", module("GRUEncoder"), module("LastStep")),
                branch("d", module("EmbedMeanPool", dim=4))], fusion("ConcatMLP", width=8))


def test_an_unbatched_dict_observation_says_to_add_a_batch_dimension() -> None:
    enc = compile_tree(TREE, SPACE)
    obs = SPACE.sample()
    with pytest.raises(CompileError, match=r"one observation; .* add a batch dimension \(obs\[None\]"):
        enc(obs)
    with pytest.raises(CompileError, match=re.escape(
            "observation source 'v': got shape (8,), one observation; the encoder takes a batch of shape "
            "(B, 8): add a batch dimension (obs[None]")):
        enc({"v": obs["v"], "s": obs["s"][None], "d": np.asarray([obs["d"]])})
    with torch.no_grad():  # the fix it names works
        assert enc({k: np.asarray(v)[None] for k, v in obs.items()}).shape == (1, enc.features_dim)


@pytest.mark.parametrize(("space", "tree", "one", "needle"), [
    (spaces.Box(-1, 1, (4,)), encoder([branch("obs", module("MLPBlock", width=8))], fusion("ConcatMLP")),
     np.zeros(4, np.float32), "source 'obs': got shape (4,), one observation; the encoder takes a batch "
     "of shape (B, 4)"),
    (spaces.Discrete(3), encoder([branch("obs", module("EmbedMeanPool", dim=4))], fusion("ConcatMLP")),
     2, "source 'obs': got shape (), one observation; the encoder takes a batch of shape (B)"),
])
def test_an_unbatched_single_source_is_named(space: spaces.Space, tree: object, one: object,
                                             needle: str) -> None:
    enc = compile_tree(tree, space)  # type: ignore[arg-type]
    with pytest.raises(CompileError, match=re.escape(needle)):
        enc(one)
    assert enc(np.asarray(one)[None]).shape == (1, enc.features_dim)
