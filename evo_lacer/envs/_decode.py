"""Physical quantities read back from an observation (what a scripted controller can know)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evo_lacer.envs._config import RingConfig
from evo_lacer.envs._instructions import parse_target
from evo_lacer.envs._observation import HEADWAY_SCALE, SPEED_SCALE, accel_scale
from evo_lacer.envs._render import CONTROLLED

FloatArray = NDArray[np.float64]

#: Marker pixels of two controlled vehicles are at least this far apart (radians) ...
_CLUSTER_GAP = 0.2
#: ... and vehicle 0's own marker reaches at most this far behind angle 0.
_EGO_TAIL = 0.3


def ego_state(obs: dict[str, Any], config: RingConfig) -> tuple[FloatArray, ...]:
    """Speed (m/s), gap (m) and last acceleration (m/s^2) of each controlled vehicle now."""
    ego = np.asarray(obs["ego"], dtype=np.float64).reshape(config.n_controlled, 3)
    return ego[:, 0] * SPEED_SCALE, ego[:, 1] * HEADWAY_SCALE, ego[:, 2] * accel_scale(config)


def leader_speed_estimate(obs: dict[str, Any], config: RingConfig) -> FloatArray:
    """Leader speed of each controlled vehicle: own speed plus the gap's rate of change over
    the last control step (``ego`` now minus the newest ``history`` row)."""
    speed, gap, _ = ego_state(obs, config)
    previous = np.asarray(obs["history"], dtype=np.float64)[-1].reshape(config.n_controlled, 3)
    return speed + (gap - previous[:, 1] * HEADWAY_SCALE) / config.control_dt


def instruction_target(obs: dict[str, Any]) -> float | None:
    """Target speed named by the instruction (tokens or text), None if none can be read."""
    return parse_target(obs["instruction"])


def controlled_angles(bev: NDArray[np.uint8], angles: FloatArray, n: int) -> FloatArray | None:
    """Angle of each controlled vehicle's front in the image (vehicle 0 first, at 0), found by
    clustering the marker pixels; None if the markers do not show ``n`` vehicles."""
    marked = angles[bev[:, :, CONTROLLED] > 0]
    if marked.size == 0:
        return None
    shifted = np.sort(np.mod(marked + _EGO_TAIL, 2 * math.pi))
    breaks = np.flatnonzero(np.diff(shifted) > _CLUSTER_GAP)
    if breaks.size + 1 != n:
        return None
    fronts = np.append(shifted[breaks], shifted[-1]) - _EGO_TAIL
    fronts[0] = 0.0
    return fronts

