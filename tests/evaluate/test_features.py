"""Feature statistics on synthetic data whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evo_lacer.evaluate import (
    dead_units,
    effective_rank,
    feature_statistics,
    linear_cka,
    ridge_r2,
)


def test_effective_rank_of_known_rank() -> None:
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(3, 32))
    # three equally strong orthogonal directions -> effective rank ~3
    q, _ = np.linalg.qr(basis.T)
    coeffs = rng.choice([-1.0, 1.0], size=(600, 3))
    x = coeffs @ q.T
    assert effective_rank(x) == pytest.approx(3.0, rel=0.05)
    assert effective_rank(rng.normal(size=(2000, 8))) == pytest.approx(8.0, rel=0.05)
    assert effective_rank(np.ones((50, 10))) == 0.0
    assert effective_rank(np.zeros((1, 4))) == 0.0


def test_dead_units_fraction() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 10))
    x[:, :3] = 0.0
    x[:, 3] = 5.0
    assert dead_units(x) == pytest.approx(0.4)
    assert dead_units(torch.relu(torch.full((20, 4), -1.0))) == 1.0


def test_cka_identical_rotated_and_independent() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(500, 6))
    rot, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    assert linear_cka(a, 3.0 * a @ rot) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(a, rng.normal(size=(500, 6))) < 0.1
    assert linear_cka(a, np.zeros((500, 4))) == 0.0


def test_probe_r2_predictable_vs_noise() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(800, 16))
    w = rng.normal(size=16)
    targets = {"linear": x @ w + 0.5, "noise": rng.normal(size=800), "constant": np.full(800, 2.0)}
    r2 = ridge_r2(x, targets)
    assert r2["linear"] > 0.99
    assert r2["noise"] < 0.05
    assert "constant" not in r2


def test_probe_split_by_groups_holds_out_whole_episodes() -> None:
    x = np.arange(40, dtype=float).reshape(-1, 1)
    groups = np.repeat([0, 1, 2, 3], 10)
    r2 = ridge_r2(x, {"t": x[:, 0] * 2.0}, groups=groups)
    assert r2["t"] == pytest.approx(1.0, abs=0.01)


def test_feature_statistics_keys_and_robustness() -> None:
    rng = np.random.default_rng(4)
    ego = rng.normal(size=(300, 8))
    bad = np.full((300, 4), np.nan)
    bad[::2, 0] = np.inf
    fused = np.concatenate([ego, np.zeros((300, 4))], axis=1)
    stats = feature_statistics(
        {"ego": torch.as_tensor(ego), "history": bad, "img": rng.normal(size=(300, 2, 3))},
        fused,
        {"speed": ego[:, 0] * 2 + 1, "flat": np.zeros(300)},
        groups=np.repeat(np.arange(6), 50),
    )
    assert all(math.isfinite(v) for v in stats.values())
    assert stats["history/effective_rank"] == 0.0
    assert stats["history/dead_units"] == 1.0
    assert stats["fused/dead_units"] == pytest.approx(4 / 12)
    assert stats["redundancy/ego~history"] == 0.0
    assert {"redundancy/ego~img", "redundancy/history~img", "redundancy/max", "redundancy/mean"} <= set(stats)
    assert stats["probe_r2/speed"] > 0.99
    assert "probe_r2/flat" not in stats
    assert stats["ego/probe_r2_mean"] > 0.99
    assert stats["history/probe_r2_mean"] == 0.0


def test_feature_statistics_tiny_and_empty_batches() -> None:
    assert feature_statistics({}) == {}
    stats = feature_statistics({"a": np.ones((1, 3))}, np.ones((1, 3)), {"t": [1.0]})
    assert all(math.isfinite(v) for v in stats.values())
