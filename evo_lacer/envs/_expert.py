"""Scripted controllers that act from the observation alone (usable for source ablations).

``ExpertController`` is the PI-with-saturation wave-damping controller of Stern et al. (2018,
"Dissipation of stop-and-go waves via control of autonomous vehicles"), with its command speed
taken from the ring (image) instead of a long own-speed average, a look-ahead on the
downstream wave, and the instruction's target as a cap. What it reads from each source:

- ``ego``: own speed and gap now;
- ``history``: the previous gap, hence the leader's speed (the controller follows the leader
  when close); without it the leader-speed estimate is garbage;
- ``bev``: the ring's mean speed (the sustainable cruise speed) and the mean speed of the
  traffic 10-40 % of the ring ahead (slow down early for a wave coming at it);
- ``instruction``: the target speed, never exceeded (a slow target is worth a lot of reward).

``IDMController`` drives like the human model (no noise): the "no automation" baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evo_lacer.envs._config import RingConfig
from evo_lacer.envs._decode import (
    controlled_angles,
    ego_state,
    instruction_target,
    leader_speed_estimate,
)
from evo_lacer.envs._idm import idm_accel
from evo_lacer.envs._render import DOWNSTREAM_SECTOR, pixel_angles, sector_speed

FloatArray = NDArray[np.float64]


def accel_to_action(accel: FloatArray, config: RingConfig) -> NDArray[np.float32]:
    """The action in ``[-1, 1]`` that applies ``accel`` (m/s^2), saturated."""
    scaled = np.where(accel >= 0.0, accel / config.max_accel, accel / config.max_decel)
    return np.clip(scaled, -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class ExpertParams:
    """Gains of the PI-with-saturation expert (Stern et al. 2018 values where they exist)."""

    gap_low: float = 7.0
    """Gap (m) from which the controller adds speed to close a large gap."""
    gap_high: float = 30.0
    """Gap (m) at which the added speed reaches ``catch_up``."""
    catch_up: float = 1.0
    """Largest speed (m/s) added on top of the ring's mean speed to close a gap."""
    gamma: float = 2.0
    """Gap (m) over which the command blends from the leader's speed to the cruise speed."""
    lookahead_margin: float = 1.0
    """The cruise speed stays below the downstream speed plus this margin (m/s)."""


@dataclass
class ExpertController:
    """PI with saturation driven by all four observation sources; call it on an observation."""

    config: RingConfig
    params: ExpertParams = field(default_factory=ExpertParams)

    def __post_init__(self) -> None:
        self._angles = pixel_angles(self.config.image_size)

    def __call__(self, obs: dict[str, Any]) -> NDArray[np.float32]:
        """The action for one observation."""
        cfg, p = self.config, self.params
        speed, gap, _ = ego_state(obs, cfg)
        leader = leader_speed_estimate(obs, cfg)
        target = instruction_target(obs)
        bev = np.asarray(obs["bev"])
        ring = sector_speed(bev, self._angles, 0.0, 2 * math.pi) or 0.0
        fronts = controlled_angles(bev, self._angles, cfg.n_controlled)
        lo, hi = (2 * math.pi * f for f in DOWNSTREAM_SECTOR)
        accel = np.zeros(cfg.n_controlled)
        for k in range(cfg.n_controlled):
            closing = min(max((gap[k] - p.gap_low) / (p.gap_high - p.gap_low), 0.0), 1.0)
            cruise = ring + p.catch_up * closing
            if fronts is not None:
                ahead = sector_speed(bev, self._angles, fronts[k] + lo, fronts[k] + hi)
                cruise = min(cruise, (ring if ahead is None else ahead) + p.lookahead_margin)
            if target is not None:
                cruise = min(cruise, target)
            safe_gap = max(2.0 * (leader[k] - speed[k]), 4.0)
            alpha = min(max((gap[k] - safe_gap) / p.gamma, 0.0), 1.0)
            beta = 1.0 - 0.5 * alpha
            command = beta * (alpha * cruise + (1.0 - alpha) * leader[k]) + (1.0 - beta) * speed[k]
            accel[k] = (command - speed[k]) / cfg.control_dt
        return accel_to_action(accel, cfg)


@dataclass
class IDMController:
    """Drives every controlled vehicle with the humans' IDM (noise-free), from ``ego`` and
    ``history`` only: the baseline the expert must beat."""

    config: RingConfig

    def __call__(self, obs: dict[str, Any]) -> NDArray[np.float32]:
        """The action for one observation."""
        speed, gap, _ = ego_state(obs, self.config)
        leader = np.maximum(leader_speed_estimate(obs, self.config), 0.0)
        return accel_to_action(idm_accel(speed, leader, gap, self.config.idm), self.config)
