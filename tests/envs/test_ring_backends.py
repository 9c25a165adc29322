"""Backends: waves form with all-human traffic, SUMO agrees with NumPy, SUMO's process rules."""

from __future__ import annotations

import builtins
import gc
from typing import Any

import numpy as np
import pytest
from ring_helpers import BACKENDS, needs_sumo

from evo_lacer.envs import (
    NumpyRingBackend,
    RingConfig,
    RingTraffic,
    RingTrafficEnv,
    make_backend,
)
from evo_lacer.envs._traffic import initial_positions
from evo_lacer.errors import EnvError, EvoLacerError


def human_run(backend: str, steps: int, seed: int = 0, length: float = 230.0) -> dict[str, Any]:
    """All vehicles human for ``steps`` simulation steps; speed stats of the last 300 steps."""
    config = RingConfig(backend=backend)  # type: ignore[arg-type]
    traffic = RingTraffic(make_backend(config), config)
    rng = np.random.default_rng(seed)
    try:
        traffic.reset(length, initial_positions(config, length, rng))
        positions, means, spreads, collisions = [], [], [], 0
        for t in range(steps):
            collisions += traffic.step(rng)
            positions.append(traffic.state.positions.copy())
            if t >= steps - 300:
                means.append(traffic.state.speeds.mean())
                spreads.append(traffic.state.speeds.std())
    finally:
        traffic.backend.close()
    return {"mean": float(np.mean(means)), "spread": float(np.mean(spreads)),
            "collisions": collisions, "positions": np.array(positions)}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("length", [230.0, 260.0])
def test_waves_form_without_control(backend: str, length: float) -> None:
    run = human_run(backend, 1050, length=length)
    assert run["collisions"] == 0
    assert run["spread"] > 1.5, "stop-and-go waves should have formed after the warm-up"
    assert 1.5 < run["mean"] < 5.0


@needs_sumo
def test_sumo_agrees_with_numpy() -> None:
    numpy_run, sumo_run = human_run("numpy", 1500, seed=3), human_run("sumo", 1500, seed=3)
    assert sumo_run["mean"] == pytest.approx(numpy_run["mean"], abs=0.1)
    assert sumo_run["spread"] == pytest.approx(numpy_run["spread"], abs=0.2)
    # same driver model and integration rule: the trajectories themselves coincide
    np.testing.assert_allclose(sumo_run["positions"], numpy_run["positions"], atol=1e-6)


def test_numpy_backend_euler_and_no_reversing() -> None:
    backend = NumpyRingBackend(0.1)
    backend.reset(100.0, np.array([0.0, 50.0]), np.array([1.0, 0.05]))
    state = backend.step(np.array([2.0, -5.0]))
    np.testing.assert_allclose(state.speeds, [1.2, 0.0])
    np.testing.assert_allclose(state.positions, [0.12, 50.0])
    assert state.time == pytest.approx(0.1)


def test_collision_is_counted_gracefully() -> None:
    config = RingConfig(backend="numpy", noise_std=0.0)
    traffic = RingTraffic(make_backend(config), config)
    traffic.reset(230.0, initial_positions(config, 230.0, np.random.default_rng(0)))
    rng = np.random.default_rng(0)
    for _ in range(100):
        traffic.step(rng)
    collided = 0
    for _ in range(200):  # controlled vehicle 0 floors it into its leader
        collided = traffic.step(rng, np.array([8.0]))
        if collided:
            break
    assert collided >= 1
    assert traffic.gaps.min() <= 0.0
    assert np.isfinite(traffic.state.speeds).all()


@needs_sumo
def test_sumo_one_simulation_per_process_and_restart() -> None:
    config = RingConfig(backend="sumo")
    first, second = make_backend(config), make_backend(config)
    x0 = initial_positions(config, 230.0, np.random.default_rng(0))
    try:
        first.reset(230.0, x0, np.zeros_like(x0))
        with pytest.raises(EnvError, match="one simulation per process"):
            second.reset(230.0, x0, np.zeros_like(x0))
        first.reset(240.0, initial_positions(config, 240.0, np.random.default_rng(1)),
                    np.zeros_like(x0))  # reload with another ring
        first.close()
        first.close()
        state = second.reset(230.0, x0, np.zeros_like(x0))  # a fresh start after close
        np.testing.assert_allclose(state.positions, x0, atol=1e-6)
    finally:
        first.close()
        second.close()


def test_missing_libsumo_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "libsumo":
            raise ImportError("No module named 'libsumo'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(EvoLacerError, match=r"pip install 'evo-lacer\[sumo\]'"):
        make_backend(RingConfig(backend="sumo"))


@needs_sumo
def test_sumo_env_dropped_without_close_does_not_block_the_process() -> None:
    env = RingTrafficEnv(backend="sumo", warmup_steps=10, horizon=2)
    env.reset(seed=0)
    del env
    gc.collect()
    other = RingTrafficEnv(backend="sumo", warmup_steps=10, horizon=2)
    try:
        obs, _ = other.reset(seed=0)
        assert other.observation_space.contains(obs)
    finally:
        other.close()
