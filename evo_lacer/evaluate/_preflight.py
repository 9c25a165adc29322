"""The checks an RL evaluator runs before any budget is spent: one tiny PPO rollout with the
smallest encoder of the observation's sources (`check_trains`), and how the sources read
(`sources_text`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import gymnasium as gym

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate._envtools import own_random_state, policy_name, space_summary, torch_threads
from evo_lacer.evaluate._make_env import env_name
from evo_lacer.tree import Node

if TYPE_CHECKING:
    from evo_lacer.evaluate._rl import RLEvaluator

_PREFLIGHT_OK: set[str] = set()


_PROBE_OPS = {"vector": ("LinearLayer", {"width": 8}), "sequence": ("MeanPool", {}),
              "image": ("GlobalAvgPool", {}), "tokens": ("EmbedMeanPool", {"dim": 4})}


def probe_tree(space: gym.Space, kinds: Mapping[str, str] | None = None) -> Node:
    """The smallest encoder for ``space``: one parameter-light module per source, concatenated."""
    from evo_lacer.compile import infer_sources
    from evo_lacer.tree import branch, encoder, fusion, module

    sources = infer_sources(space, kinds)
    branches = []
    for name, spec in sources.items():
        op, params = _PROBE_OPS[spec.signal.kind]
        branches.append(branch(name, module(op, **params)))
    return encoder(branches, fusion("ConcatMLP", width=8, depth=1))


def check_trains(evaluator: RLEvaluator) -> None:
    """Train PPO for one rollout of 8 steps with the smallest encoder of the observation's
    sources (`probe_tree`), so the env, its spaces and the compiler's reading of them are
    checked before any budget is spent; raise an `EvaluationError` naming the cause. Passing
    checks are remembered per env setting, in this process."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import Logger

    from evo_lacer.compile import policy_kwargs_for

    key = repr((env_name(evaluator.env), sorted(evaluator.env_kwargs.items()), evaluator.wrappers,
                sorted((evaluator.kinds or {}).items())))
    if key in _PREFLIGHT_OK:
        return
    where = f"env {env_name(evaluator.env)!r}"
    if evaluator.env_kwargs:
        where += f" with {evaluator.env_kwargs}"
    try:
        policy_kwargs = policy_kwargs_for(probe_tree(evaluator.observation_space), evaluator.catalog)
        with torch_threads(evaluator.torch_threads), own_random_state():
            vec = make_vec_env(evaluator.make_env, n_envs=1, seed=0)
            try:
                model = PPO(policy_name(evaluator.observation_space), vec, n_steps=8, batch_size=8,
                            n_epochs=1, seed=0, device=evaluator.device, verbose=0,
                            policy_kwargs=policy_kwargs)
                model.set_logger(Logger(folder=None, output_formats=[]))
                model.learn(total_timesteps=8)
            finally:
                vec.close()
    except Exception as exc:
        raise EvaluationError(
            f"{where} cannot train under PPO, so no candidate could be evaluated: {type(exc).__name__}: "
            f"{exc}. Observation sources: {space_summary(evaluator.observation_space)}. Force a source's "
            "kind with kinds= (--kinds NAME=KIND), or wrap the env (wrappers=, --wrapper module:Name)"
        ) from exc
    _PREFLIGHT_OK.add(key)


def sources_text(space: gym.Space) -> str:
    """The sources of ``space`` with their signal kinds (via the compiler when present)."""
    try:
        from evo_lacer.compile import infer_sources

        return "; ".join(f"{name}: {spec.signal}" for name, spec in infer_sources(space).items())
    except Exception:  # a space the compiler rejects is still worth describing
        pass
    return space_summary(space)
