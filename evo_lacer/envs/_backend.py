"""The role every ring simulator plays: place vehicles, apply accelerations, report state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RingState:
    """Where the vehicles are after a step. Vehicle ``i + 1`` leads vehicle ``i`` and vehicle 0
    leads the last one (single lane, no overtaking)."""

    positions: FloatArray
    """Distance (m) of each front bumper from the ring origin, unwrapped (never reduced modulo
    the ring length), so a negative gap reveals a collision."""
    speeds: FloatArray
    """Speed of each vehicle, m/s."""
    time: float
    """Simulated seconds since the backend's reset."""


class RingBackend(Protocol):
    """A single-lane ring simulator. The driver model lives outside: a backend integrates the
    accelerations it is given (Euler as SUMO: ``v' = max(v + a dt, 0)``, ``x' = x + v' dt``)."""

    def reset(
        self, ring_length: float, positions: FloatArray, speeds: FloatArray
    ) -> RingState:
        """Start a new episode on a ring of ``ring_length`` m with vehicles at ``positions``
        (ascending, in ``[0, ring_length)``) driving at ``speeds``."""
        ...

    def step(self, accels: FloatArray) -> RingState:
        """Advance one simulation step with the given acceleration (m/s^2) of every vehicle."""
        ...

    def close(self) -> None:
        """Release the simulator; calling it twice is allowed."""
        ...
