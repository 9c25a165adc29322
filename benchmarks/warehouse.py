"""A held-out supervised multi-source task, written on 2026-12-04 (session 33) after every
strategy default was fixed: no strategy was ever tuned or developed on it.

Observation (a gymnasium Dict): a picking robot in a warehouse.

- ``joints``: 10 joint readings in [-1, 1];
- ``force``: a 24-step, 2-channel series: channel 0 a pulse (a bump of width 1.5 steps) at a
  random time on noise; channel 1 noise of a random level;
- ``shelf``: a 16x16 grayscale uint8 image: dim noise with 1 to 4 bright 2x2 dots at random places;
- ``order``: 8 tokens in 1..15.

Targets (6, each standardized): ``max(|joints[0:4]|)``; the pulse's time; the noise level of
channel 1; the number of dots; +1 if token 4 comes before token 9 in the order, -1 if after, 0 if
either is missing (an order, which a bag of tokens cannot tell); ``joints[5]`` times the number
of dots (across sources, only the fusion can form it).

Fitness: as ``multisource`` -- encoder + linear head trained together for `STEPS` Adam steps on
384 samples, fitness = mean held-out R² over the targets on 256 others.

Planned before any search ran on it (the commit that adds this file): hybrid, tpe, random and
evolution with ``--llm none`` and default settings, budget 48 with 24 as its prefix, search seeds
0-9, own best and the returned encoder re-scored on 3 held-out seeds; reported whatever it shows.

Planned in session 34 (2026-12-04), before any LLM search ran on it: the hybrid with the embedded
default model (SmolLM2, ``--llm embedded``, label ``hybrid+smollm2``), default settings, budget 48
with 24 as its prefix, seeds 0-9, paired against session 33's ``--llm none`` hybrid runs of the
same seeds (same machine); reported whatever it shows.

Planned in session 35 (2026-12-04), before any search with this model ran on it: the hybrid with
the stronger benchmark model, Qwen2.5-Coder-1.5B-Instruct (``--llm embedded:$MODEL`` from
``../shared/tools/fetch-qwen-1.5b``, label ``hybrid+qwen``, ``--option llm_timeout_s=300`` as on
the ring), default settings otherwise, budget 48 with 24 as its prefix, seeds 0-4 first and then
seeds 5-9 the same way as far as the session's time allows, paired against session 33's
``--llm none`` hybrid runs of the same seeds (same machine); every seed that finishes is reported,
whatever it shows.

Planned in session 35 (2026-12-04), after the hybrid+Qwen row and before any ``lacer`` search ran
on the task: ``lacer`` at budget 12 (as on the ring and multisource), ``--llm none`` and with Qwen
(label ``lacer+qwen``, ``--option llm_timeout_s=180`` as on the ring), default settings otherwise,
seeds 0-4 first and then 5-9 as far as the session's time allows, each pair on this machine;
every seed with both runs finished is reported, whatever it shows.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from multisource import Data, as_data, task_data, train_and_score

from evo_lacer.evaluate import FitnessRecord

SPACE = gym.spaces.Dict({
    "joints": gym.spaces.Box(-1.0, 1.0, (10,), np.float32),
    "force": gym.spaces.Box(-3.0, 3.0, (24, 2), np.float32),
    "shelf": gym.spaces.Box(0, 255, (16, 16, 1), np.uint8),
    "order": gym.spaces.Box(0, 15, (8,), np.int64),
})
NAMES = ("reach", "pulse_time", "noise_level", "dots", "order", "interaction")


def _order_sign(order: np.ndarray) -> np.ndarray:
    """+1 where token 4 comes before token 9, -1 where after, 0 where either is missing."""
    length = order.shape[1]
    never = length + 1
    first4 = np.where((order == 4).any(1), (order == 4).argmax(1), never)
    first9 = np.where((order == 9).any(1), (order == 9).argmax(1), never)
    both = (first4 < never) & (first9 < never)
    return np.where(both, np.sign(first9 - first4), 0).astype(float)


def make_data(n: int, seed: int) -> Data:
    """`n` observations and their 6 standardized targets."""
    rng = np.random.default_rng(seed)
    joints = rng.uniform(-1, 1, (n, 10)).astype(np.float32)
    t = np.arange(24)[None, :]
    when = rng.uniform(2, 22, n)
    level = rng.uniform(0.05, 0.8, n)
    force = np.stack([np.exp(-0.5 * ((t - when[:, None]) / 1.5) ** 2) + rng.normal(0, 0.1, (n, 24)),
                      rng.normal(0, 1, (n, 24)) * level[:, None]], axis=2)
    shelf = rng.integers(0, 40, (n, 16, 16, 1))
    dots = rng.integers(1, 5, n)
    for i in range(n):
        for _ in range(dots[i]):
            r, c = rng.integers(0, 15, 2)
            shelf[i, r:r + 2, c:c + 2, 0] = 230
    order = rng.integers(1, 16, (n, 8))
    targets = np.stack([
        np.abs(joints[:, :4]).max(1), when, level, dots, _order_sign(order), joints[:, 5] * dots,
    ], axis=1).astype(float)
    return as_data(SPACE, {"joints": joints, "force": force, "shelf": shelf, "order": order}, targets)


def fitness(tree: object, module: torch.nn.Module) -> FitnessRecord:
    """Mean held-out R² of encoder + linear head after a short joint training (see module doc)."""
    obs, y = task_data(make_data)
    return train_and_score(module, obs, y, NAMES)
