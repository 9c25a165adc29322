"""What `RLEvaluator` needs around one PPO run: settings that fit a small budget
(`ppo_defaults`), a training deadline (`deadline_callback`), and one feedback from several runs of
a candidate (`mean_feedback`)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from evo_lacer.evaluate._feedback import Cost, Feedback


def sum_costs(feedbacks: list[Feedback]) -> Cost:
    return Cost(sum(f.cost.seconds for f in feedbacks), sum(f.cost.env_steps for f in feedbacks))


def mean_feedback(runs: list[Feedback]) -> Feedback:
    """One candidate's feedback from several PPO runs of it: the mean fitness, the mean of each
    metric every run reports plus ``reward_seed_std`` and ``ppo_seeds``, the first run's
    feature statistics, the summed cost."""
    rewards = np.array([f.fitness for f in runs], dtype=float)
    keys = set.intersection(*(set(f.metrics) for f in runs))
    metrics = {k: float(np.mean([f.metrics[k] for f in runs])) for k in sorted(keys)}
    metrics.update(reward_seed_std=float(rewards.std()), ppo_seeds=float(len(runs)))
    return replace(runs[0], fitness=float(rewards.mean()), metrics=metrics, cost=sum_costs(runs))


def ppo_defaults(steps: int, n_envs: int) -> dict[str, Any]:
    """PPO settings that fit a small budget: the rollout divides ``steps`` so the budget is
    spent exactly (SB3 always finishes a rollout), minibatches of at most 64."""
    per_env = max(steps // n_envs, 8)
    n_steps = min(512, per_env)
    while per_env % n_steps and n_steps > 8:
        n_steps -= 1
    batch = n_steps * n_envs
    return {"n_steps": n_steps, "batch_size": min(64, batch), "n_epochs": 10, "learning_rate": 3e-4}


def deadline_callback(seconds: float) -> Any:
    """An SB3 callback that stops training ``seconds`` after it is made (``.expired`` says so)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Deadline(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.expired = False
            self._end = time.perf_counter() + seconds

        def _on_step(self) -> bool:
            self.expired = time.perf_counter() > self._end
            return not self.expired

    return Deadline()
