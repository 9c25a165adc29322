"""Human IDM drivers with acceleration noise and controlled vehicles on a ring backend."""

from __future__ import annotations

import math

import numpy as np

from evo_lacer.envs._backend import FloatArray, RingBackend, RingState
from evo_lacer.envs._config import RingConfig
from evo_lacer.envs._idm import idm_accel


def controlled_indices(n_vehicles: int, n_controlled: int) -> np.ndarray:
    """Indices of the controlled vehicles, spread evenly around the ring, vehicle 0 first."""
    return (np.arange(n_controlled) * n_vehicles) // n_controlled


def initial_positions(
    config: RingConfig, ring_length: float, rng: np.random.Generator
) -> FloatArray:
    """Front-bumper positions with a one-wave sinusoidal gap perturbation plus small jitter,
    which grows into a stop-and-go wave within the warm-up; vehicle 0 at the origin."""
    n, length = config.n_vehicles, config.vehicle_length
    free = ring_length - n * length
    phase = rng.uniform(0.0, 2 * math.pi)
    amp = config.init_perturbation
    gaps = free / n + amp * np.sin(2 * math.pi * np.arange(n) / n + phase)
    gaps = np.maximum(gaps + rng.normal(0.0, 0.1 * amp, n), min(1.0, free / n))
    gaps *= free / gaps.sum()
    return np.concatenate([[0.0], np.cumsum(gaps[:-1] + length)])


class RingTraffic:
    """One simulation step = IDM for everyone, noise for humans, the controller's accelerations
    for controlled vehicles, then the backend integrates. Gaps are kept for the next step."""

    def __init__(self, backend: RingBackend, config: RingConfig) -> None:
        self.backend = backend
        self.config = config
        n = config.n_vehicles
        self.controlled = controlled_indices(n, config.n_controlled)
        self._humans = np.setdiff1d(np.arange(n), self.controlled)
        self._leader = (np.arange(n) + 1) % n
        self._noise = config.noise_std * math.sqrt(config.sim_step)
        self.ring_length = config.ring_length
        self._wrap = np.zeros(n)
        self.state = RingState(np.zeros(n), np.zeros(n), 0.0)
        self.gaps = np.zeros(n)
        self.accels = np.zeros(n)

    def reset(self, ring_length: float, positions: FloatArray) -> None:
        """Place the vehicles at rest at ``positions`` on a ring of ``ring_length`` m."""
        self.ring_length = float(ring_length)
        self._wrap = np.zeros(self.config.n_vehicles)
        self._wrap[-1] = self.ring_length
        self.state = self.backend.reset(self.ring_length, positions, np.zeros_like(positions))
        self.gaps = self._gaps(self.state.positions)
        self.accels = np.zeros(self.config.n_vehicles)

    def _gaps(self, x: FloatArray) -> FloatArray:
        return x[self._leader] + self._wrap - x - self.config.vehicle_length

    @property
    def leader_speeds(self) -> FloatArray:
        """Speed of each vehicle's leader, m/s."""
        return self.state.speeds[self._leader]

    def step(self, rng: np.random.Generator, control: FloatArray | None = None) -> int:
        """Advance one simulation step; ``control`` (m/s^2) drives the controlled vehicles, or
        they drive as humans when None. Returns the number of gaps <= 0 (collisions)."""
        speeds = self.state.speeds
        acc = idm_accel(speeds, speeds[self._leader], self.gaps, self.config.idm)
        if control is None:
            acc += self._noise * rng.standard_normal(acc.shape[0])
        else:
            acc[self._humans] += self._noise * rng.standard_normal(self._humans.shape[0])
            acc[self.controlled] = control
        self.accels = acc
        self.state = self.backend.step(acc)
        self.gaps = self._gaps(self.state.positions)
        return int(np.count_nonzero(self.gaps <= 0.0))
