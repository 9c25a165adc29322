"""CUDA: every built-in zoo module, compiled into an encoder, runs forward and backward on the GPU
on inputs converted there, and gives its CPU output; PPO and behaviour cloning train on the GPU.

Skipped where ``torch.cuda.is_available()`` is false (CI); ``pytest -m cuda`` selects these tests.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from evaluate_helpers import ring_tree
from gymnasium import spaces

from evo_lacer.compile import TreeEncoder, compile_tree, policy_kwargs_for
from evo_lacer.evaluate import ImitationEvaluator, RLEvaluator, Status
from evo_lacer.tree import Node, branch, encoder, fusion, module, repeat, residual
from evo_lacer.zoo import Catalog, ModuleSpec, builtin_catalog, mine

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason="needs a CUDA GPU: torch.cuda.is_available() is false"),
]

CUDA = torch.device("cuda")
BATCH = 5
RTOL, ATOL = 1e-3, 1e-4
"""CPU vs CUDA in float32 with TF32 off: only the order of sums differs."""
RING = "evo_lacer/RingTraffic-v0"
RING_KWARGS = {"backend": "numpy", "horizon": 40}
PHRASES = ("go left", "go to the red ball", "stop", "pick up the key")


class Phrase(spaces.Space[str]):
    """A string space that is not ``Text`` (as MiniGrid's missions): the compiler reads it as words."""

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        return str(self.np_random.choice(PHRASES))

    def contains(self, x: Any) -> bool:
        return isinstance(x, str)


# One source per input rule of the compiler (`evo_lacer.compile._inputs`).
SPACE = spaces.Dict({
    "vec": spaces.Box(-3, 3, (6,), np.float32),  # float
    "series": spaces.Box(-3, 3, (10, 4), np.float32),  # float, a sequence
    "pixels": spaces.Box(0, 255, (40, 40, 3), np.uint8),  # image: HWC -> CHW, / 255
    "gray": spaces.Box(0, 255, (36, 36), np.uint8),  # image: one channel added
    "ids": spaces.Box(0, 19, (6,), np.int64),  # tokens
    "mode": spaces.Discrete(4, start=1),  # discrete, minus its start
    "codes": spaces.MultiDiscrete([3, 5]),  # onehot (forced below)
    "text": spaces.Text(12, charset="abcdefghijklmnopqrstuvwxyz "),  # characters
    "words": Phrase(),  # words
    "grid": spaces.Box(0, 10, (7, 7, 3), np.int64),  # categorical grid
})
KINDS = {"codes": "vector"}
SOURCE_OF_KIND = {"vector": "vec", "sequence": "series", "image": "pixels", "tokens": "ids"}
POOL = {"sequence": "MeanPool", "image": "GlobalAvgPool"}
BLOCKS = [s for s in builtin_catalog().usable() if s.role == "block"]
FUSIONS = [s for s in builtin_catalog().usable() if s.role == "fusion"]


@pytest.fixture(autouse=True)
def full_float32() -> Iterator[None]:
    """No TF32 (cuDNN uses it for float32 convolutions by default), so CPU and CUDA agree closely."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


@pytest.fixture(scope="module")
def torch_catalog() -> Catalog:
    """The built-in zoo plus torch.nn's modules (the adapters for channels-first and tuple outputs)."""
    report = mine([Path(torch.nn.__file__).parent / "modules"])
    return builtin_catalog().merged(report.catalog.specs)


def raw_batch(n: int, seed: int = 0) -> dict[str, Any]:
    """`n` raw observations of `SPACE` stacked per source (strings stay a list)."""
    SPACE.seed(seed)
    rows = [SPACE.sample() for _ in range(n)]
    strings = (spaces.Text, Phrase)
    return {k: [r[k] for r in rows] if isinstance(sub, strings) else np.stack([r[k] for r in rows])
            for k, sub in SPACE.spaces.items()}


def check_on_device(tree: Node, catalog: Catalog | None = None, device: torch.device = CUDA) -> None:
    """Compile `tree` (on the CPU, as the search does), move a copy to `device`, and check the copy:
    inputs converted on the device, output finite there and of the declared width, the CPU output
    within tolerance, and a backward pass that gives every parameter a finite gradient there."""
    torch.manual_seed(0)
    cpu = compile_tree(tree, SPACE, catalog, kinds=KINDS).eval()
    obs = raw_batch(BATCH)
    with torch.no_grad():
        want_inputs = cpu.encode_sources(obs)
        want = cpu(obs)
    dev: TreeEncoder = copy.deepcopy(cpu).to(device)
    with torch.no_grad():
        inputs = dev.encode_sources(obs)
        got = dev(obs)
    for name, x in inputs.items():
        assert x.device.type == device.type, f"{name}: input converted on {x.device}"
        assert x.dtype == want_inputs[name].dtype, f"{name}: {x.dtype} vs CPU {want_inputs[name].dtype}"
        assert torch.allclose(x.cpu(), want_inputs[name]), f"{name}: converted input differs from CPU"
    assert got.device.type == device.type and got.dtype == torch.float32
    assert tuple(got.shape) == (BATCH, dev.features_dim), tuple(got.shape)
    assert bool(torch.isfinite(got).all())
    err = (got.cpu() - want).abs().max().item()
    assert torch.allclose(got.cpu(), want, rtol=RTOL, atol=ATOL), f"max |CUDA - CPU| = {err:.3g}"
    dev.train()
    dev(obs).square().mean().backward()
    for pname, p in dev.named_parameters():
        assert p.grad is not None, f"{pname}: no gradient"
        assert p.grad.device.type == device.type and bool(torch.isfinite(p.grad).all()), pname


def block_tree(spec: ModuleSpec, kind: str) -> Node:
    """`spec` alone on the source of `kind`, pooled to a vector when it emits a sequence/image."""
    body = [module(spec.name)]
    if spec.emits in POOL:
        body.append(module(POOL[spec.emits]))
    return encoder([branch(SOURCE_OF_KIND[kind], *body)], fusion("ConcatMLP", width=16))


def every_source(fuse: Node) -> Node:
    """One branch per source of `SPACE` (every input rule), with residual and repeat composites."""
    return encoder([
        branch("vec", residual(module("MLPBlock", width=8)), repeat(2, module("LinearLayer", width=8))),
        branch("series", module("GRUEncoder", hidden=8), module("LastStep")),
        branch("pixels", module("ConvStack", channels=8), residual(module("ResidualConvBlock")),
               module("SpatialSoftmax")),
        branch("gray", module("NatureCNN", width=16)),
        branch("ids", module("EmbedMeanPool", dim=4)),
        branch("mode", module("DiscreteEmbedding", dim=4)),
        branch("codes", module("MLPBlock", width=8)),
        branch("text", module("EmbedGRU", dim=4, hidden=8)),
        branch("words", module("TinyTransformer", dim=8)),
        branch("grid", module("ConvStack", channels=8, stride=1, depth=1), module("GlobalMaxPool")),
    ], fuse)


@pytest.mark.parametrize(("spec", "kind"), [(s, k) for s in BLOCKS for k in s.accepts],
                         ids=[f"{s.name}-{k}" for s in BLOCKS for k in s.accepts])
def test_every_block_module_on_cuda(spec: ModuleSpec, kind: str) -> None:
    check_on_device(block_tree(spec, kind))


@pytest.mark.parametrize("spec", FUSIONS, ids=[s.name for s in FUSIONS])
def test_every_fusion_over_every_input_rule_on_cuda(spec: ModuleSpec) -> None:
    check_on_device(every_source(fusion(spec.name)))


def test_foreign_torch_modules_on_cuda(torch_catalog: Catalog) -> None:
    tree = encoder([
        branch("vec", module("nn.Linear", out_features=12), module("nn.GELU")),
        branch("series", module("nn.GRU", hidden_size=8), module("LastStep")),  # tuple output: Pick
        branch("ids", module("nn.Embedding", embedding_dim=4), module("MeanPool")),
        branch("pixels", module("nn.Conv2d", out_channels=4, kernel_size=3), module("GlobalAvgPool")),
        # channels-first: ChannelsFirst
        branch("words", module("TokenEmbedding", dim=8), module("nn.Conv1d", out_channels=6, kernel_size=3),
               module("nn.LayerNorm"), module("AttentionPool")),
    ], fusion("GatedSum", width=16))
    check_on_device(tree, torch_catalog)


@pytest.mark.parametrize("instructions", ["tokens", "text"])
def test_ppo_evaluation_on_cuda(instructions: str) -> None:
    ev = RLEvaluator(RING, steps=256, eval_episodes=1, device="cuda",
                     env_kwargs={**RING_KWARGS, "instruction_space": instructions})
    model = ev.train_ppo(policy_kwargs_for(ring_tree()), seed=0, steps=64)
    assert next(model.policy.parameters()).device.type == "cuda"
    assert next(model.policy.pi_features_extractor.encoder.parameters()).device.type == "cuda"
    fb = ev.evaluate(ring_tree(), seed=0)
    assert fb.status is Status.OK, fb.error
    assert fb.fitness is not None and math.isfinite(fb.fitness)
    assert fb.features and all(math.isfinite(v) for v in fb.features.values())
    assert "fused/effective_rank" in fb.features


def test_imitation_evaluation_on_cuda() -> None:
    ev = ImitationEvaluator(RING, env_kwargs=RING_KWARGS, dataset_steps=200, grad_steps=20, batch_size=32,
                            rollout_episodes=1, device="cuda")
    fb = ev.evaluate(ring_tree(), seed=0)
    assert fb.status is Status.OK, fb.error
    assert fb.fitness is not None and math.isfinite(fb.fitness)
    assert math.isfinite(fb.metrics["imitation_loss"])
