"""Env plumbing shared by the evaluators (building an env: `evo_lacer.evaluate._make_env`): roll a
policy out on held-out seeds, collect task metrics and probe targets from ``info``, and read the
encoder's branch outputs on a batch of observations."""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate._features import feature_statistics

PROBE_KEY = "probe_targets"
"""The ``info`` entry holding a dict of ground-truth floats for the linear probes."""


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run a block with ``n`` torch threads (unchanged when None), then restore."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def own_random_state() -> Iterator[None]:
    """Restore Python's, NumPy's and torch's global random states after the block (SB3 seeds
    all three globally; an evaluator must not change its caller's random streams)."""
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def numeric_items(info: Mapping[str, Any]) -> dict[str, float]:
    """The finite int/float entries of an ``info`` dict (bools, dicts and arrays skipped)."""
    out: dict[str, float] = {}
    for key, value in info.items():
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            continue
        v = float(value)
        if math.isfinite(v):
            out[str(key)] = v
    return out


def stack_obs(obs: list[Any]) -> Any:
    """A batch (leading axis) from a list of observations (dicts of arrays or arrays)."""
    if obs and isinstance(obs[0], dict):
        return {k: np.stack([np.asarray(o[k]) for o in obs]) for k in obs[0]}
    return np.stack([np.asarray(o) for o in obs])


def take_obs(batch: Any, rows: Any) -> Any:
    if isinstance(batch, dict):
        return {k: v[rows] for k, v in batch.items()}
    return batch[rows]


def obs_probe_targets(batch: Any, space: gym.Space, max_dims: int = 8) -> dict[str, np.ndarray]:
    """Fallback probe targets when the env gives none: the entries of small flat Box sources
    (``obs.<source>[i]``), i.e. how much of the raw input the features retain linearly."""
    items = batch.items() if isinstance(batch, dict) else [("", batch)]
    subspaces = space.spaces if isinstance(space, spaces.Dict) else {"": space}
    out: dict[str, np.ndarray] = {}
    for key, values in items:
        sub = subspaces.get(key)
        if not isinstance(sub, spaces.Box) or len(sub.shape) != 1 or sub.shape[0] > max_dims:
            continue
        arr = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        for i in range(arr.shape[1]):
            out[f"obs.{key}[{i}]" if key else f"obs[{i}]"] = arr[:, i]
    return out


@dataclass
class Rollouts:
    """What held-out episodes produced: returns, averaged metrics, observations, probes."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    obs: list[Any] = field(default_factory=list)
    probes: dict[str, list[float]] = field(default_factory=dict)
    groups: list[int] = field(default_factory=list)
    steps: int = 0

    def summary(self) -> dict[str, float]:
        """``reward`` (mean episodic return), ``reward_std``, ``episode_length`` and the task
        metrics (per-step ``info`` values averaged within, then across episodes)."""
        out = {
            "reward": float(np.mean(self.returns)),
            "reward_std": float(np.std(self.returns)),
            "episode_length": float(np.mean(self.lengths)),
        }
        out.update(self.metrics)
        return out

    def probe_arrays(self) -> dict[str, np.ndarray]:
        n = len(self.obs)
        return {k: np.asarray(v, np.float64) for k, v in self.probes.items() if len(v) == n}


def rollout(
    env: gym.Env,
    act: Callable[[Any], Any],
    seeds: Iterable[int],
    *,
    keep_obs: bool = True,
    max_steps: int = 100_000,
    total_steps: int | None = None,
) -> Rollouts:
    """Run ``act`` for one episode per seed (at most ``max_steps`` steps each, and stop once
    ``total_steps`` steps are done); keep every observation and the probe targets."""
    out = Rollouts()
    per_episode: list[dict[str, float]] = []
    for episode, seed in enumerate(seeds):
        if total_steps is not None and out.steps >= total_steps:
            break
        obs, info = env.reset(seed=seed)
        total, sums, count = 0.0, dict[str, float](), 0
        limit = max_steps if total_steps is None else min(max_steps, total_steps - out.steps)
        for _ in range(limit):
            if keep_obs:
                out.obs.append(obs)
                out.groups.append(episode)
                probes = info.get(PROBE_KEY)  # the info that came with `obs` describes its state
                if isinstance(probes, Mapping):
                    for k, v in numeric_items(probes).items():
                        out.probes.setdefault(k, []).append(v)
            obs, reward, terminated, truncated, info = env.step(env_action(act(obs), env.action_space))
            total += float(reward)
            count += 1
            for k, v in numeric_items(info).items():
                sums[k] = sums.get(k, 0.0) + v
            if terminated or truncated:
                break
        out.returns.append(total)
        out.lengths.append(count)
        out.steps += count
        per_episode.append({k: v / max(count, 1) for k, v in sums.items()})
    keys = set.intersection(*(set(m) for m in per_episode)) if per_episode else set()
    out.metrics = {k: float(np.mean([m[k] for m in per_episode])) for k in sorted(keys)}
    # a probe target is usable only when every kept observation came with it
    out.probes = {k: v for k, v in out.probes.items() if len(v) == len(out.obs)}
    return out


def env_action(action: Any, space: gym.Space) -> Any:
    """A policy's action as the env expects it: a Python int for ``Discrete`` spaces (SB3's
    ``predict`` gives a 0-d array, which dict-based envs such as FrozenLake cannot look up)."""
    if isinstance(space, spaces.Discrete):
        return int(np.asarray(action).reshape(-1)[0])
    return action


def eval_seeds(base: int, episodes: int) -> list[int]:
    return [base + k for k in range(episodes)]


def _tree_encoder(extractor: torch.nn.Module) -> torch.nn.Module | None:
    """The compiled encoder inside ``extractor``: the first submodule with a ``branches``
    ``ModuleDict`` (``TreeEncoder``), or None (e.g. SB3's ``CombinedExtractor``)."""
    for mod in extractor.modules():
        if isinstance(getattr(mod, "branches", None), torch.nn.ModuleDict):
            return mod
    return None


def branch_outputs(extractor: torch.nn.Module, obs: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Per-branch outputs and final features of an extractor on preprocessed ``obs``, in one
    forward pass: forward hooks record the outputs of the encoder's ``branches`` (for SB3's
    ``CombinedExtractor``, its per-key ``extractors``)."""
    encoder = _tree_encoder(extractor)
    branches = encoder.branches if encoder is not None else getattr(extractor, "extractors", None)
    recorded: dict[str, torch.Tensor] = {}
    handles = []
    if isinstance(branches, torch.nn.ModuleDict):
        for name, mod in branches.items():
            def hook(_m: Any, _i: Any, out: Any, name: str = name) -> None:
                if isinstance(out, torch.Tensor):
                    recorded[name] = out
            handles.append(mod.register_forward_hook(hook))
    try:
        fused = extractor(obs)
    finally:
        for h in handles:
            h.remove()
    return recorded, fused


def sb3_view(space: gym.Space) -> gym.Space:
    """The observation space an SB3 policy sees: image sources moved channels-first, as
    SB3's ``VecTransposeImage`` does when any image source is channels-last."""
    from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
    from stable_baselines3.common.vec_env import VecTransposeImage

    def last(sub: gym.Space) -> bool:
        return is_image_space(sub) and not is_image_space_channels_first(sub)  # type: ignore[arg-type]

    if isinstance(space, spaces.Dict):
        if not any(last(sub) for sub in space.spaces.values()):
            return space
        return spaces.Dict({
            k: VecTransposeImage.transpose_space(sub, k) if is_image_space(sub) else sub  # type: ignore[arg-type]
            for k, sub in space.spaces.items()
        })
    return VecTransposeImage.transpose_space(space) if last(space) else space  # type: ignore[arg-type]


def warm_up(policy_kwargs: Mapping[str, Any], space: gym.Space) -> None:
    """Build the features extractor once, off the global random stream, so that the seeded
    build that follows draws the same weights whatever was built before in this process (the
    compiler's shape inference draws random probes only on its cache misses)."""
    cls = policy_kwargs.get("features_extractor_class")
    if cls is None:
        return
    with torch.random.fork_rng(devices=[]):
        cls(space, **dict(policy_kwargs.get("features_extractor_kwargs") or {}))


def policy_name(space: gym.Space) -> str:
    return "MultiInputPolicy" if isinstance(space, spaces.Dict) else "MlpPolicy"


def space_summary(space: gym.Space) -> str:
    """``name: Box(...)`` per source, for prompts."""
    if isinstance(space, spaces.Dict):
        return "; ".join(f"{k}: {v}" for k, v in space.spaces.items())
    return str(space)


def encoder_statistics(
    encode: Callable[[Any], tuple[dict[str, torch.Tensor], torch.Tensor]],
    batch: Any,
    n: int,
    targets: Mapping[str, np.ndarray],
    groups: Any,
    chunk: int = 256,
) -> dict[str, float]:
    """Feature statistics of an encoder over an observation ``batch`` of ``n`` rows, encoded
    by ``encode(sub_batch) -> (branch outputs, fused)`` in chunks without gradients."""
    branches: dict[str, list[np.ndarray]] = {}
    fused: list[np.ndarray] = []
    with torch.no_grad():
        for lo in range(0, n, chunk):
            outs, f = encode(take_obs(batch, slice(lo, lo + chunk)))
            for name, value in outs.items():
                if isinstance(value, torch.Tensor):
                    branches.setdefault(name, []).append(_host_rows(value))
            fused.append(_host_rows(f))
    joined = {k: np.concatenate(v) for k, v in branches.items() if sum(len(a) for a in v) == n}
    return feature_statistics(joined, np.concatenate(fused), targets, groups=groups)


def _host_rows(t: torch.Tensor) -> np.ndarray:
    """``(B, ...)`` features as a float32 ``(B, d)`` NumPy array, from whatever device they are on."""
    return t.float().reshape(t.shape[0], -1).cpu().numpy()


def check_device(device: str, where: str) -> str:
    """`device` if torch can train on it here, else EvaluationError naming it and the fix (before
    any budget is spent: a search on a GPU this machine lacks would fail every candidate)."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise EvaluationError(f"{where}(device={device!r}) is not a torch device ({exc}); use 'cpu', "
                              "'cuda' or 'cuda:N' (CLI: --device cpu)") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise EvaluationError(f"{where}(device={device!r}): torch sees no CUDA GPU here "
                                  f"(torch {torch.__version__}, torch.cuda.is_available() is False); use "
                                  "device='cpu' (CLI: --device cpu), or install a CUDA build of torch")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise EvaluationError(f"{where}(device={device!r}): this machine has "
                                  f"{torch.cuda.device_count()} CUDA device(s); use 'cuda:0' or 'cpu'")
    elif parsed.type != "cpu":
        raise EvaluationError(f"{where}(device={device!r}): only 'cpu' and CUDA devices are supported; "
                              "use 'cpu' or 'cuda'")
    return device
