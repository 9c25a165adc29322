"""The imitation fidelity's dataset: an expert's (or, with no expert, a random policy's) transitions,
collected with action noise while the labels stay the expert's clean actions (DART-style coverage of
the states a learner drifts into), split by episode into train and held-out rows; collected once per
process and setting, and cached."""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from evo_lacer.evaluate._envtools import obs_probe_targets, rollout, stack_obs
from evo_lacer.evaluate._features import split_indices


@dataclass
class Dataset:
    """Expert (or random) transitions, split by episode into train / held-out rows."""

    obs: Any
    actions: np.ndarray | None
    probes: dict[str, np.ndarray]
    groups: np.ndarray
    train: np.ndarray
    test: np.ndarray
    steps: int
    seconds: float
    tensors: dict[str, Any] = field(default_factory=dict)
    """Per-observation-space tensor versions of ``obs`` (built once per process)."""


_DATASETS: OrderedDict[str, Dataset] = OrderedDict()
MAX_DATASETS = 4
"""Datasets kept per process (least recently used dropped first)."""


def cached_dataset(key: str, collect: Callable[[], Dataset]) -> Dataset:
    """The dataset of setting `key`, collected by `collect` on first use in this process."""
    data = _DATASETS.get(key)
    if data is None:
        data = collect()
        _DATASETS[key] = data
        while len(_DATASETS) > MAX_DATASETS:
            _DATASETS.popitem(last=False)
    _DATASETS.move_to_end(key)
    return data


def collect_dataset(env: gym.Env, expert: Any, observation_space: gym.Space, *, seed: int, steps: int,
                    action_noise: float, holdout: float, start: float | None = None) -> Dataset:
    """`steps` transitions of `expert` (an ``obs -> action`` callable; anything else: random actions)
    on `env`, episodes seeded from `seed`: a Box action gets Gaussian noise of std `action_noise`, a
    discrete one is replaced by a random action with probability `action_noise`; an expert with an
    ``executed`` method is told the action taken. The probes are the env's ``info`` targets, or the
    observation's own (`obs_probe_targets`); `holdout` of the episodes are held out."""
    start = time.perf_counter() if start is None else start
    rng = np.random.default_rng(seed)
    told = getattr(expert, "executed", None)
    space = env.action_space
    space.seed(seed)
    labels: list[Any] = []

    def act(obs: Any) -> Any:
        if not callable(expert):
            return space.sample()
        label = np.asarray(expert(obs))
        labels.append(label)
        taken: Any = label
        if isinstance(space, spaces.Box) and action_noise > 0:
            noisy = label + rng.normal(0.0, action_noise, label.shape)
            taken = np.clip(noisy, space.low, space.high).astype(space.dtype)
        elif rng.random() < action_noise and not isinstance(space, spaces.Box):
            taken = space.sample()
        if callable(told):
            told(taken)
        return taken

    roll = rollout(env, act, itertools.count(seed), total_steps=steps)
    groups = np.asarray(roll.groups)
    train, test = split_indices(len(groups), groups, holdout)
    batch = stack_obs(roll.obs)
    probes = roll.probe_arrays() or obs_probe_targets(batch, observation_space)
    return Dataset(obs=batch, actions=np.stack(labels) if labels else None, probes=probes, groups=groups,
                   train=train, test=test, steps=roll.steps, seconds=time.perf_counter() - start)
