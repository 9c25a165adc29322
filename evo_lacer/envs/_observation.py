"""The multi-source observation: ego sensors, their recent history, a bird's-eye image of the
ring and the episode's instruction. Each source carries something the others do not:

- ``ego`` (now): own speed, gap to the leader, last acceleration of each controlled vehicle;
- ``history`` (the previous ``history_length`` control steps of the ego features, *excluding*
  now): the leader's speed follows from the change of the gap, trends from the series;
- ``bev``: the whole ring: the mean traffic speed and the slow wave ahead;
- ``instruction``: the target speed of this episode.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from evo_lacer.envs._config import RingConfig
from evo_lacer.envs._instructions import (
    CHARSET,
    SPEED_TOKENS,
    TEMPLATES,
    VOCAB,
    Instruction,
    text_to_tokens,
)
from evo_lacer.envs._render import RingRenderer
from evo_lacer.envs._traffic import RingTraffic

#: Ego features per controlled vehicle, in order, and the scale each is divided by.
EGO_FEATURES = ("speed", "headway", "accel")
SPEED_SCALE = 10.0
HEADWAY_SCALE = 25.0
#: Bound of the ego and history boxes (features are clipped to it).
FEATURE_BOUND = 3.0


def accel_scale(config: RingConfig) -> float:
    """The acceleration (m/s^2) that maps to 1 in the ego ``accel`` feature."""
    return max(config.max_accel, config.max_decel)


def max_instruction_chars() -> int:
    """Longest instruction text in characters."""
    widest = max((f"{s:.1f}" for s in SPEED_TOKENS), key=len)
    return max(len(t.format(v=widest)) for t in TEMPLATES)


def observation_space(config: RingConfig) -> spaces.Dict:
    """The ``Dict`` space of ``RingTrafficEnv`` for ``config``."""
    width = len(EGO_FEATURES) * config.n_controlled
    bound = FEATURE_BOUND
    instruction: spaces.Space[Any]
    if config.instruction_space == "tokens":
        instruction = spaces.Box(0, len(VOCAB) - 1, (config.instruction_length,), np.int64)
    else:
        instruction = spaces.Text(max_instruction_chars(), charset=CHARSET)
    return spaces.Dict({
        "ego": spaces.Box(-bound, bound, (width,), np.float32),
        "history": spaces.Box(-bound, bound, (config.history_length, width), np.float32),
        "bev": spaces.Box(0, 255, (config.image_size, config.image_size, 3), np.uint8),
        "instruction": instruction,
    })


class ObservationBuilder:
    """Keeps the history buffer and assembles observations from the traffic state."""

    def __init__(self, config: RingConfig, controlled: NDArray[np.integer]) -> None:
        self.config = config
        self._controlled = controlled
        self._scale = np.tile(
            [1 / SPEED_SCALE, 1 / HEADWAY_SCALE, 1 / accel_scale(config)], len(controlled)
        )
        self._renderer = RingRenderer(config.image_size, controlled)
        self._history = np.zeros((config.history_length, self._scale.shape[0]), np.float32)
        self._filled = False
        self._instruction: str | NDArray[np.int64] = ""

    def reset(self, instruction: Instruction) -> None:
        """Forget the history and set the episode's instruction."""
        self._filled = False
        if self.config.instruction_space == "tokens":
            self._instruction = text_to_tokens(instruction.text, self.config.instruction_length)
        else:
            self._instruction = instruction.text

    def ego(self, traffic: RingTraffic) -> NDArray[np.float32]:
        """Normalized ego features of the controlled vehicles now."""
        c = self._controlled
        raw = np.stack([traffic.state.speeds[c], traffic.gaps[c], traffic.accels[c]], axis=1)
        clipped = np.clip(raw.ravel() * self._scale, -FEATURE_BOUND, FEATURE_BOUND)
        return clipped.astype(np.float32)

    def record(self, ego: NDArray[np.float32]) -> None:
        """Append one control step's ego features to the history (oldest row first)."""
        if not self._filled:
            self._history[:] = ego
            self._filled = True
        else:
            self._history[:-1] = self._history[1:]
            self._history[-1] = ego

    def observe(self, traffic: RingTraffic, ego: NDArray[np.float32]) -> dict[str, Any]:
        """The observation for the current state; ``ego`` is ``self.ego(traffic)``. With no
        recorded past (no warm-up), the history repeats ``ego``."""
        if not self._filled:
            self.record(ego)
        state = traffic.state
        bev = self._renderer.render(
            state.positions, state.speeds, traffic.ring_length, self.config.vehicle_length
        )
        instruction = self._instruction
        return {
            "ego": ego,
            "history": self._history.copy(),
            "bev": bev,
            "instruction": instruction.copy() if isinstance(instruction, np.ndarray)
            else instruction,
        }
