"""Nested sources named by path, string spaces as word ids, categorical grids, and the reasons
printed for each inferred kind."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.vec_env import VecTransposeImage

from evo_lacer.compile import describe_sources, infer_sources, make_input, sb3_sources, source_leaves
from evo_lacer.compile._words import WORD_BUCKETS, WORD_LENGTH, WordTokenizer
from evo_lacer.errors import CompileError
from evo_lacer.signals import Image, Tokens, Vector

CPU, F32 = torch.device("cpu"), torch.float32


class Words(spaces.Space[str]):
    """A string space that is not gymnasium's Text (like MiniGrid's MissionSpace)."""

    def __init__(self) -> None:
        super().__init__(dtype=str)

    def sample(self, mask: object = None, probability: object = None) -> str:
        return ["go to the red ball", "open the door"][int(self.np_random.integers(2))]

    def contains(self, x: object) -> bool:
        return isinstance(x, str)


def test_tuple_and_nested_dict_leaves_are_named_by_path() -> None:
    space = spaces.Dict({"obs": spaces.Dict({"pos": spaces.Box(-1, 1, (2,)), "grid": spaces.Discrete(3)}),
                         "pair": spaces.Tuple([spaces.Discrete(4), spaces.Box(-1, 1, (3,))])})
    names = [name for name, _, _ in source_leaves(space)]
    assert sorted(names) == ["obs:grid", "obs:pos", "pair:0", "pair:1"]
    paths = {name: path for name, path, _ in source_leaves(space)}
    assert paths["pair:1"] == ("pair", 1) and paths["obs:pos"] == ("obs", "pos")
    got = infer_sources(space, kinds={"obs:grid": "vector"})
    assert got["obs:pos"].signal == Vector(2) and got["obs:grid"].signal == Vector(3)
    assert got["pair:0"].signal == Tokens(1, 4)
    assert list(infer_sources(spaces.Tuple([spaces.Discrete(2), spaces.Discrete(5)]))) == ["0", "1"]
    with pytest.raises(CompileError, match=r"not observation sources; sources: \['obs:grid'"):
        infer_sources(space, kinds={"obs/grid": "vector"})


def test_string_spaces_become_word_ids_with_a_fixed_length() -> None:
    spec = infer_sources(spaces.Dict({"mission": Words()}))["mission"]
    assert spec.rule == "words" and spec.charset == ("ball", "door", "go", "open", "red", "the", "to")
    assert spec.signal == Tokens(WORD_LENGTH, len(spec.charset) + 1 + WORD_BUCKETS)
    convert = make_input(spec)
    ids = convert(["Go to the red ball!", "open the door"], CPU, F32)
    assert ids.shape == (2, WORD_LENGTH) and ids.dtype == torch.long
    assert ids[0, :5].tolist() == [3, 7, 6, 5, 1] and ids[0, 5:].eq(0).all()
    unknown = convert("fetch the purple key", CPU, F32)[0]
    assert (unknown[[0, 2, 3]] > len(spec.charset)).all() and int(unknown[1]) == 6  # hashed, known
    assert int(unknown.max()) < spec.signal.vocab
    assert torch.equal(convert(ids, CPU, F32), ids)  # ids (from SourcesWrapper) pass through


def test_word_hashing_is_stable_and_cut_at_the_length() -> None:
    tok = WordTokenizer(("a",), length=4, buckets=8)
    assert tok.encode("zebra") == [2 + zlib.crc32(b"zebra") % 8, 0, 0, 0]  # after pad and known ids
    assert tok.encode("a a a a a a") == [1, 1, 1, 1]


def test_categorical_grid_is_one_hot_per_channel() -> None:
    space = spaces.Box(1, 4, (5, 4, 3), np.int64)  # channels last
    spec = infer_sources(spaces.Dict({"g": space}))["g"]
    assert spec.rule == "grid" and spec.hwc and spec.signal == Image(3 * 4, 5, 4)
    raw = np.random.default_rng(1).integers(1, 5, (2, 5, 4, 3))
    out = make_input(spec)(raw, CPU, F32)
    assert out.shape == (2, 12, 5, 4) and set(out.unique().tolist()) == {0.0, 1.0}
    for c in range(3):
        assert torch.equal(out[:, 4 * c:4 * c + 4].argmax(1), torch.as_tensor(raw[..., c] - 1))
    assert out.sum(1).eq(3).all()  # one id per channel per cell


def test_forced_grid_reads_sb3_scaled_pixels_back_as_ids() -> None:
    space = spaces.Dict({"image": spaces.Box(0, 255, (7, 7, 3), np.uint8)})
    raw = np.random.default_rng(0).integers(0, 11, (2, 7, 7, 3)).astype(np.uint8)
    direct = make_input(infer_sources(space, {"image": "grid"})["image"])(raw, CPU, F32)
    seen_space = spaces.Dict({"image": VecTransposeImage.transpose_space(space["image"])})
    spec = sb3_sources(seen_space, {"image": "grid"})["image"]
    pre = preprocess_obs({"image": torch.as_tensor(raw).permute(0, 3, 1, 2)}, seen_space)
    assert torch.equal(make_input(spec)(pre["image"], CPU, F32), direct)
    assert direct.shape == (2, 3 * 16, 7, 7)


def test_every_inference_says_why() -> None:
    lines = describe_sources(spaces.Dict({
        "hot": spaces.Box(0, 1, (5,), np.int8), "ids": spaces.Box(0, 9, (4,), np.int64),
        "gray": spaces.Box(0, 255, (8, 8), np.uint8), "glyphs": spaces.Box(0, 5975, (4, 6), np.int16),
        "table": spaces.Box(-1, 1, (5, 4), np.float32), "mission": Words()}))
    text = "\n".join(lines)
    for needle in ("hot: Vector(5)", "one-hot", "ids: Tokens(4, vocab=10)", "gray: Image(1, 8, 8)",
                   "uint8 pixels", "glyphs: Image(16, 4, 6)", "grid of integer ids", "table: Sequence(5, 4)",
                   "--kinds", "mission: Tokens(32"):
        assert needle in text, needle
