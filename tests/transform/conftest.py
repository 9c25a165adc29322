"""Fixtures for the transformation tests: a four-source observation space (vector, time
series, HWC uint8 image, token ids), the built-in catalog and two seed trees."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from gymnasium import spaces

from evo_lacer.compile import infer_sources
from evo_lacer.signals import Signal
from evo_lacer.transform import Gate, TransformContext
from evo_lacer.tree import Node, branch, chain, encoder, fusion, module, repeat, residual
from evo_lacer.zoo import Catalog, builtin_catalog


def make_space() -> spaces.Dict:
    return spaces.Dict({
        "sensors": spaces.Box(-1.0, 1.0, (6,), np.float32),
        "history": spaces.Box(-1.0, 1.0, (10, 4), np.float32),
        "camera": spaces.Box(0, 255, (16, 16, 3), np.uint8),
        "text": spaces.Box(0, 29, (12,), np.int64),
    })


def simple_tree() -> Node:
    """One short chain per source, each ending in a vector."""
    return encoder([
        branch("sensors", module("MLPBlock", width=32)),
        branch("history", module("GRUEncoder", hidden=16), module("LastStep")),
        branch("camera", module("ConvStack", depth=1), module("GlobalAvgPool")),
        branch("text", module("EmbedMeanPool")),
    ], fusion("ConcatMLP"))


def nested_tree() -> Node:
    """Residual and repeat blocks, a head, and longer chains."""
    return encoder([
        branch("sensors", module("MLPBlock", width=32),
               residual(module("MLPBlock", width=32), module("LayerNormBlock")), module("Activation")),
        branch("history", module("Conv1dStack", channels=16),
               repeat(2, module("SequenceMLP", width=16)), module("MeanPool")),
        branch("camera", module("ConvStack", depth=1, stride=2), module("ResidualConvBlock"),
               module("GlobalMaxPool")),
        branch("text", module("TokenEmbedding", dim=16), module("GRUEncoder", hidden=16), module("LastStep")),
    ], fusion("SumFusion", width=32), chain(module("MLPBlock", width=32)))


SEEDS = {"simple": simple_tree, "nested": nested_tree}


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny forward passes on a shared machine: one thread avoids thread-contention stalls."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def space() -> spaces.Dict:
    return make_space()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return builtin_catalog()


@pytest.fixture(scope="session")
def inputs(space: spaces.Dict) -> dict[str, Signal]:
    return {k: s.signal for k, s in infer_sources(space).items()}


@pytest.fixture(scope="session")
def ctx(catalog: Catalog, inputs: dict[str, Signal]) -> TransformContext:
    return TransformContext(catalog, inputs, donors=(simple_tree(), nested_tree()))


@pytest.fixture(scope="session")
def gate(space: spaces.Dict, catalog: Catalog) -> Gate:
    return Gate(space, catalog, latency_runs=1)


@pytest.fixture(params=sorted(SEEDS))
def seed(request: pytest.FixtureRequest) -> Node:
    return SEEDS[request.param]()
