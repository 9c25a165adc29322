"""enas: LACER's ENAS baseline in the RL setting: a controller samples one architecture (a family per
entry of the flat space, and the width and the depth of that family where it has a width or a depth
parameter) for every PPO update of the weight-sharing supernet (`_supernet`: only the sampled family
of each entry runs, up to the sampled depth's exit, masked to the sampled width). The shared
weights are trained by PPO on the sampled child's rollout; the controller by REINFORCE on that
child's return under the shared weights -- the mean per-step reward of the rollout it collected
(training seeds; the held-out episodes stay the harness's) -- with a moving-average baseline and an
entropy bonus.

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
from evo_lacer.engine._supernet import (
    SuperNet,
    build_supernet,
    supernet_policy_kwargs,
)
from evo_lacer.engine._supernet_space import (
    Depths,
    Params,
    Widths,
    depth_key,
    derived_config,
    overrides,
    params_json,
    width_key,
)
from evo_lacer.evaluate._envtools import rollout, torch_threads
from evo_lacer.evaluate._ppo_hook import PPOTrainer

if TYPE_CHECKING:
    from evo_lacer.engine._config import SearchConfig
    from evo_lacer.engine._registry import StrategySpec
    from evo_lacer.engine._wiring import StrategyParts

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


Sample = tuple[dict[str, int], torch.Tensor, torch.Tensor]
"""A sampled child: mixing key -> index (`Controller.sample`), its log-probability, its entropy."""
Named = tuple[dict[str, str], dict[str, int], dict[str, int]]
"""A child by name: entry -> family, entry -> width (the entries whose family has a width), entry ->
depth (the entries whose family has a depth)."""


class Controller:
    """Independent per-decision logits: one categorical over the families of each entry, one over the
    width options of each family that has a width parameter (`_supernet_space.width_params`: sources and
    the fusion), and one over the depth options of each source family that has a depth parameter
    (`_supernet_space.depth_params`)."""

    def __init__(self, families: dict[str, list[str]], widths: Widths, depths: Depths | None = None) -> None:
        self.families, self.widths, self.depths = families, widths, depths or {}
        self.logits = {e: nn.Parameter(torch.zeros(len(f))) for e, f in families.items()}
        for params, key in ((widths, width_key), (self.depths, depth_key)):
            self.logits.update({key(e, f): nn.Parameter(torch.zeros(len(p.options)))
                                for e, fams in params.items() for f, p in fams.items()})

    def sample(self, generator: torch.Generator) -> Sample:
        """(mixing key -> index: each entry's family, then that family's width and depth where it has
        them; the log-probability of the decisions drawn; their entropy)."""
        choice: dict[str, int] = {}
        log_p, entropy = torch.zeros(()), torch.zeros(())
        for e, fams in self.families.items():
            family = fams[self._draw(e, choice, generator)]
            keys = [e]
            if family in self.widths.get(e, {}):  # then the width of the family drawn
                keys.append(width_key(e, family))
                self._draw(keys[-1], choice, generator)
            if family in self.depths.get(e, {}):  # and its depth
                keys.append(depth_key(e, family))
                self._draw(keys[-1], choice, generator)
            for key in keys:
                log_probs = torch.log_softmax(self.logits[key], 0)
                log_p = log_p + log_probs[choice[key]]
                entropy = entropy - (log_probs.exp() * log_probs).sum()
        return choice, log_p, entropy

    def _draw(self, key: str, choice: dict[str, int], generator: torch.Generator) -> int:
        """Draw decision `key` from its logits into `choice`; the index drawn."""
        with torch.no_grad():
            choice[key] = int(torch.multinomial(torch.softmax(self.logits[key], 0), 1, generator=generator))
        return choice[key]

    def named(self, choice: dict[str, int]) -> Named:
        """A sampled choice by name: (entry -> family, entry -> width value, entry -> depth value)."""
        families = {e: self.families[e][choice[e]] for e in self.families}

        def values(params: Params, key: Callable[[str, str], str]) -> dict[str, int]:
            return {e: params[e][f].options[choice[key(e, f)]] for e, f in families.items()
                    if key(e, f) in choice}

        return families, values(self.widths, width_key), values(self.depths, depth_key)

    def probabilities(self) -> dict[str, dict[str, float]]:
        """Entry -> family -> probability."""
        with torch.no_grad():
            return {e: dict(zip(f, self._probabilities(e))) for e, f in self.families.items()}

    def width_probabilities(self) -> dict[str, dict[str, dict[str, float]]]:
        """Entry -> family -> width option -> probability (the families with a width parameter)."""
        return self._option_probabilities(self.widths, width_key)

    def depth_probabilities(self) -> dict[str, dict[str, dict[str, float]]]:
        """Entry -> family -> depth option -> probability (the families with a depth parameter)."""
        return self._option_probabilities(self.depths, depth_key)

    def _option_probabilities(self, params: Params, key: Callable[[str, str], str]
                              ) -> dict[str, dict[str, dict[str, float]]]:
        with torch.no_grad():
            return {e: {f: dict(zip(map(str, p.options), self._probabilities(key(e, f))))
                        for f, p in fams.items()} for e, fams in params.items()}

    def _probabilities(self, key: str) -> list[float]:
        return [round(float(p), 6) for p in torch.softmax(self.logits[key], 0)]


class ControllerStep(BaseCallback):
    """Samples a child at each rollout's start; a REINFORCE step on its rollout's reward at the end."""

    def __init__(self, controller: Controller, net: SuperNet, generator: torch.Generator) -> None:
        super().__init__()
        self.controller, self.net, self.generator = controller, net, generator
        self.optimizer = torch.optim.Adam(list(controller.logits.values()), lr=CONTROLLER_LR)
        self.baseline: float | None = None
        self.sampled: Sample | None = None
        self.rewards: list[float] = []

    def begin(self) -> None:
        """Sample a child and make the supernet run it."""
        self.sampled = self.controller.sample(self.generator)
        choice = self.sampled[0]
        self.net.mixing = lambda key: choice[key]

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
        net, families, widths, depths = build_supernet(self.space, self.trainer.observation_space,
                                                       self.catalog, self.seed)
        controller = Controller(families, widths, depths)
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
        probabilities, width_probabilities = controller.probabilities(), controller.width_probabilities()
        depth_probabilities = controller.depth_probabilities()
        sampled: list[dict[str, Any]] = [{"choice": choice, "widths": chosen, "depths": deep,
                                          "shared_score": score} for (choice, chosen, deep), score in scored]
        finalists = sampled[:self.finals]
        result = {"families": families, "width_params": params_json(widths),
                  "depth_params": params_json(depths), "probabilities": probabilities,
                  "width_probabilities": width_probabilities, "depth_probabilities": depth_probabilities,
                  "sampled": sampled,
                  "finalists": finalists, "rewards": step.rewards, "baseline": step.baseline,
                  "supernet_steps": trained, "supernet_unit": self.supernet_unit,
                  "score_steps": score_steps, "candidate_equivalents": self.equivalents}
        out: list[Finalist] = []
        for rank, item in enumerate(finalists):
            extra = {"probabilities": probabilities, "width_probabilities": width_probabilities,
                     "depth_probabilities": depth_probabilities, "choice": item["choice"],
                     "widths": item["widths"], "depths": item["depths"], "rank": rank,
                     "shared_score": item["shared_score"], "finalists": finalists,
                     "supernet_steps": trained, "supernet_unit": self.supernet_unit,
                     "score_steps": score_steps,
                     "candidate_equivalents": self.equivalents}
            values = overrides(item["choice"], (widths, item["widths"]), (depths, item["depths"]))
            config = derived_config(self.space, item["choice"], values)
            out.append((config, extra))
        return result, out

    def _score(self, score: Callable[[], tuple[float, int]], net: SuperNet, controller: Controller,
               generator: torch.Generator) -> tuple[list[tuple[Named, float]], int]:
        """The distinct sampled architectures (by name: `Controller.named`) with their shared-weight
        scores (``score()`` with the supernet running each: (score, env steps it took)), best first
        (ties: the earlier sample); the env steps the scoring took."""
        choices: list[dict[str, int]] = []
        for _ in range(SAMPLES):
            choice = controller.sample(generator)[0]
            if choice not in choices:
                choices.append(choice)
        scored: list[tuple[Named, float]] = []
        steps = 0
        with torch_threads(getattr(self.trainer, "torch_threads", 1)):
            for choice in choices:
                net.mixing = lambda key, c=choice: c[key]  # type: ignore[misc]
                value, spent = score()
                steps += spent
                scored.append((controller.named(choice), round(float(value), 6)))
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
