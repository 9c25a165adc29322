"""Vectorized Intelligent Driver Model (Treiber et al. 2000), as Flow's ``IDMController``."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from evo_lacer.envs._config import IDMParams

FloatArray = NDArray[np.float64]

#: Gaps are floored at this value (m) so that a collision gives a finite, strong braking.
MIN_GAP = 1e-3


def idm_accel(
    speed: FloatArray, leader_speed: FloatArray, gap: FloatArray, p: IDMParams
) -> FloatArray:
    """IDM acceleration (m/s^2) of each follower given its speed, its leader's and the gap."""
    interaction = speed * (p.T + (speed - leader_speed) * (0.5 / math.sqrt(p.a * p.b)))
    ratio = (p.s0 + np.maximum(interaction, 0.0)) / np.maximum(gap, MIN_GAP)
    free = speed * (1.0 / p.v0)
    if p.delta == 4.0:  # Flow's value; a squared square is several times cheaper than a power
        free *= free
        free *= free
    else:
        free **= p.delta
    return p.a * (1.0 - free - ratio * ratio)
