"""Reward and per-step task metrics of the ring road (what ``info`` carries)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evo_lacer.envs._backend import FloatArray
from evo_lacer.envs._render import DOWNSTREAM_SECTOR
from evo_lacer.envs._traffic import RingTraffic


def desired_velocity_reward(speeds: FloatArray, target: float) -> float:
    """Flow's ``desired_velocity`` reward: ``max(|v_des| - |v - v_des|, 0) / |v_des|`` with
    norms over all vehicles; 1 when every vehicle drives at ``target``."""
    max_cost = target * math.sqrt(speeds.shape[0])
    cost = float(np.sqrt(np.dot(speeds - target, speeds - target)))
    return max(max_cost - cost, 0.0) / max_cost


def downstream_speed(traffic: RingTraffic, ego: int) -> float:
    """Mean speed of the vehicles in ``DOWNSTREAM_SECTOR`` of the ring ahead of ``ego``
    (the nearest vehicle ahead of that sector when it holds none)."""
    x = traffic.state.positions
    ahead = np.mod(x - x[ego], traffic.ring_length) / traffic.ring_length
    mask = (ahead > DOWNSTREAM_SECTOR[0]) & (ahead < DOWNSTREAM_SECTOR[1])
    if not mask.any():
        beyond = ahead[ahead > DOWNSTREAM_SECTOR[0]]
        mask = ahead == (beyond.min() if beyond.size else 0.0)
    return float(traffic.state.speeds[mask].sum()) / int(np.count_nonzero(mask))


def task_metrics(traffic: RingTraffic, target: float, collisions: int) -> dict[str, Any]:
    """``mean_speed``, ``speed_std``, ``collisions``, ``instruction_compliance`` and
    ``probe_targets`` (ground truth about controlled vehicle 0 and the ring, for linear probes
    of encoder features)."""
    speeds = traffic.state.speeds
    ctrl = traffic.controlled
    ego = int(ctrl[0])
    mean = float(speeds.sum()) / speeds.shape[0]
    dev = speeds - mean
    std = math.sqrt(float(np.dot(dev, dev)) / speeds.shape[0])
    errors = np.abs(speeds[ctrl] - target) / target
    compliance = 1.0 - float(np.minimum(errors, 1.0).sum()) / ctrl.shape[0]
    probes = {
        "ego_speed": float(speeds[ego]),
        "ego_headway": float(traffic.gaps[ego]),
        "ego_accel": float(traffic.accels[ego]),
        "leader_speed": float(traffic.leader_speeds[ego]),
        "ring_mean_speed": mean,
        "ring_speed_std": std,
        "downstream_speed": downstream_speed(traffic, ego),
        "min_speed": float(speeds.min()),
        "target_speed": float(target),
        "ring_length": float(traffic.ring_length),
    }
    return {
        "mean_speed": mean,
        "speed_std": std,
        "collisions": int(collisions),
        "instruction_compliance": compliance,
        "probe_targets": probes,
    }
