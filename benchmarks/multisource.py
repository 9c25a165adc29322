"""A supervised multi-source task where the architecture matters (no RL, seconds per candidate).

Observation (a gymnasium Dict, four kinds of source):

- ``pose``: a vector of 8 sensors in [-1, 1];
- ``trace``: a 16-step, 3-channel time series: channel 0 a sine wave of random frequency and
  phase, channels 1-2 noise;
- ``map``: a 16x16 RGB uint8 image: dim noise with one bright 3x3 blob at a random place;
- ``cmd``: 6 instruction tokens in 1..11.

Targets (6, each standardized): ``pose[0]*pose[1] + sin(2 pose[2])``; the trace's frequency; the
blob's column and row; (#token 3 - #token 7) in the instruction; ``pose[3]`` times the trace's
frequency (an interaction across sources, which only the fusion can form).

Fitness: the encoder and a linear head are trained together for `STEPS` Adam steps (batch 64,
lr 3e-3) on 384 samples; fitness = the mean held-out R² over the targets on 256 other
samples. Each source carries what some target needs, and the families differ in how well they
extract it (a frequency wants a recurrent or convolutional trace branch, the blob a conv net,
the token count an embedding), so the encoder's architecture decides the score.

The task was written for the hybrid benchmark and never used to tune any strategy's defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast

import gymnasium as gym
import numpy as np
import torch

from evo_lacer.evaluate import FitnessRecord

STEPS = 40
TRAIN, TEST = 384, 256
Data = tuple[dict[str, torch.Tensor], torch.Tensor]
SPACE = gym.spaces.Dict({
    "pose": gym.spaces.Box(-1.0, 1.0, (8,), np.float32),
    "trace": gym.spaces.Box(-2.0, 2.0, (16, 3), np.float32),
    "map": gym.spaces.Box(0, 255, (16, 16, 3), np.uint8),
    "cmd": gym.spaces.Box(0, 11, (6,), np.int64),
})


def make_data(n: int, seed: int) -> Data:
    """`n` observations and their 6 standardized targets."""
    rng = np.random.default_rng(seed)
    pose = rng.uniform(-1, 1, (n, 8)).astype(np.float32)
    freq = rng.uniform(0.5, 3.0, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    t = np.arange(16) * 0.4
    trace = rng.normal(0, 0.3, (n, 16, 3))
    trace[:, :, 0] = np.sin(freq[:, None] * t[None, :] + phase[:, None]) + rng.normal(0, 0.1, (n, 16))
    image = rng.integers(0, 40, (n, 16, 16, 3))
    col, row = rng.integers(0, 13, n), rng.integers(0, 13, n)
    for i in range(n):
        image[i, row[i]:row[i] + 3, col[i]:col[i] + 3, 0] = 230
    cmd = rng.integers(1, 12, (n, 6))
    targets = np.stack([
        pose[:, 0] * pose[:, 1] + np.sin(2 * pose[:, 2]),
        freq,
        col / 13.0,
        row / 13.0,
        (cmd == 3).sum(1) - (cmd == 7).sum(1),
        pose[:, 3] * freq,
    ], axis=1)
    return as_data(SPACE, {"pose": pose, "trace": trace, "map": image, "cmd": cmd}, targets)


def as_data(space: gym.spaces.Dict, sources: Mapping[str, np.ndarray], targets: np.ndarray) -> Data:
    """Each source as a tensor of its space's dtype, and the targets standardized (float32)."""
    obs = {name: torch.from_numpy(np.asarray(value).astype(space[name].dtype))
           for name, value in sources.items()}
    targets = (targets - targets.mean(0)) / targets.std(0)
    return obs, torch.from_numpy(targets.astype(np.float32))


_DATA: dict[Callable[[int, int], Data], Data] = {}


def task_data(make: Callable[[int, int], Data]) -> Data:
    """A supervised task's `TRAIN` + `TEST` samples (seed 0), made once per process."""
    if make not in _DATA:
        _DATA[make] = make(TRAIN + TEST, 0)
    return _DATA[make]


def fitness(tree: object, module: torch.nn.Module) -> FitnessRecord:
    """Mean held-out R² of encoder + linear head after a short joint training (see module doc)."""
    obs, y = task_data(make_data)
    return train_and_score(module, obs, y, ("pose", "frequency", "blob_col", "blob_row", "token_count",
                                            "interaction"))


def train_and_score(module: torch.nn.Module, obs: dict[str, torch.Tensor], y: torch.Tensor,
                    names: tuple[str, ...]) -> FitnessRecord:
    """Train `module` + a linear head for `STEPS` Adam steps on the first `TRAIN` samples; fitness =
    the mean held-out R² (clamped at -1) over the targets on the next `TEST` (one per name)."""
    head = torch.nn.Linear(int(cast(int, module.features_dim)), y.shape[1])
    params = [*module.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        rows = torch.randint(0, TRAIN, (64,), generator=gen)
        loss = ((head(module({k: v[rows] for k, v in obs.items()})) - y[rows]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        test = slice(TRAIN, TRAIN + TEST)
        pred = head(module({k: v[test] for k, v in obs.items()}))
        err = ((pred - y[test]) ** 2).mean(0) / y[test].var(0)
    r2 = (1.0 - err).clamp(min=-1.0)
    return FitnessRecord(fitness=float(r2.mean()), metrics={f"r2/{n}": float(v) for n, v in zip(names, r2)})
