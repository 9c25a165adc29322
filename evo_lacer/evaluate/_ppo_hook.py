"""The supernet hook: what a strategy that trains its own PPO agent (darts, enas) needs of the
evaluator. `RLEvaluator` implements it; a user's fitness function (`FunctionEvaluator`) and the
imitation fidelity do not, and those strategies refuse them before spending any budget."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import gymnasium as gym


@runtime_checkable
class PPOTrainer(Protocol):
    """An evaluator that can train a PPO agent with any features extractor (e.g. a supernet)."""

    observation_space: gym.Space
    """The observation space as the agent sees it (wrappers applied)."""
    steps: int
    """PPO env steps of one candidate's evaluation (the unit of the supernet's budget)."""
    eval_max_steps: int | None
    """Steps after which a scoring episode is cut (None: the env's own limit)."""

    def train_ppo(self, policy_kwargs: dict[str, Any], seed: int, steps: int, callback: Any = None) -> Any:
        """Train PPO (``policy_kwargs`` as for SB3) for ``steps`` env steps with an SB3 ``callback``
        on the evaluator's training envs and settings; return the trained SB3 model."""
        ...

    def make_env(self) -> gym.Env:
        """One env as the evaluator trains and scores on."""
        ...

    def train_seed(self, seed: int) -> int:
        """The training env seed for a run seed (never one of the held-out scoring seeds)."""
        ...
