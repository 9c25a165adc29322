"""In-process ring simulator: exact ring geometry, SUMO's Euler update, no dependencies."""

from __future__ import annotations

import numpy as np

from evo_lacer.envs._backend import FloatArray, RingState


class NumpyRingBackend:
    """Integrates accelerations with NumPy; the fast backend for tests and small budgets."""

    def __init__(self, sim_step: float) -> None:
        self._dt = float(sim_step)
        self._x = np.zeros(0)
        self._v = np.zeros(0)
        self._time = 0.0

    def reset(
        self, ring_length: float, positions: FloatArray, speeds: FloatArray
    ) -> RingState:
        self._x = np.array(positions, dtype=np.float64)
        self._v = np.array(speeds, dtype=np.float64)
        self._time = 0.0
        return RingState(self._x.copy(), self._v.copy(), self._time)

    def step(self, accels: FloatArray) -> RingState:
        v = np.maximum(self._v + accels * self._dt, 0.0)
        self._x = self._x + v * self._dt
        self._v = v
        self._time += self._dt
        return RingState(self._x, v, self._time)

    def close(self) -> None:
        return None
