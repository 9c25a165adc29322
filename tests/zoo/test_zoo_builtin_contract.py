"""Contract over the whole built-in zoo: every usable module builds with the first and the last
value of each search domain and maps a dummy batch of each kind it accepts to the kind it emits."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import torch

from evo_lacer.signals import Image, Sequence, Signal, Tokens, Vector, dummy, signal_of
from evo_lacer.zoo import SOURCES_MARKER, ModuleSpec, builtin_catalog

SIGNALS: dict[str, Signal] = {
    "vector": Vector(5),
    "sequence": Sequence(6, 5),
    "image": Image(3, 36, 40),
    "tokens": Tokens(7, 11),
}
IN_DIMS = (5, 3, 4)
SOURCES = ("ego", "history", "text")
BATCH = 3
USABLE = builtin_catalog().usable()


def _bound(signal: Signal | None) -> dict[str, Any]:
    if signal is None:
        return {"in_dims": IN_DIMS, "sources": SOURCES}
    if isinstance(signal, Vector):
        return {"in_dim": signal.d}
    if isinstance(signal, Sequence):
        return {"in_dim": signal.d, "in_channels": signal.d, "seq_len": signal.t}
    if isinstance(signal, Image):
        return {"in_channels": signal.c, "in_height": signal.h, "in_width": signal.w}
    return {"vocab_size": signal.vocab, "seq_len": signal.length}


def _kwargs(spec: ModuleSpec, signal: Signal | None, pick: int) -> dict[str, Any]:
    bound = _bound(signal)
    out: dict[str, Any] = {}
    for p in spec.params:
        if p.binding is not None:
            out[p.name] = bound[p.binding]
        elif p.domain == SOURCES_MARKER:
            out[p.name] = SOURCES[pick]
        elif isinstance(p.domain, tuple):
            out[p.name] = p.domain[pick]
    return out


def _check(out: torch.Tensor, kind: str, where: str) -> None:
    assert isinstance(out, torch.Tensor), where
    assert out.shape[0] == BATCH and out.is_floating_point() and bool(torch.isfinite(out).all()), where
    assert signal_of(out, where).kind == kind, f"{where}: got {tuple(out.shape)}"


@pytest.mark.parametrize("pick", [0, -1], ids=["first", "last"])
@pytest.mark.parametrize("spec", USABLE, ids=[s.name for s in USABLE])
def test_module_contract(spec: ModuleSpec, pick: int) -> None:
    torch.manual_seed(0)
    cls = builtin_catalog().resolve(spec.key)
    if spec.role == "fusion":
        module = cls(**_kwargs(spec, None, pick)).eval()
        out = module([torch.randn(BATCH, d) for d in IN_DIMS])
        _check(out, "vector", spec.name)
        return
    assert spec.accepts, spec.name
    for kind in spec.accepts:
        signal = SIGNALS[kind]
        for binding, minimum in spec.min_input:
            assert _bound(signal)[binding] >= minimum, f"{spec.name}: test signal below min_input"
        module = cls(**_kwargs(spec, signal, pick))
        module.train()
        _check(module(dummy(signal, batch=BATCH)), spec.emits or kind, f"{spec.name}({kind})")


def test_declarations_are_complete() -> None:
    for spec in USABLE:
        assert spec.kinds_source == "declared" and spec.emits is not None, spec.name
        assert spec.docstring and len(spec.docstring.splitlines()) <= 6, spec.name
        for p in spec.params:
            assert p.binding is not None or p.has_default, f"{spec.name}.{p.name} needs a default"
            if isinstance(p.domain, tuple):
                assert p.default in p.domain, f"{spec.name}.{p.name}: default not in its domain"


# The compiler builds modules by these exact names and signatures.
SIGNATURES = {
    "GRUEncoder": "(in_dim, hidden=32, layers=1)",
    "LSTMEncoder": "(in_dim, hidden=32, layers=1)",
    "Conv1dStack": "(in_dim, channels=32, kernel=3, depth=1, activation='relu')",
    "AttentionBlock": "(in_dim, heads=2, dim=16, ratio=2, depth=1)",
    "SequenceMLP": "(in_dim, width=32, activation='relu')",
    "LastStep": "(in_dim)",
    "MeanPool": "(in_dim)",
    "AttentionPool": "(in_dim)",
    "FlattenSequence": "(in_dim, seq_len)",
    "ConvStack": "(in_channels, channels=16, kernel=3, stride=2, depth=2, activation='relu')",
    "ResidualConvBlock": "(in_channels, activation='relu')",
    "GlobalAvgPool": "(in_channels)",
    "GlobalMaxPool": "(in_channels)",
    "NatureCNN": "(in_channels, in_height, in_width, width=256)",
    "SpatialSoftmax": "(in_channels, temperature=1.0)",
    "EmbedGRU": "(vocab_size, dim=16, hidden=32)",
    "EmbedMeanPool": "(vocab_size, dim=16)",
    "TinyTransformer": "(vocab_size, seq_len, dim=16, heads=2, depth=1)",
    "TokenEmbedding": "(vocab_size, seq_len, dim=16)",
    "OneHot": "(vocab_size, seq_len)",
    "DiscreteEmbedding": "(vocab_size, seq_len, dim=8)",
    "ConcatMLP": "(in_dims, width=64, depth=1, activation='relu')",
    "SumFusion": "(in_dims, width=64)",
    "GatedSum": "(in_dims, width=64)",
    "CrossAttentionFusion": "(in_dims, width=64, heads=2)",
    "FiLMFusion": "(in_dims, sources, condition_source='', width=64)",
    "MLPBlock": "(in_dim, width=64, ratio=1, depth=1, activation='relu')",
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature(name: str) -> None:
    spec = builtin_catalog().lookup(name)
    shown = (p.name if not p.has_default else f"{p.name}={p.default!r}" for p in spec.params)
    text = "(" + ", ".join(shown) + ")"
    assert text == SIGNATURES[name]
    sig = inspect.signature(builtin_catalog().resolve(name))
    assert [p for p in sig.parameters] == [p.name for p in spec.params]


def test_attention_block_space_is_lacers() -> None:
    space = {p.name: p.domain for p in builtin_catalog().lookup("AttentionBlock").searchable}
    assert space == {"heads": (2, 4, 8), "dim": (8, 16, 32), "ratio": (1, 2, 4), "depth": (1, 2, 3)}


def test_film_condition_falls_back_to_first_source() -> None:
    cls = builtin_catalog().resolve("FiLMFusion")
    assert cls((4, 6), ("a", "b"), condition_source="b").cond == 1
    assert cls((4, 6), ("a", "b"), condition_source="missing").cond == 0
    single = cls((4,), ("a",), condition_source="a")
    assert single(torch.randn(2, 4)[None].unbind(0)).shape == (2, 64)


def test_text_modules_ignore_padding() -> None:
    torch.manual_seed(0)
    ids = torch.tensor([[3, 5, 0, 0], [0, 0, 0, 0]])
    pool = builtin_catalog().resolve("EmbedMeanPool")(9).eval()
    assert torch.allclose(pool(ids)[0], pool(torch.tensor([[3, 5, 0, 0]]))[0])
    assert torch.allclose(pool(ids)[0], pool(ids[:, :2])[0])
    gru = builtin_catalog().resolve("EmbedGRU")(9).eval()
    assert torch.allclose(gru(ids)[0], gru(ids[:, :2])[0], atol=1e-6)
    tiny = builtin_catalog().resolve("TinyTransformer")(9, 4).eval()
    assert bool(torch.isfinite(tiny(ids)).all())
    with torch.no_grad():
        assert torch.allclose(tiny(ids)[0], tiny(torch.tensor([[3, 5, 0, 0]]))[0], atol=1e-5)


def test_nature_cnn_rejects_small_images() -> None:
    with pytest.raises(ValueError, match="36x36"):
        builtin_catalog().resolve("NatureCNN")(3, 32, 40)
    assert dict(builtin_catalog().lookup("NatureCNN").min_input) == {"in_height": 36, "in_width": 36}
