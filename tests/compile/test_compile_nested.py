"""A Tuple or nested Dict space: the encoder takes the observation nested as the space samples it
(each leaf batched) or flat, keyed by path names (what `SourcesWrapper` gives)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from evo_lacer.compile import compile_tree
from evo_lacer.errors import CompileError
from evo_lacer.transform import dummy_batch
from evo_lacer.tree import branch, encoder, fusion, module

NESTED = spaces.Dict({"a": spaces.Dict({"b": spaces.Box(-1, 1, (3,))}), "c": spaces.MultiDiscrete([3, 4])})
TUPLE = spaces.Tuple((spaces.Box(-1, 1, (4,)), spaces.Discrete(3)))


def tree_for(vector: str, ids: str):  # type: ignore[no-untyped-def]
    return encoder([branch(vector, module("MLPBlock", width=8)), branch(ids, module("EmbedMeanPool", dim=4))],
                   fusion("ConcatMLP", width=8))


@pytest.mark.parametrize(("space", "names", "flat"), [
    (NESTED, ("a:b", "c"), lambda b: {"a:b": b["a"]["b"], "c": b["c"]}),
    (TUPLE, ("0", "1"), lambda b: {"0": b[0], "1": b[1]}),
])
def test_nested_and_flat_observations_give_the_same_features(space, names, flat) -> None:  # type: ignore[no-untyped-def]
    enc = compile_tree(tree_for(*names), space).eval()
    batch = dummy_batch(space, 5)
    with torch.no_grad():
        nested, by_name = enc(batch), enc(flat(batch))
    assert nested.shape == (5, enc.features_dim)
    assert torch.equal(nested, by_name)


def test_dummy_batch_keeps_the_nesting_with_a_batch_dimension_per_leaf() -> None:
    batch = dummy_batch(NESTED, 4)
    assert batch["a"]["b"].shape == (4, 3) and batch["c"].shape == (4, 2)
    first, second = dummy_batch(TUPLE, 4)
    assert first.shape == (4, 4) and np.asarray(second).shape == (4,)


def test_a_nested_observation_missing_a_leaf_names_the_source() -> None:
    enc = compile_tree(tree_for("a:b", "c"), NESTED)
    with pytest.raises(CompileError, match=r"source 'a:b': the observation\['a'\] has no 'b'"):
        enc({"a": {}, "c": np.zeros((2, 2), np.int64)})
