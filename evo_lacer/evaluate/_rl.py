"""RLEvaluator: train PPO (Stable-Baselines3) with the compiled tree as its features extractor,
then score it on held-out episodes: reward, task metrics from ``info``, feature statistics.

Works with any gymnasium env whose observation space the compiler supports, given its id.
The evaluator holds only the env id / factory and settings, so it pickles to worker
processes; envs are built inside ``evaluate``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate._budget import scaled_copy
from evo_lacer.evaluate._envtools import (
    Rollouts,
    branch_outputs,
    check_device,
    encoder_statistics,
    eval_seeds,
    obs_probe_targets,
    own_random_state,
    policy_name,
    rollout,
    sb3_view,
    stack_obs,
    take_obs,
    torch_threads,
    warm_up,
)
from evo_lacer.evaluate._feedback import Cost, Feedback, Status
from evo_lacer.evaluate._filter import check_channels, filter_feedback
from evo_lacer.evaluate._inherit import WeightPlan, evaluate_tree, inherit_weights, inheriting_copy
from evo_lacer.evaluate._make_env import EnvSpec, env_facts, env_name, make_env
from evo_lacer.evaluate._ppo_runs import deadline_callback, mean_feedback, ppo_defaults, sum_costs
from evo_lacer.evaluate._preflight import check_trains, sources_text
from evo_lacer.tree import Node
from evo_lacer.zoo import Catalog

SHORT_PPO = "ppo-short"
"""The fidelity label of the short-PPO cheap fidelity (`RLEvaluator.short`)."""


class RLEvaluator:
    """Scores a tree by the mean held-out episodic reward of a PPO agent that uses it.

    - ``env``: a gymnasium id or a picklable zero-argument factory;
    - ``steps``: PPO training env steps (the budget of one candidate);
    - ``n_envs``: training envs (subprocesses for SUMO, which allows one simulation per
      process; in-process otherwise, see ``vec_env``);
    - ``eval_episodes``: held-out episodes, seeded ``eval_seed + k`` — never training seeds,
      and the same for every candidate so that candidates face the same episodes;
    - ``catalog``: the compiler's module catalog (``None``: the built-in zoo);
    - ``kinds``: forced source kinds (``{"history": "vector"}``), applied to the env's space by
      ``evo_lacer.envs.SourcesWrapper`` so the search, the gate and SB3 agree on them;
    - ``ppo_kwargs``: override ``ppo_defaults`` (``policy_kwargs`` merge with the tree's);
    - ``env_kwargs``: ``gym.make`` keyword arguments (e.g. ``backend="numpy"``);
    - ``wrappers``: gymnasium wrappers by import path (``"module:Name"``), applied in order
      (string and nested sources are then made SB3-ready by ``evo_lacer.envs.SourcesWrapper``);
    - ``eval_max_steps``: steps after which a held-out episode is cut (None: the env's own
      limit), so scoring costs at most ``eval_episodes * eval_max_steps`` env steps;
    - ``preflight``: train PPO for one tiny rollout now, so an env or space that cannot train
      fails here (an ``EvaluationError`` naming the cause) rather than on every candidate;
    - ``fidelity``: the label written into every Feedback;
    - ``feedback``: the signals kept (``reward``, ``metrics``, ``features``);
    - ``max_seconds``: training wall-clock limit, then a TIMED_OUT feedback;
    - ``task``: extra text for ``describe()`` (e.g. what the reward pays for);
    - ``torch_threads``: torch threads during an evaluation (1 suits small nets and many
      worker processes; None leaves torch alone);
    - ``ppo_seeds``: PPO agents trained per candidate (seeds ``seed, seed + 1, ...``); the fitness
      is the mean of their held-out rewards, the metrics are means (plus ``reward_seed_std``), the
      feature statistics are the first agent's, ``max_seconds`` applies to each run, and with
      weight inheritance the last agent's extractor is saved. On BabyAI-GoToRedBallNoDists the
      mean of k seeds ranks 16 encoders as an independent k-seed mean does at rho +0.38 (k = 1),
      +0.64 (3) and +0.74 (5) (`docs/fidelity.md`).
    """

    isolate = True
    """Asks the search to run evaluations in worker processes: PPO is slow, may crash, and
    libsumo allows one simulation per process."""
    inheritance: WeightPlan | None = None
    """Weights to load before training and save after (`with_inheritance`); None: none."""

    def __init__(
        self,
        env: EnvSpec,
        steps: int = 20_000,
        n_envs: int = 1,
        eval_episodes: int = 3,
        catalog: Catalog | None = None,
        ppo_kwargs: Mapping[str, Any] | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
        fidelity: str = "full",
        feedback: Iterable[str] = ("reward", "metrics", "features"),
        *,
        kinds: Mapping[str, str] | None = None,
        wrappers: Iterable[str] = (),
        eval_max_steps: int | None = None,
        preflight: bool = True,
        eval_seed: int = 1_000_000,
        feature_samples: int = 1024,
        max_seconds: float | None = None,
        task: str = "",
        torch_threads: int | None = 1,
        vec_env: str = "auto",
        device: str = "cpu",
        ppo_seeds: int = 1,
    ) -> None:
        checks = (("steps", steps, 8), ("n_envs", n_envs, 1), ("eval_episodes", eval_episodes, 1),
                  ("feature_samples", feature_samples, 8), ("ppo_seeds", ppo_seeds, 1))
        for name, value, low in checks:
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise EvaluationError(f"RLEvaluator({name}={value!r}): use an integer >= {low}")
        if eval_max_steps is not None and (isinstance(eval_max_steps, bool)
                                           or not isinstance(eval_max_steps, int) or eval_max_steps < 1):
            raise EvaluationError(f"RLEvaluator(eval_max_steps={eval_max_steps!r}): use an integer >= 1 "
                                  "or None (the env's own limit)")
        if vec_env not in ("auto", "dummy", "subproc"):
            raise EvaluationError(f"RLEvaluator(vec_env={vec_env!r}): use 'auto', 'dummy' or 'subproc'")
        if not isinstance(env, str) and not callable(env):
            raise EvaluationError(f"RLEvaluator(env={env!r}): pass a gymnasium id or an env factory")
        self.env = env
        self.steps = steps
        self.n_envs = n_envs
        self.eval_episodes = eval_episodes
        self.catalog = catalog
        self.ppo_kwargs = dict(ppo_kwargs or {})
        self.env_kwargs = dict(env_kwargs or {})
        self.wrappers = tuple(str(w) for w in wrappers)
        self.eval_max_steps = eval_max_steps
        self.fidelity = fidelity
        self.feedback = check_channels(feedback, "RLEvaluator(feedback=...)")
        self.kinds = dict(kinds) if kinds else None
        self.eval_seed = eval_seed
        self.feature_samples = feature_samples
        self.max_seconds = max_seconds
        self.task = task
        self.torch_threads = torch_threads
        self.vec_env = vec_env
        self.device = check_device(device, "RLEvaluator")
        self.ppo_seeds = ppo_seeds
        # one env is built (and closed) now: a bad id fails here, and the spaces are known
        self.observation_space, self.action_space, self._doc, self._one_sim_per_process = env_facts(
            env, self.env_kwargs, self.wrappers, self.kinds)
        if preflight:
            check_trains(self)

    @property
    def training_steps(self) -> int:
        """PPO env steps of one evaluation (`steps`)."""
        return self.steps

    def with_budget(self, fraction: float) -> RLEvaluator:
        """A copy training for ``ceil(steps * fraction)`` PPO env steps (at least 8), the rest the same
        (progressive evaluation: see `evo_lacer.evaluate._budget`)."""
        return scaled_copy(self, "steps", fraction, 8)

    def short(self, fraction: float, label: str = SHORT_PPO) -> RLEvaluator:
        """The short-PPO cheap fidelity: a copy training one PPO agent for ``fraction`` of `steps`
        (`with_budget`), its feedback labelled ``label``."""
        copy = self.with_budget(fraction)
        copy.ppo_seeds, copy.fidelity = 1, label
        return copy

    def with_inheritance(self, plan: WeightPlan) -> RLEvaluator:
        """A copy whose PPO agents start their features extractor from the parents' trained tensors
        and save theirs, as `plan` says (see `evo_lacer.evaluate._inherit`)."""
        return inheriting_copy(self, plan)

    @property
    def held_out_seeds(self) -> list[int]:
        return eval_seeds(self.eval_seed, self.eval_episodes)

    def train_seed(self, seed: int) -> int:
        """The seed of training env 0 (env i gets ``+ i``), moved past the held-out seeds
        when its range would overlap them."""
        low, high = self.eval_seed, self.eval_seed + self.eval_episodes
        return seed if seed + self.n_envs <= low or seed >= high else seed + high - low + self.n_envs

    # --- the role --------------------------------------------------------------------------
    def evaluate(self, tree: Node, seed: int) -> Feedback:
        """Train PPO with ``tree`` as features extractor for ``steps`` env steps, then score it."""
        return evaluate_tree(self, tree, seed)

    def baseline(self, seed: int) -> Feedback:
        """The same training and scoring with SB3's default extractor (``CombinedExtractor``
        for Dict spaces, ``FlattenExtractor`` / ``NatureCNN`` otherwise)."""
        return self.evaluate_policy(dict, seed)

    def evaluate_policy(self, policy_kwargs: Callable[[], dict[str, Any]], seed: int) -> Feedback:
        """Train and score ``ppo_seeds`` PPO agents built with ``policy_kwargs()`` (seeds ``seed,
        seed + 1, ...``) and average them; never raises."""
        runs: list[Feedback] = []
        for k in range(self.ppo_seeds):
            feedback = self._one_run(policy_kwargs, seed + k)
            if not feedback.ok:
                if k == 0:
                    return feedback
                return replace(feedback, error=f"PPO seed {seed + k}: {feedback.error}",
                               cost=sum_costs([*runs, feedback]))
            runs.append(feedback)
        return filter_feedback(runs[0] if len(runs) == 1 else mean_feedback(runs), self.feedback)

    def _one_run(self, policy_kwargs: Callable[[], dict[str, Any]], seed: int) -> Feedback:
        start = time.perf_counter()
        steps_done = 0
        try:
            with torch_threads(self.torch_threads), own_random_state():
                kwargs = policy_kwargs()
                warm_up(kwargs, sb3_view(self.observation_space))
                model, steps_done, expired = self._train(kwargs, seed)
                if expired:
                    return self._failure(
                        Status.TIMED_OUT,
                        f"training stopped at {steps_done}/{self.steps} steps: max_seconds="
                        f"{self.max_seconds} exceeded",
                        Cost(time.perf_counter() - start, steps_done),
                    )
                return self._score(model, steps_done, start)
        except Exception as exc:
            return self._failure(Status.FAILED, f"{type(exc).__name__}: {exc}",
                                 Cost(time.perf_counter() - start, steps_done))

    def score_controller(self, act: Callable[[Any], Any]) -> Feedback:
        """A scripted controller (``obs -> action``) on the held-out episodes: a reference
        score on the same scale as ``evaluate``'s fitness."""
        start = time.perf_counter()
        env = self.make_env()
        try:
            roll = rollout(env, act, self.held_out_seeds, keep_obs=False, **self._episode_limit())
        finally:
            env.close()
        summary = roll.summary()
        return Feedback(Status.OK, fitness=summary["reward"], metrics=summary,
                        cost=Cost(time.perf_counter() - start, roll.steps), fidelity=self.fidelity)

    def make_env(self) -> gym.Env:
        """One env as this evaluator trains and scores on (kwargs and wrappers applied)."""
        return make_env(self.env, self.env_kwargs, self.wrappers, self.kinds)

    def _episode_limit(self) -> dict[str, int]:
        return {} if self.eval_max_steps is None else {"max_steps": self.eval_max_steps}

    def _failure(self, status: Status, error: str, cost: Cost) -> Feedback:
        return replace(Feedback.failure(status, error, cost), fidelity=self.fidelity)

    def describe(self) -> str:
        kwargs = f" with {self.env_kwargs}" if self.env_kwargs else ""
        text = [f"Gymnasium env {env_name(self.env)!r}{kwargs}."]
        if self._doc:
            text.append(self._doc)
        if self.task:
            text.append(self.task)
        text.append(f"Observation sources: {sources_text(self.observation_space)}.")
        text.append(f"Action space: {self.action_space}.")
        cut = f" (cut at {self.eval_max_steps} steps)" if self.eval_max_steps is not None else ""
        agents = "a PPO agent" if self.ppo_seeds == 1 else f"{self.ppo_seeds} PPO agents (seeds averaged)"
        short = " (the short-PPO cheap fidelity)" if self.fidelity == SHORT_PPO else ""
        text.append(
            f"Each encoder is the features extractor of {agents} trained for {self.steps} env "
            f"steps{short}; fitness is the mean episodic reward over {self.eval_episodes} held-out "
            f"episodes{cut}. Feedback signals: " + ", ".join(self.feedback) + "."
        )
        return " ".join(text)

    def train_ppo(self, policy_kwargs: dict[str, Any], seed: int, steps: int, callback: Any = None) -> Any:
        """The supernet hook (`evo_lacer.evaluate.PPOTrainer`, used by the darts and enas strategies):
        train a PPO agent built with ``policy_kwargs`` for ``steps`` env steps on this evaluator's
        training envs and settings (the rollout and PPO settings of one candidate, so ``steps = k *
        self.steps`` is k candidates' worth of updates), with an SB3 ``callback``; returns the model.
        No time limit (``max_seconds`` is per candidate); single-threaded as ``torch_threads`` says."""
        with torch_threads(self.torch_threads), own_random_state():
            model, _, _ = self._train(policy_kwargs, seed, steps=steps, callback=callback)
        return model

    # --- internals -------------------------------------------------------------------------
    def _train(self, policy_kwargs: dict[str, Any], seed: int, *, steps: int | None = None,
               callback: Any = None) -> tuple[Any, int, bool]:
        from stable_baselines3 import PPO
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.logger import Logger
        from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

        space = self.observation_space
        subproc = self.vec_env == "subproc" or (
            self.vec_env == "auto" and self.n_envs > 1 and self._one_sim_per_process
        )
        train_seed = self.train_seed(seed)
        vec = make_vec_env(self.make_env, n_envs=self.n_envs,
                           seed=train_seed, vec_env_cls=SubprocVecEnv if subproc else DummyVecEnv)
        try:
            kwargs = {**ppo_defaults(self.steps, self.n_envs), **self.ppo_kwargs}
            user_pk = dict(kwargs.pop("policy_kwargs", {}) or {})
            model = PPO(policy_name(space), vec, policy_kwargs={**policy_kwargs, **user_pk}, seed=train_seed,
                        device=self.device, verbose=0, **kwargs)
            model.set_logger(Logger(folder=None, output_formats=[]))  # SB3 would make a /tmp folder
            inherit_weights(model.policy)  # after SB3's own initialization of the policy
            if steps is not None:  # the supernet hook: its own callback, no deadline
                model.learn(total_timesteps=steps, callback=callback)
                return model, int(model.num_timesteps), False
            callback = None if self.max_seconds is None else deadline_callback(self.max_seconds)
            model.learn(total_timesteps=self.steps, callback=callback)
            expired = bool(callback is not None and callback.expired)
            return model, int(model.num_timesteps), expired
        finally:
            vec.close()  # before evaluation: a SUMO env may not share the process

    def _score(self, model: Any, steps_done: int, start: float) -> Feedback:
        from evo_lacer.compile import parameter_count

        env = self.make_env()
        keep_obs = "features" in self.feedback

        def act(obs: Any) -> Any:
            return model.predict(obs, deterministic=True)[0]

        try:
            roll = rollout(env, act, self.held_out_seeds, keep_obs=keep_obs, **self._episode_limit())
        finally:
            env.close()
        summary = roll.summary()
        if not np.isfinite(summary["reward"]):
            raise EvaluationError(f"the mean evaluation reward is {summary['reward']}")
        extractor = model.policy.pi_features_extractor
        summary["encoder_params"] = float(parameter_count(extractor))
        train_returns = [ep["r"] for ep in model.ep_info_buffer or []]
        if train_returns:
            summary["train_reward"] = float(np.mean(train_returns))
        features = self._features(model, roll) if keep_obs else {}
        return Feedback(
            Status.OK, fitness=summary["reward"], metrics=summary, features=features,
            cost=Cost(time.perf_counter() - start, steps_done + roll.steps), fidelity=self.fidelity,
        )

    def _features(self, model: Any, roll: Rollouts) -> dict[str, float]:
        from stable_baselines3.common.preprocessing import preprocess_obs

        n = len(roll.obs)
        if n < 8:
            return {}
        rows = np.unique(np.linspace(0, n - 1, min(n, self.feature_samples)).astype(int))
        batch = take_obs(stack_obs(roll.obs), rows)
        targets = {k: v[rows] for k, v in roll.probe_arrays().items()}
        if not targets:
            targets = obs_probe_targets(batch, self.observation_space)
        policy = model.policy
        policy.set_training_mode(False)

        def encode(chunk: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            tensors, _ = policy.obs_to_tensor(chunk)
            pre = preprocess_obs(tensors, policy.observation_space, normalize_images=policy.normalize_images)
            return branch_outputs(policy.pi_features_extractor, pre)

        return encoder_statistics(encode, batch, len(rows), targets, np.asarray(roll.groups)[rows])
