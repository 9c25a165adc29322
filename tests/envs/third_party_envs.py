"""Tiny envs of the kinds users bring, importable as ``third_party_envs:ID`` (gymnasium imports
this module, which registers them): a Text instruction, a Dict of Boxes, and one that cannot
train (its observations do not fit its space)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

TEXT_ID, DICT_ID, BROKEN_ID = "TextTask-v0", "DictBoxTask-v0", "BrokenObs-v0"


class TextTaskEnv(gym.Env[dict[str, Any], int]):
    """The instruction (a ``Text`` space) says "left" or "right"; reward 1 for the action it
    names. ``pos`` is a distractor. ``length`` steps per episode."""

    def __init__(self, length: int = 40) -> None:
        self.observation_space = spaces.Dict({"say": spaces.Text(5, charset="efghilrt"),
                                              "pos": spaces.Box(-1, 1, (2,), np.float32)})
        self.action_space = spaces.Discrete(2)
        self.length, self._t, self._side = length, 0, 0

    def _obs(self) -> dict[str, Any]:
        pos = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return {"say": ("left", "right")[self._side], "pos": pos}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self._t, self._side = 0, int(self.np_random.integers(2))
        return self._obs(), {}

    def step(self, action: int) -> Any:
        reward = float(int(action) == self._side)
        self._t += 1
        self._side = int(self.np_random.integers(2))
        return self._obs(), reward, False, self._t >= self.length, {"hit": reward}


class DictBoxEnv(gym.Env[dict[str, Any], int]):
    """Move a point toward a goal (a Dict of Box sources: position, goal, a 4-step trail)."""

    def __init__(self) -> None:
        box = spaces.Box(-1, 1, (2,), np.float32)
        self.observation_space = spaces.Dict({"pos": box, "goal": box,
                                              "trail": spaces.Box(-1, 1, (4, 2), np.float32)})
        self.action_space = spaces.Discrete(4)
        self._pos = self._goal = np.zeros(2, np.float32)
        self._trail = np.zeros((4, 2), np.float32)
        self._t = 0

    def _obs(self) -> dict[str, Any]:
        return {"pos": self._pos.copy(), "goal": self._goal.copy(), "trail": self._trail.copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self._pos, self._goal = (self.np_random.uniform(-1, 1, 2).astype(np.float32) for _ in range(2))
        self._trail, self._t = np.repeat(self._pos[None], 4, axis=0), 0
        return self._obs(), {}

    def step(self, action: int) -> Any:
        move = np.array([[0.1, 0], [-0.1, 0], [0, 0.1], [0, -0.1]], np.float32)[int(action)]
        self._pos = np.clip(self._pos + move, -1, 1)
        self._trail = np.concatenate([self._trail[1:], self._pos[None]])
        self._t += 1
        return self._obs(), -float(np.linalg.norm(self._pos - self._goal)), False, self._t >= 30, {}


class BrokenObsEnv(gym.Env[np.ndarray, int]):
    """Declares 3 observation values and returns 4: no agent can train on it."""

    observation_space = spaces.Box(-1, 1, (3,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        return np.zeros(4, np.float32), {}

    def step(self, action: int) -> Any:
        return np.zeros(4, np.float32), 0.0, False, True, {}


for _id, _cls in ((TEXT_ID, TextTaskEnv), (DICT_ID, DictBoxEnv), (BROKEN_ID, BrokenObsEnv)):
    if _id not in gym.registry:
        gym.register(id=_id, entry_point=_cls)
