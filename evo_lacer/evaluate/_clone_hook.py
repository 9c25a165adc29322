"""The supernet hook of the cheap fidelity: what the darts and enas strategies need of the imitation
evaluator to train their weight-sharing supernet by behaviour cloning instead of PPO.

`ImitationEvaluator.train_clone` clones the expert through a policy whose features extractor is the
supernet, for ``steps`` gradient steps on the training episodes (the same loss, batch size and
learning rate as one candidate's cloning, so ``steps = k * grad_steps`` is k candidates' worth).
Around every gradient step it calls the strategy's `CloneHook`: ``before_step()`` (enas samples a
child here) and ``after_step(reward)`` (darts steps its architecture weights on the gradient the
training loss left in them; enas calls ``reward()`` -- the imitation skill of the supernet as now
mixed on a batch of *validation* episodes -- and takes a REINFORCE step). The validation episodes
are the last fifth of the training episodes: the held-out episodes that score candidates are never
seen by the search phase. The returned `CloneRun` scores the supernet as mixed at call time on all
validation rows (enas ranks its sampled architectures with it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate._bc_loss import BCLoss
from evo_lacer.evaluate._envtools import take_obs

VALIDATION_SHARE = 0.2
"""Share of the training episodes the search phase validates on (at least one episode)."""


class CloneHook(Protocol):
    """What a strategy does around each gradient step of the supernet's cloning."""

    def before_step(self) -> None: ...

    def after_step(self, reward: Callable[[], float]) -> None: ...


@dataclass(frozen=True)
class CloneRun:
    """A finished supernet cloning."""

    steps: int
    """Gradient steps taken."""
    score: Callable[[], float]
    """Imitation skill of the supernet, as mixed when called, on every validation row."""


@runtime_checkable
class CloneTrainer(Protocol):
    """An evaluator that can clone an expert through any features extractor (e.g. a supernet)."""

    observation_space: gym.Space
    """The observation space as the policy sees it (wrappers applied)."""
    grad_steps: int
    """Gradient steps of one candidate's evaluation (the unit of the supernet's budget)."""

    def train_clone(self, policy_kwargs: dict[str, Any], seed: int, steps: int, hook: CloneHook) -> CloneRun:
        """Clone the expert through a policy built with ``policy_kwargs`` for ``steps`` gradient
        steps, calling `hook` around each (module docstring)."""
        ...


def validation_split(train: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, validation rows) of the training rows: the last `VALIDATION_SHARE` of their
    episodes validate; with a single training episode its last fifth of rows does."""
    order = list(dict.fromkeys(groups[train].tolist()))
    if len(order) >= 2:
        held = set(order[-max(1, round(VALIDATION_SHARE * len(order))):])
        mask = np.fromiter((g in held for g in groups[train].tolist()), bool, count=len(train))
        return train[~mask], train[mask]
    cut = max(1, min(len(train) - 1, round((1 - VALIDATION_SHARE) * len(train))))
    return train[:cut], train[cut:]


def clone_supernet(policy: Any, forward: Callable[[Any, Any], torch.Tensor], obs: Any, labels: torch.Tensor,
                   loss_fn: BCLoss, fit: np.ndarray, val: np.ndarray, *, steps: int, batch_size: int,
                   learning_rate: float, seed: int, hook: CloneHook) -> CloneRun:
    """The cloning loop of `ImitationEvaluator.train_clone` (module docstring)."""
    params = [*policy.pi_features_extractor.parameters(), *policy.action_net.parameters()]
    optim = torch.optim.Adam(params, lr=learning_rate)
    gen = np.random.default_rng(seed)
    constant = loss_fn.constant(labels[torch.as_tensor(fit)], labels[torch.as_tensor(val)])

    def skill(rows: np.ndarray) -> float:
        policy.set_training_mode(False)
        index = torch.as_tensor(rows)
        with torch.no_grad():
            loss = float(loss_fn(forward(policy, take_obs(obs, index)), labels[index]))
        return 1.0 - loss / constant if constant > 0 else -loss

    def batch(rows: np.ndarray) -> np.ndarray:
        return gen.choice(rows, min(batch_size, len(rows)), replace=False)

    for _ in range(steps):
        hook.before_step()
        policy.set_training_mode(True)
        rows = torch.as_tensor(batch(fit))
        loss = loss_fn(forward(policy, take_obs(obs, rows)), labels[rows])
        if not torch.isfinite(loss):
            raise EvaluationError(f"the supernet's cloning loss became {loss.item()}")
        optim.zero_grad()
        loss.backward()
        optim.step()
        hook.after_step(lambda: skill(batch(val)))
    policy.set_training_mode(False)
    return CloneRun(steps=steps, score=lambda: skill(val))
