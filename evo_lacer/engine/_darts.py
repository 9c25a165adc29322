"""darts: LACER's DARTS baseline in the RL setting (RL-DARTS): the supernet (`_supernet`) is the
features extractor of a PPO agent trained end to end with PPO; every entry's mixed op is a
``softmax(alpha)``-weighted sum of its family candidates. The architecture weights alpha sit in
their own Adam optimizer, outside PPO's: each PPO update's loss gradient (summed over its epochs and
minibatches) reaches them through the mixed ops, and they take one step per PPO update (first
order: no unrolled second-order term, no separate validation split -- RL-DARTS uses the same RL
loss for both). Then the argmax family of every entry, at its representative setting, is the
derived architecture, trained from scratch by the harness like any candidate.

A family with a width parameter (`_supernet.width_params`: sources and the fusion) has its own
architecture weights beta over its width options, a second level below alpha: the family's
candidate is masked by ``sum_i softmax(beta)_i mask_i`` (FBNetV2), beta sits in alpha's optimizer with alpha's
initialization, and the derived architecture takes, for each entry's argmax family, its argmax
width option. A source family with a depth parameter (`_supernet.depth_params`) likewise has
weights gamma over its depth options (the mix of its weighted exits, ``softmax(gamma)``), in the
same optimizer, and the derived architecture takes the argmax depth of each entry's argmax family.

At the cheap fidelity the supernet is the features extractor of the cloned policy instead (the
imitation evaluator's `CloneTrainer` hook) and alpha takes one step per cloning gradient step, on
the gradient the training loss left in it -- first-order DARTS with the same loss for both, as in
the RL setting.

Budget: with budget N the supernet trains for ``(N - 1)`` candidates' steps (PPO env steps, or
cloning gradient steps), and the derived architecture is the one evaluation (see `_oneshot`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from evo_lacer.engine._oneshot import Finalist, OneShotStrategy, one_shot_parts
from evo_lacer.engine._strategy import Strategy
from evo_lacer.engine._supernet import (
    build_supernet,
    depth_key,
    depth_settings,
    depths_json,
    derived_config,
    merged,
    supernet_policy_kwargs,
    width_key,
    width_settings,
    widths_json,
)
from evo_lacer.evaluate._ppo_hook import PPOTrainer

if TYPE_CHECKING:
    from evo_lacer.engine._build import StrategyParts
    from evo_lacer.engine._config import SearchConfig
    from evo_lacer.engine._registry import StrategySpec

ALPHA_LR = 3e-3
"""Adam learning rate of alpha (DARTS: 3e-4 over many more updates than a search budget here gives)."""
ALPHA_BETAS = (0.5, 0.999)
ALPHA_DECAY = 1e-3
"""Adam weight decay of alpha (as DARTS)."""
ALPHA_INIT = 1e-3
"""Alpha starts as ``ALPHA_INIT * N(0, 1)`` (as DARTS), seeded by the run seed."""
FINALS = 1


class AlphaStep(BaseCallback):
    """Steps the alpha optimizer once per PPO update, on the gradient PPO's loss left in alpha."""

    def __init__(self, optimizer: torch.optim.Optimizer, alphas: list[nn.Parameter]) -> None:
        super().__init__()
        self.optimizer, self.alphas = optimizer, alphas
        self.updates = 0

    def apply(self) -> None:
        """One step on the accumulated gradient, if any (none before the first PPO update)."""
        if all(a.grad is None for a in self.alphas):
            return
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.updates += 1

    def _on_rollout_start(self) -> None:  # right after the previous PPO update
        self.apply()

    def _on_step(self) -> bool:
        return True


class AlphaHook:
    """The cloning hook of darts: one alpha step after every gradient step."""

    def __init__(self, step: AlphaStep) -> None:
        self.step = step

    def before_step(self) -> None:
        pass

    def after_step(self, reward: Callable[[], float]) -> None:
        self.step.apply()


class DartsStrategy(OneShotStrategy):
    """RL-DARTS over the flat per-source space (module docstring)."""

    def search_phase(self) -> tuple[dict[str, Any], list[Finalist]]:
        net, families, widths, depths = build_supernet(self.space, self.trainer.observation_space,
                                                       self.catalog, self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        alphas = {e: nn.Parameter(ALPHA_INIT * torch.randn(len(f), generator=generator))
                  for e, f in families.items()}
        betas = {e: {f: nn.Parameter(ALPHA_INIT * torch.randn(len(w.options), generator=generator))
                     for f, w in fams.items()} for e, fams in widths.items()}
        gammas = {e: {f: nn.Parameter(ALPHA_INIT * torch.randn(len(d.options), generator=generator))
                      for f, d in fams.items()} for e, fams in depths.items()}
        arch = {**alphas, **{width_key(e, f): b for e, fams in betas.items() for f, b in fams.items()},
                **{depth_key(e, f): g for e, fams in gammas.items() for f, g in fams.items()}}
        net.mixing = lambda key: torch.softmax(arch[key], 0)
        optimizer = torch.optim.Adam(list(arch.values()), lr=ALPHA_LR, betas=ALPHA_BETAS,
                                     weight_decay=ALPHA_DECAY)
        step = AlphaStep(optimizer, list(arch.values()))
        steps = self.equivalents * self.unit_steps
        if isinstance(self.trainer, PPOTrainer):
            model = self.trainer.train_ppo(supernet_policy_kwargs(net), self.seed, steps, step)
            step.apply()  # the last PPO update's gradient
            trained = int(model.num_timesteps)
        else:
            hook = AlphaHook(step)
            trained = self.trainer.train_clone(supernet_policy_kwargs(net), self.seed, steps, hook).steps
        with torch.no_grad():
            weights = {e: dict(zip(families[e], _rounded(torch.softmax(a, 0)))) for e, a in alphas.items()}
            width_weights = {e: {f: dict(zip(map(str, widths[e][f].options), _rounded(torch.softmax(b, 0))))
                                 for f, b in fams.items()} for e, fams in betas.items()}
            choice = {e: families[e][int(torch.argmax(a))] for e, a in alphas.items()}
            chosen = {e: widths[e][f].options[int(torch.argmax(betas[e][f]))] for e, f in choice.items()
                      if f in betas.get(e, {})}
            depth_weights = {e: {f: dict(zip(map(str, depths[e][f].options), _rounded(torch.softmax(g, 0))))
                                 for f, g in fams.items()} for e, fams in gammas.items()}
            deep = {e: depths[e][f].options[int(torch.argmax(gammas[e][f]))] for e, f in choice.items()
                    if f in gammas.get(e, {})}
        config = derived_config(self.space, choice, merged(width_settings(widths, choice, chosen),
                                                           depth_settings(depths, choice, deep)))
        raw = {e: [float(v) for v in a.detach()] for e, a in alphas.items()}
        raw_betas = {e: {f: [float(v) for v in b.detach()] for f, b in fams.items()}
                     for e, fams in betas.items()}
        raw_gammas = {e: {f: [float(v) for v in g.detach()] for f, g in fams.items()}
                      for e, fams in gammas.items()}
        result = {"families": families, "alphas": raw, "weights": weights, "choice": choice,
                  "width_params": widths_json(widths), "betas": raw_betas, "width_weights": width_weights,
                  "widths": chosen, "depth_params": depths_json(depths), "gammas": raw_gammas,
                  "depth_weights": depth_weights, "depths": deep, "config": config,
                  "supernet_steps": trained, "supernet_unit": "grad_steps" if self.clones else "env_steps",
                  "alpha_updates": step.updates,
                  "candidate_equivalents": self.equivalents}
        kept = ("alphas", "weights", "choice", "betas", "width_weights", "widths", "gammas", "depth_weights",
                "depths", "supernet_steps", "supernet_unit", "candidate_equivalents")
        extra = {k: result[k] for k in kept}
        return result, [(config, extra)]


def _rounded(weights: torch.Tensor) -> list[float]:
    return [round(float(w), 6) for w in weights]


def build_darts(spec: StrategySpec, config: SearchConfig, parts: StrategyParts) -> Strategy:
    """darts over the flat per-source space, trained through the evaluator's supernet hook."""
    space, trainer = one_shot_parts("darts", config, parts, FINALS)
    return DartsStrategy(name="darts", space=space, trainer=trainer, catalog=parts.catalog, seed=config.seed,
                         budget=config.budget, finals=FINALS)
