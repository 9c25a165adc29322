"""Small envs and trees shared by the evaluator tests."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from evo_lacer.tree import Node, branch, encoder, fusion, module

TOY_ID = "evo_lacer_tests/ToyDict-v0"


class ToyDictEnv(gym.Env[dict[str, Any], int]):
    """Press the button named by ``code`` (a Discrete source); ``pos`` and ``hist`` are
    distractors. Reward 1 per correct press; 20 steps; probe target: the code."""

    def __init__(self) -> None:
        self.observation_space = spaces.Dict({
            "pos": spaces.Box(-1.0, 1.0, (2,), np.float32),
            "hist": spaces.Box(-1.0, 1.0, (4, 2), np.float32),
            "code": spaces.Discrete(3),
        })
        self.action_space = spaces.Discrete(3)
        self._code, self._t = 0, 0

    def _obs(self) -> dict[str, Any]:
        return {"pos": self.np_random.uniform(-1, 1, 2).astype(np.float32),
                "hist": self.np_random.uniform(-1, 1, (4, 2)).astype(np.float32),
                "code": self._code}

    def _info(self) -> dict[str, Any]:
        return {"hits": 0.0, "probe_targets": {"code": float(self._code)}}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self._code, self._t = int(self.np_random.integers(3)), 0
        return self._obs(), self._info()

    def step(self, action: int) -> Any:
        hit = float(int(action) == self._code)
        self._t += 1
        self._code = int(self.np_random.integers(3))
        info = self._info()
        info["hits"] = hit
        return self._obs(), hit, False, self._t >= 20, info


def toy_expert(obs: dict[str, Any]) -> int:
    return int(obs["code"])


def register_toy() -> str:
    if TOY_ID not in gym.registry:
        gym.register(id=TOY_ID, entry_point=ToyDictEnv)
    return TOY_ID


def toy_tree(with_code: bool = True) -> Node:
    branches = [branch("pos", module("MLPBlock", width=8))]
    if with_code:
        branches.append(branch("code", module("DiscreteEmbedding", dim=4)))
    return encoder(branches, fusion("ConcatMLP", width=16))


def ring_tree() -> Node:
    """A small tree over all four ring sources."""
    return encoder([
        branch("ego", module("MLPBlock", width=16)),
        branch("history", module("Conv1dStack", channels=8), module("MeanPool")),
        branch("bev", module("ConvStack", channels=8, depth=2), module("GlobalAvgPool")),
        branch("instruction", module("EmbedMeanPool", dim=8)),
    ], fusion("ConcatMLP", width=32))


def cartpole_tree() -> Node:
    return encoder([branch("obs", module("MLPBlock", width=16))], fusion("ConcatMLP", width=16))
