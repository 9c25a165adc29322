"""Observation spaces -> sources (signals and input rules) and the input converters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from evo_lacer.compile import SINGLE_SOURCE, TextInput, as_sources, infer_sources, make_input
from evo_lacer.errors import CompileError
from evo_lacer.signals import Image, Sequence, Tokens, Vector

CPU, F32 = torch.device("cpu"), torch.float32


def one(space: spaces.Space, kind: str | None = None, **kw: bool):  # type: ignore[no-untyped-def]
    return infer_sources(spaces.Dict({"x": space}), {"x": kind} if kind else None, **kw)["x"]


@pytest.mark.parametrize(("space", "signal"), [
    (spaces.Box(-1, 1, (5,), np.float32), Vector(5)),
    (spaces.Box(-1, 1, (), np.float32), Vector(1)),
    (spaces.Box(-1, 1, (7, 4), np.float32), Sequence(7, 4)),
    (spaces.Box(0, 255, (40, 30, 3), np.uint8), Image(3, 40, 30)),
    (spaces.Box(0, 1, (4, 84, 84), np.float32), Image(4, 84, 84)),
    (spaces.Box(0, 1, (84, 84, 4), np.float32), Image(4, 84, 84)),
    (spaces.Box(0, 9, (6,), np.int64), Tokens(6, 10)),
    (spaces.Box(0, 1, (6,), np.int64), Vector(6)),  # one-hot / binary integers stay a vector
    (spaces.Box(0, 255, (10, 12), np.uint8), Image(1, 10, 12)),  # grey pixels
    (spaces.Box(0, 5, (9, 11), np.int64), Image(6, 9, 11)),  # categorical grid: one-hot channels
    (spaces.Box(0, 10, (7, 7, 3), np.int64), Image(3 * 11, 7, 7)),
    (spaces.Box(0, 5975, (21, 79), np.int16), Image(16, 21, 79)),  # many ids wrap onto 16 channels
    (spaces.Box(-5, 5, (6,), np.int64), Vector(6)),
    (spaces.Discrete(4), Tokens(1, 4)),
    (spaces.MultiDiscrete([3, 7, 2]), Tokens(3, 7)),
    (spaces.MultiBinary(5), Vector(5)),
    (spaces.Text(12, charset="abc"), Tokens(12, 4)),
])
def test_every_space_kind_has_a_signal(space: spaces.Space, signal: object) -> None:
    assert one(space).signal == signal


def test_hwc_uint8_image_is_transposed_and_scaled() -> None:
    spec = one(spaces.Box(0, 255, (8, 6, 3), np.uint8))
    assert (spec.rule, spec.hwc, spec.scale) == ("image", True, pytest.approx(1 / 255))
    raw = np.random.default_rng(0).integers(0, 256, (2, 8, 6, 3), dtype=np.uint8)
    out = make_input(spec)(raw, CPU, F32)
    assert out.shape == (2, 3, 8, 6) and out.dtype == F32 and out.is_contiguous()
    assert torch.allclose(out, torch.as_tensor(raw).permute(0, 3, 1, 2).float() / 255)


def test_already_normalized_images_are_not_scaled() -> None:
    assert one(spaces.Box(0, 255, (8, 6, 3), np.uint8), normalize_images=False).scale is None
    assert one(spaces.Box(0, 1, (8, 6, 3), np.float32)).scale is None


def test_single_space_is_one_source_named_obs() -> None:
    sources = infer_sources(spaces.Box(-1, 1, (4,), np.float32))
    assert list(sources) == [SINGLE_SOURCE] and sources["obs"].signal == Vector(4)


def test_kinds_override_flattens_and_reshapes() -> None:
    hist = spaces.Box(-1, 1, (7, 4), np.float32)
    flat = one(hist, "vector")
    assert flat.signal == Vector(28)
    assert make_input(flat)(np.zeros((3, 7, 4), np.float32), CPU, F32).shape == (3, 28)
    assert one(spaces.Box(-1, 1, (9,), np.float32), "sequence").signal == Sequence(9, 1)
    gray = one(spaces.Box(0, 255, (10, 12), np.uint8), "image")
    assert gray.signal == Image(1, 10, 12)
    assert make_input(gray)(np.zeros((2, 10, 12), np.uint8), CPU, F32).shape == (2, 1, 10, 12)
    assert one(spaces.Box(0, 1, (3, 3, 3), np.float32), "image_hwc").hwc
    assert one(spaces.Discrete(5), "vector").signal == Vector(5)


def test_discrete_conversions() -> None:
    spec = one(spaces.Discrete(5, start=2))
    ids = make_input(spec)(np.array([2, 6, 4]), CPU, F32)
    assert ids.tolist() == [[0], [4], [2]] and ids.dtype == torch.long
    md = one(spaces.MultiDiscrete([3, 4]))
    assert make_input(md)(np.array([[2, 3], [0, 1]]), CPU, F32).tolist() == [[2, 3], [0, 1]]
    onehot = one(spaces.MultiDiscrete([2, 3]), "vector")
    assert make_input(onehot)(np.array([[1, 2]]), CPU, F32).tolist() == [[0, 1, 0, 0, 1]]


def test_text_tokenizer_pads_with_zero_and_accepts_ids() -> None:
    spec = one(spaces.Text(6, charset="ab c"))
    assert spec.charset == (" ", "a", "b", "c")  # sorted: stable across processes
    convert = make_input(spec)
    assert isinstance(convert, TextInput)
    assert convert(["ab", "c a"], CPU, F32).tolist() == [[2, 3, 0, 0, 0, 0], [4, 1, 2, 0, 0, 0]]
    assert convert("abcabcabc", CPU, F32).shape == (1, 6)  # a single string; cut to max_length
    assert convert(np.array(["a"]), CPU, F32).tolist() == [[2, 0, 0, 0, 0, 0]]
    ids = torch.tensor([[1, 2, 3, 0, 0, 0]])
    assert torch.equal(convert(ids, CPU, F32), ids)


@pytest.mark.parametrize(("space", "kinds", "needle"), [
    (spaces.Sequence(spaces.Discrete(2)), None, "'x'"),
    (spaces.Box(0, 1, (2, 3, 4, 5), np.float32), None, "4 dimensions"),
    (spaces.Graph(spaces.Discrete(2), None), None, "not supported"),
    (spaces.Box(-1, 1, (3,), np.float32), {"x": "tokens"}, "token ids"),
    (spaces.Text(5), {"x": "vector"}, "text becomes 'tokens'"),
    (spaces.Box(-1, 1, (3,), np.float32), {"x": "graph"}, "is not a kind"),
    (spaces.Box(-1, 1, (3,), np.float32), {"nope": "vector"}, "not observation sources"),
])
def test_unsupported_spaces_name_the_key_and_the_fix(space: spaces.Space, kinds: dict[str, str] | None,
                                                     needle: str) -> None:
    with pytest.raises(CompileError) as err:
        infer_sources(spaces.Dict({"x": space}), kinds)
    assert needle in str(err.value)
    if kinds is None:
        assert "kinds=" in str(err.value) and "Flatten" in str(err.value)


def test_as_sources_takes_signals_and_spaces() -> None:
    got = as_sources({"a": Vector(3), "b": Tokens(2, 5)})
    assert got["a"].rule == "float" and got["b"].rule == "tokens"
    assert as_sources(Image(3, 8, 8))[SINGLE_SOURCE].signal == Image(3, 8, 8)
    assert as_sources({"d": spaces.Discrete(3)})["d"].signal == Tokens(1, 3)
    with pytest.raises(CompileError, match="neither a Signal"):
        as_sources({"a": 3})
