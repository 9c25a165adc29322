"""SourcesWrapper: nested observations as path-named sources, strings as token ids, forced kinds
as a change of space that every later reader (search, gate, SB3) infers the same way."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from evo_lacer.compile import infer_sources
from evo_lacer.envs import SourcesWrapper, needs_sources_wrapper
from evo_lacer.errors import CompileError
from evo_lacer.signals import Image, Sequence, Tokens, Vector


class Nested(gym.Env[Any, int]):
    observation_space = spaces.Dict({
        "obs": spaces.Dict({"pos": spaces.Box(-1, 1, (2,), np.float32),
                            "say": spaces.Text(6, charset="abc ")}),
        "pair": spaces.Tuple([spaces.Discrete(3, start=1), spaces.Box(0, 255, (4, 5), np.uint8)]),
        "table": spaces.Box(-1, 1, (3, 2), np.float32),
    })
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action: int) -> Any:
        return self.observation_space.sample(), 0.0, False, True, {}


def test_nested_sources_and_strings_become_a_flat_dict_of_arrays() -> None:
    raw = Nested()
    assert needs_sources_wrapper(raw.observation_space)
    assert not needs_sources_wrapper(spaces.Dict({"a": spaces.Discrete(2)}))
    env = SourcesWrapper(raw)
    space = env.observation_space
    assert sorted(space.spaces) == ["obs:pos", "obs:say", "pair:0", "pair:1", "table"]
    assert space["obs:say"] == spaces.Box(0, 4, (6,), np.int64)
    raw.observation_space.seed(3)
    obs, _ = env.reset(seed=0)
    assert space.contains(obs)
    sample = raw.observation_space.sample()
    got = env.observation(sample)
    assert np.array_equal(got["pair:1"], sample["pair"][1]) and got["pair:0"] == sample["pair"][0]
    charset = " abc"
    want = [charset.index(c) + 1 for c in sample["obs"]["say"]]
    assert got["obs:say"].tolist() == want + [0] * (6 - len(want))
    kinds = {k: s.signal for k, s in infer_sources(space).items()}
    assert kinds["obs:say"] == Tokens(6, 5) and kinds["pair:1"] == Image(1, 4, 5)


def test_forced_kinds_change_the_space_so_every_reader_agrees() -> None:
    env = SourcesWrapper(Nested(), kinds={"table": "vector", "obs:pos": "sequence", "pair:0": "vector",
                                          "pair:1": "grid"})
    signals = {k: s.signal for k, s in infer_sources(env.observation_space).items()}
    assert signals["table"] == Vector(6) and signals["obs:pos"] == Sequence(2, 1)
    assert signals["pair:0"] == Vector(3)  # one-hot of Discrete(3, start=1)
    assert infer_sources(env.observation_space)["pair:1"].rule == "grid"
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    assert obs["pair:0"].sum() == 1.0 and obs["table"].shape == (6,) and obs["obs:pos"].shape == (2, 1)


def test_a_kind_the_space_cannot_take_names_the_source() -> None:
    with pytest.raises(CompileError, match="'obs:say'"):
        SourcesWrapper(Nested(), kinds={"obs:say": "vector"})
    with pytest.raises(CompileError, match=r"not observation sources; sources: \["):
        SourcesWrapper(Nested(), kinds={"obs/pos": "vector"})
