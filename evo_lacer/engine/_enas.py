"""enas: LACER's ENAS baseline in the RL setting: a controller samples one architecture (a family per
entry of the flat space) for every PPO update of the weight-sharing supernet (`_supernet`: only
the sampled family of each entry runs). The shared weights are trained by PPO on the sampled
child's rollout; the controller by REINFORCE on that child's return under the shared weights -- the
mean per-step reward of the rollout it collected (training seeds; the held-out episodes stay the
harness's) -- with a moving-average baseline and an entropy bonus.

At the cheap fidelity the supernet is the features extractor of the cloned policy instead (the
imitation evaluator's `CloneTrainer` hook): a child is sampled for every cloning gradient step,
and the controller's reward is that child's imitation skill on a batch of validation episodes (the
last fifth of the training episodes, as ENAS rewards the controller on validation data).

At the end, `SAMPLES` architectures are sampled from the controller, each distinct one is scored
under the shared weights (one deterministic episode on the training seed; at the cheap fidelity,
the imitation skill on every validation row), and the best `FINALS`
become candidates, trained from scratch and scored by the harness like any other; the run's best
is the best of them. Budget: with budget N the supernet trains for ``(N - FINALS)`` candidates'
steps (see `_oneshot`); the scoring episodes' steps are counted apart (``score_steps``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from evo_lacer.engine._oneshot import Finalist, OneShotStrategy, one_shot_parts
from evo_lacer.engine._strategy import Strategy
from evo_lacer.engine._supernet import SuperNet, build_supernet, derived_config, supernet_policy_kwargs
from evo_lacer.evaluate._envtools import rollout, torch_threads
from evo_lacer.evaluate._ppo_hook import PPOTrainer

if TYPE_CHECKING:
    from evo_lacer.engine._build import StrategyParts
    from evo_lacer.engine._config import SearchConfig
    from evo_lacer.engine._registry import StrategySpec

CONTROLLER_LR = 0.05
"""Adam learning rate of the controller's logits (few updates: one per PPO update)."""
BASELINE_DECAY = 0.9
"""The reward baseline: ``b <- decay * b + (1 - decay) * R`` (starts at the first reward)."""
ENTROPY_WEIGHT = 0.01
"""Weight of the controller's entropy bonus."""
SAMPLES = 8
"""Architectures sampled from the trained controller and scored under the shared weights."""
FINALS = 2
"""Of those, the best ones trained from scratch (fewer when the budget or the distinct samples are)."""


class Controller:
    """Independent per-decision logits (one categorical over the families of each entry)."""

    def __init__(self, families: dict[str, list[str]]) -> None:
        self.families = families
        self.logits = {e: nn.Parameter(torch.zeros(len(f))) for e, f in families.items()}

    def sample(self, generator: torch.Generator) -> tuple[dict[str, int], torch.Tensor, torch.Tensor]:
        """(entry -> family index, the log-probability of the choice, the entropy)."""
        choice: dict[str, int] = {}
        log_p, entropy = torch.zeros(()), torch.zeros(())
        for e, logits in self.logits.items():
            log_probs = torch.log_softmax(logits, 0)
            k = int(torch.multinomial(log_probs.exp().detach(), 1, generator=generator))
            choice[e] = k
            log_p = log_p + log_probs[k]
            entropy = entropy - (log_probs.exp() * log_probs).sum()
        return choice, log_p, entropy

    def probabilities(self) -> dict[str, dict[str, float]]:
        with torch.no_grad():
            return {e: dict(zip(self.families[e], (round(float(p), 6) for p in torch.softmax(lg, 0))))
                    for e, lg in self.logits.items()}


class ControllerStep(BaseCallback):
    """Samples a child at each rollout's start; a REINFORCE step on its rollout's reward at the end."""

    def __init__(self, controller: Controller, net: SuperNet, generator: torch.Generator) -> None:
        super().__init__()
        self.controller, self.net, self.generator = controller, net, generator
        self.optimizer = torch.optim.Adam(list(controller.logits.values()), lr=CONTROLLER_LR)
        self.baseline: float | None = None
        self.sampled: tuple[dict[str, int], torch.Tensor, torch.Tensor] | None = None
        self.rewards: list[float] = []

    def begin(self) -> None:
        """Sample a child and make the supernet run it."""
        self.sampled = self.controller.sample(self.generator)
        choice = self.sampled[0]
        self.net.mixing = lambda entry: choice[entry]

    def end(self, reward: float) -> None:
        """A REINFORCE step of the controller on the sampled child's reward."""
        assert self.sampled is not None
        baseline = reward if self.baseline is None else self.baseline
        _, log_p, entropy = self.sampled
        loss = -log_p * (reward - baseline) - ENTROPY_WEIGHT * entropy
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.baseline = BASELINE_DECAY * baseline + (1 - BASELINE_DECAY) * reward
        self.rewards.append(round(reward, 6))

    def _on_rollout_start(self) -> None:
        self.begin()

    def _on_rollout_end(self) -> None:
        buffer: Any = self.model.rollout_buffer  # type: ignore[attr-defined]
        self.end(float(np.mean(buffer.rewards)))

    def _on_step(self) -> bool:
        return True

    # --- the cloning hook (the cheap fidelity) ------------------------------------------------
    def before_step(self) -> None:
        self.begin()

    def after_step(self, reward: Callable[[], float]) -> None:
        self.end(reward())


class EnasStrategy(OneShotStrategy):
    """ENAS over the flat per-source space with a per-decision controller (module docstring)."""

    def search_phase(self) -> tuple[dict[str, Any], list[Finalist]]:
        net, families = build_supernet(self.space, self.trainer.observation_space, self.catalog, self.seed)
        controller = Controller(families)
        generator = torch.Generator().manual_seed(self.seed)
        step = ControllerStep(controller, net, generator)
        steps = self.equivalents * self.unit_steps
        if isinstance(self.trainer, PPOTrainer):
            model = self.trainer.train_ppo(supernet_policy_kwargs(net), self.seed, steps, step)
            trained = int(model.num_timesteps)
            scored, score_steps = self._score(self._episode_scorer(model), net, controller, generator)
        else:
            run = self.trainer.train_clone(supernet_policy_kwargs(net), self.seed, steps, step)
            trained, score_steps = run.steps, 0
            scored, _ = self._score(lambda: (run.score(), 0), net, controller, generator)
        probabilities = controller.probabilities()
        finalists: list[dict[str, Any]] = [{"choice": choice, "shared_score": score}
                                           for choice, score in scored[:self.finals]]
        result = {"families": families, "probabilities": probabilities,
                  "sampled": [{"choice": c, "shared_score": s} for c, s in scored],
                  "finalists": finalists, "rewards": step.rewards, "baseline": step.baseline,
                  "supernet_steps": trained, "supernet_unit": "grad_steps" if self.clones else "env_steps",
                  "score_steps": score_steps, "candidate_equivalents": self.equivalents}
        out: list[Finalist] = []
        for rank, item in enumerate(finalists):
            extra = {"probabilities": probabilities, "choice": item["choice"], "rank": rank,
                     "shared_score": item["shared_score"], "finalists": finalists,
                     "supernet_steps": trained, "supernet_unit": result["supernet_unit"],
                     "score_steps": score_steps,
                     "candidate_equivalents": self.equivalents}
            out.append((derived_config(self.space, item["choice"]), extra))
        return result, out

    def _score(self, score: Callable[[], tuple[float, int]], net: SuperNet, controller: Controller,
               generator: torch.Generator) -> tuple[list[tuple[dict[str, str], float]], int]:
        """The distinct sampled architectures with their shared-weight scores (``score()`` with the
        supernet running each: (score, env steps it took)), best first (ties: the earlier sample);
        the env steps the scoring took."""
        choices: list[dict[str, int]] = []
        for _ in range(SAMPLES):
            choice = controller.sample(generator)[0]
            if choice not in choices:
                choices.append(choice)
        scored: list[tuple[dict[str, str], float]] = []
        steps = 0
        with torch_threads(getattr(self.trainer, "torch_threads", 1)):
            for choice in choices:
                net.mixing = lambda entry, c=choice: c[entry]  # type: ignore[misc]
                value, spent = score()
                steps += spent
                named = {e: controller.families[e][k] for e, k in choice.items()}
                scored.append((named, round(float(value), 6)))
        order = sorted(range(len(scored)), key=lambda i: (-scored[i][1], i))
        return [scored[i] for i in order], steps

    def _episode_scorer(self, model: Any) -> Callable[[], tuple[float, int]]:
        """The RL score under the shared weights: one deterministic episode on the training seed."""
        assert isinstance(self.trainer, PPOTrainer)
        trainer = self.trainer
        limit = {} if trainer.eval_max_steps is None else {"max_steps": trainer.eval_max_steps}
        seeds = [trainer.train_seed(self.seed)]

        def score() -> tuple[float, int]:
            env = trainer.make_env()
            try:
                roll = rollout(env, lambda obs: model.predict(obs, deterministic=True)[0], seeds,
                               keep_obs=False, **limit)
            finally:
                env.close()
            return float(roll.summary()["reward"]), roll.steps

        return score


def build_enas(spec: StrategySpec, config: SearchConfig, parts: StrategyParts) -> Strategy:
    """enas over the flat per-source space, trained through the evaluator's supernet hook."""
    finals = max(1, min(FINALS, config.budget - 1))
    space, trainer = one_shot_parts("enas", config, parts, finals)
    return EnasStrategy(name="enas", space=space, trainer=trainer, catalog=parts.catalog, seed=config.seed,
                        budget=config.budget, finals=finals)
