"""darts: LACER's DARTS baseline in the RL setting (RL-DARTS): the supernet (`_supernet`) is the
features extractor of a PPO agent trained end to end with PPO; every entry's mixed op is a
``softmax(alpha)``-weighted sum of its family candidates. The architecture weights alpha sit in
their own Adam optimizer, outside PPO's: each PPO update's loss gradient (summed over its epochs and
minibatches) reaches them through the mixed ops, and they take one step per PPO update (first
order: no unrolled second-order term, no separate validation split -- RL-DARTS uses the same RL
loss for both). Then the argmax family of every entry, at its representative setting, is the
derived architecture, trained from scratch by the harness like any candidate.

A family with a width parameter (`_supernet_space.width_params`: sources and the fusion) has its own
architecture weights beta over its width options, a second level below alpha: the family's
candidate is masked by ``sum_i softmax(beta)_i mask_i`` (FBNetV2), beta sits in alpha's optimizer with alpha's
initialization, and the derived architecture takes, for each entry's argmax family, its argmax
width option. A source family with a depth parameter (`_supernet_space.depth_params`) likewise has
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

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import torch
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from evo_lacer.engine._oneshot import Finalist, OneShotStrategy, one_shot_parts
from evo_lacer.engine._strategy import Strategy
from evo_lacer.engine._supernet import (
    build_supernet,
    supernet_policy_kwargs,
)
from evo_lacer.engine._supernet_space import (
    Params,
    depth_key,
    derived_config,
    overrides,
    params_json,
    width_key,
)
from evo_lacer.evaluate._ppo_hook import PPOTrainer

if TYPE_CHECKING:
    from evo_lacer.engine._config import SearchConfig
    from evo_lacer.engine._registry import StrategySpec
    from evo_lacer.engine._wiring import StrategyParts

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
        betas, gammas = _initial(widths, generator), _initial(depths, generator)
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
            choice = {e: families[e][int(torch.argmax(a))] for e, a in alphas.items()}
            chosen, deep = _argmax(betas, widths, choice), _argmax(gammas, depths, choice)
        config = derived_config(self.space, choice, overrides(choice, (widths, chosen), (depths, deep)))
        raw = {e: [float(v) for v in a.detach()] for e, a in alphas.items()}
        result = {"families": families, "alphas": raw, "weights": weights, "choice": choice,
                  "width_params": params_json(widths), "betas": _raw(betas),
                  "width_weights": _option_weights(betas, widths), "widths": chosen,
                  "depth_params": params_json(depths), "gammas": _raw(gammas),
                  "depth_weights": _option_weights(gammas, depths), "depths": deep, "config": config,
                  "supernet_steps": trained, "supernet_unit": self.supernet_unit,
                  "alpha_updates": step.updates,
                  "candidate_equivalents": self.equivalents}
        kept = ("alphas", "weights", "choice", "betas", "width_weights", "widths", "gammas", "depth_weights",
                "depths", "supernet_steps", "supernet_unit", "candidate_equivalents")
        extra = {k: result[k] for k in kept}
        return result, [(config, extra)]


def _rounded(weights: torch.Tensor) -> list[float]:
    return [round(float(w), 6) for w in weights]


Logits = dict[str, dict[str, nn.Parameter]]
"""Entry -> family -> architecture weights over its width (beta) or depth (gamma) options."""


def _initial(params: Params, generator: torch.Generator) -> Logits:
    """Architecture weights over each family's options, drawn as alpha's are."""
    return {e: {f: nn.Parameter(ALPHA_INIT * torch.randn(len(p.options), generator=generator))
                for f, p in fams.items()} for e, fams in params.items()}


def _argmax(logits: Logits, params: Params, choice: Mapping[str, str]) -> dict[str, int]:
    """Entry -> the argmax option of its chosen family (the entries whose family has the parameter)."""
    return {e: params[e][f].options[int(torch.argmax(logits[e][f]))] for e, f in choice.items()
            if f in logits.get(e, {})}


def _option_weights(logits: Logits, params: Params) -> dict[str, dict[str, dict[str, float]]]:
    """Entry -> family -> option -> softmax weight."""
    return {e: {f: dict(zip(map(str, params[e][f].options), _rounded(torch.softmax(w, 0))))
                for f, w in fams.items()} for e, fams in logits.items()}


def _raw(logits: Logits) -> dict[str, dict[str, list[float]]]:
    return {e: {f: [float(v) for v in w.detach()] for f, w in fams.items()} for e, fams in logits.items()}


def build_darts(spec: StrategySpec, config: SearchConfig, parts: StrategyParts) -> Strategy:
    """darts over the flat per-source space, trained through the evaluator's supernet hook."""
    space, trainer = one_shot_parts("darts", config, parts, FINALS)
    return DartsStrategy(name="darts", space=space, trainer=trainer, catalog=parts.catalog, seed=config.seed,
                         budget=config.budget, finals=FINALS)
