"""A development task for tuning the hybrid: supervised, multi-source, seconds per candidate.

Strategy defaults are tuned on this task and on the ring's development seeds (100 and up), never
on ``multisource`` or the report seeds -- see the README's "Does the hybrid beat its baselines?".

Observation (a gymnasium Dict):

- ``lidar``: 24 range readings in [0, 1] with noise; one obstacle makes a dip of random width
  at a random bearing;
- ``imu``: a 20-step, 2-channel series: channel 0 steps from one level to another at a random
  time, channel 1 is a ramp of random slope plus noise;
- ``patch``: a 12x12 grayscale uint8 image with one bar, horizontal or vertical, at a random offset;
- ``words``: 5 tokens in 1..9.

Targets (6, each standardized): the obstacle's bearing; its width; the time of the step; the bar's
orientation times its offset; (token 2 present) - (token 5 present); and the ramp's slope times
the obstacle's depth (across sources, only the fusion can form it).

Fitness: as ``multisource`` -- encoder + linear head trained together for `STEPS` Adam steps on
384 samples, fitness = mean held-out R² over the targets on 256 others.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from multisource import Data, as_data, task_data, train_and_score

from evo_lacer.evaluate import FitnessRecord

SPACE = gym.spaces.Dict({
    "lidar": gym.spaces.Box(0.0, 1.0, (24,), np.float32),
    "imu": gym.spaces.Box(-3.0, 3.0, (20, 2), np.float32),
    "patch": gym.spaces.Box(0, 255, (12, 12, 1), np.uint8),
    "words": gym.spaces.Box(0, 9, (5,), np.int64),
})
NAMES = ("bearing", "width", "step_time", "bar", "words", "interaction")


def make_data(n: int, seed: int) -> Data:
    """`n` observations and their 6 standardized targets."""
    rng = np.random.default_rng(seed)
    bearing = rng.integers(2, 22, n)
    width = rng.integers(1, 5, n)
    depth = rng.uniform(0.2, 0.8, n)
    lidar = np.clip(0.9 + rng.normal(0, 0.05, (n, 24)), 0, 1)
    idx = np.arange(24)[None, :]
    lidar = np.where(np.abs(idx - bearing[:, None]) < width[:, None], lidar - depth[:, None], lidar)
    step_t = rng.integers(3, 17, n)
    levels = rng.uniform(-1, 1, (n, 2))
    t = np.arange(20)[None, :]
    slope = rng.uniform(-0.1, 0.1, n)
    imu = np.stack([np.where(t < step_t[:, None], levels[:, :1], levels[:, 1:]) + rng.normal(0, 0.1, (n, 20)),
                    slope[:, None] * t + rng.normal(0, 0.2, (n, 20))], axis=2)
    vertical = rng.integers(0, 2, n)
    offset = rng.integers(0, 12, n)
    patch = rng.integers(0, 50, (n, 12, 12, 1))
    for i in range(n):
        if vertical[i]:
            patch[i, :, offset[i], 0] = 220
        else:
            patch[i, offset[i], :, 0] = 220
    words = rng.integers(1, 10, (n, 5))
    targets = np.stack([
        bearing / 23.0, width, step_t, (2 * vertical - 1) * offset,
        (words == 2).any(1).astype(float) - (words == 5).any(1), slope * depth,
    ], axis=1).astype(float)
    return as_data(SPACE, {"lidar": lidar, "imu": imu, "patch": patch, "words": words}, targets)


def fitness(tree: object, module: torch.nn.Module) -> FitnessRecord:
    """Mean held-out R² of encoder + linear head after a short joint training (see module doc)."""
    obs, y = task_data(make_data)
    return train_and_score(module, obs, y, NAMES)
