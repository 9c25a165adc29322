"""What a strategy comparison runs on: the ring road (default) or a MiniGrid / BabyAI level --
the shared evaluator, the flat space, and the reference rows (the scripted expert, SB3's
default extractor)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evo_lacer.evaluate._base import Evaluator

RING_ID = "evo_lacer/RingTraffic-v0"
RING_TASK = ("Reward per control step: Flow's desired-velocity reward (1 when every vehicle drives at the "
             "instruction's target speed, less the further they are from it) minus 0.05 per m/s^2 of the "
             "automated vehicle's acceleration; a collision ends the episode with -10.")
MINIGRID_TASK = ("MiniGrid: the agent sees a 7x7 egocentric grid (object, colour and state ids per cell), "
                 "its direction, and the mission as words; reward 1 - 0.9 * steps / max_steps on success, "
                 "else 0.")
SMALL_IMAGE = 36
"""SB3's NatureCNN needs images of at least 36x36; the CombinedExtractor reference flattens smaller ones."""


def is_ring(env: str) -> bool:
    return env == RING_ID


def is_minigrid(env: str) -> bool:
    return env.split(":")[-1].startswith(("MiniGrid-", "BabyAI-"))


def default_space(env: str) -> str | None:
    """LACER's MiniGrid space for MiniGrid / BabyAI ids, else None (the per-source space)."""
    if is_minigrid(env):
        return str(Path(__file__).resolve().parents[2] / "trees" / "minigrid_space.json")
    return None


def env_kwargs(cfg: Any) -> dict[str, Any]:
    return {"backend": cfg.backend, "horizon": cfg.horizon} if is_ring(cfg.env) else {}


def task_text(env: str) -> str:
    return RING_TASK if is_ring(env) else MINIGRID_TASK if is_minigrid(env) else ""


def task_evaluator(cfg: Any, kinds: dict[str, str] | None = None) -> Evaluator:
    """The evaluator every strategy shares (``kinds``: for the CombinedExtractor reference)."""
    from evo_lacer.evaluate._imitation import ImitationEvaluator
    from evo_lacer.evaluate._rl import RLEvaluator

    if cfg.imitation:
        return ImitationEvaluator(cfg.env, env_kwargs=env_kwargs(cfg), dataset_steps=cfg.dataset_steps,
                                  grad_steps=cfg.grad_steps, batch_size=64, rollout_episodes=1, kinds=kinds,
                                  max_seconds=60.0 if cfg.max_eval_s is None else cfg.max_eval_s,
                                  task=task_text(cfg.env))
    short = cfg.fidelity == "cheap"
    limit = (60.0 if short else 300.0) if cfg.max_eval_s is None else cfg.max_eval_s
    full = RLEvaluator(cfg.env, steps=cfg.steps, n_envs=cfg.n_envs, eval_episodes=cfg.eval_episodes,
                       env_kwargs=env_kwargs(cfg), max_seconds=limit, task=task_text(cfg.env), kinds=kinds,
                       ppo_seeds=cfg.ppo_seeds)
    return full.short(cfg.short_fraction) if short else full


def confirm_evaluator(cfg: Any, kinds: dict[str, str] | None = None) -> Any:
    from evo_lacer.evaluate._rl import RLEvaluator

    return RLEvaluator(cfg.env, steps=cfg.confirm_steps or cfg.steps, n_envs=cfg.n_envs,
                       eval_episodes=cfg.eval_episodes, env_kwargs=env_kwargs(cfg),
                       feedback=("reward", "metrics"), kinds=kinds)


def small_images(space: Any) -> dict[str, str]:
    """Image sources smaller than NatureCNN takes, to be flattened (``kinds``) for SB3's default."""
    from evo_lacer.compile import infer_sources

    out = {}
    for name, spec in infer_sources(space).items():
        sig = spec.signal
        if sig.kind == "image" and min(sig.shape()[1:]) < SMALL_IMAGE:
            out[name] = "vector"
    return out


def expert_score(scorer: Any) -> float | None:
    """Mean held-out reward of the env's scripted expert (bound to the scoring env); None
    when evo-lacer knows no expert for it."""
    from evo_lacer.evaluate._envtools import rollout
    from evo_lacer.evaluate._experts import auto_expert

    env = scorer.make_env()
    try:
        expert = auto_expert(env)
        if expert is None:
            return None
        return float(rollout(env, expert, scorer.held_out_seeds, keep_obs=False).summary()["reward"])
    finally:
        env.close()


def references(cfg: Any, evaluator: Any, log: Callable[[str], None]) -> list[Any]:
    """The scripted expert and SB3's CombinedExtractor, scored like the candidates."""
    from evo_lacer.compare._comparison import Reference

    scorer = confirm_evaluator(cfg)
    name = "expert controller" if is_ring(cfg.env) else "BabyAI bot" if "BabyAI-" in cfg.env else "expert"
    expert = Reference(name, note="scripted; imitation skill 1 by definition" if cfg.imitation
                       else "scripted")
    reward = expert_score(scorer)
    if reward is not None:
        expert.reward.append(reward)
        expert.fitness.append(1.0 if cfg.imitation else reward)
    flatten = small_images(evaluator.observation_space)
    note = "default extractor, same fidelity and budget"
    if flatten:
        note += (f"; {sorted(flatten)} flattened (NatureCNN needs images of {SMALL_IMAGE}x{SMALL_IMAGE} "
                 "or more)")
        evaluator, scorer = task_evaluator(cfg, flatten), confirm_evaluator(cfg, flatten)
    combined = Reference("SB3 CombinedExtractor", note=note)
    for seed in range(cfg.seeds):
        fb = evaluator.baseline(seed)
        log(f"reference CombinedExtractor seed {seed}: {fb.status.value} {fb.fitness} {fb.error[:120]}")
        if fb.ok:
            combined.fitness.append(float(fb.fitness))
            combined.reward.append(float(fb.metrics.get("reward", math.nan)))
        if cfg.confirm_steps > 0:
            ppo = scorer.baseline(seed)
            combined.confirm.append(float(ppo.fitness) if ppo.ok else math.nan)
    return [expert, combined] if reward is not None else [combined]
