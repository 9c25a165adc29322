"""ImitationEvaluator: the cheap fidelity. Seconds per candidate instead of minutes of PPO.

A scripted expert is rolled out once per process (with action noise, labels stay the
expert's clean actions: DART-style coverage of the states a learner drifts into) and the
dataset is cached. Each candidate is compiled into the same SB3 policy PPO would use, with a
*linear* head on the features (``net_arch=[]``), trained by behaviour cloning for a few
hundred gradient steps, and measured on held-out episodes:

- ``fitness`` = imitation skill = ``1 - loss / loss_of_the_best_constant`` on the held-out
  episodes (1: perfect; 0: no better than ignoring the observation; MSE for continuous
  actions, cross-entropy for discrete ones), plus ``probe_weight`` x the mean probe R²;
- ``expert=None`` asks for a different measurement, named ``probe`` (the fidelity label and
  the task text say so): the encoder is left untrained and ``fitness`` is the mean held-out
  linear-probe R² of its features (a random policy collects the data). ``expert="auto"`` on an
  env with no known expert refuses, saying what to pass;
- feature statistics over the dataset (up to ``feature_samples`` rows; the probes are fit on
  the first episodes and scored on the held-out last ones) and, with ``rollout_episodes``, the
  reward and task metrics of the cloned policy on the same held-out seeds as ``RLEvaluator``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate._bc_data import Dataset, cached_dataset, collect_dataset
from evo_lacer.evaluate._bc_loss import BCLoss, loss_for
from evo_lacer.evaluate._budget import scaled_copy
from evo_lacer.evaluate._clone_hook import CloneHook, CloneRun, clone_supernet, validation_split
from evo_lacer.evaluate._envtools import (
    branch_outputs,
    check_device,
    encoder_statistics,
    eval_seeds,
    own_random_state,
    rollout,
    sb3_view,
    take_obs,
    torch_threads,
    warm_up,
)
from evo_lacer.evaluate._experts import KNOWN_EXPERTS, Expert, auto_expert
from evo_lacer.evaluate._feedback import Cost, Feedback, Status
from evo_lacer.evaluate._filter import CHANNELS, check_channels, filter_feedback
from evo_lacer.evaluate._inherit import WeightPlan, evaluate_tree, inherit_weights, inheriting_copy
from evo_lacer.evaluate._make_env import EnvSpec, env_facts, env_name, make_env
from evo_lacer.evaluate._preflight import sources_text
from evo_lacer.tree import Node
from evo_lacer.zoo import Catalog


class ImitationEvaluator:
    """Behaviour-cloning fidelity (see the module docstring). Settings:

    - ``env`` / ``env_kwargs`` / ``wrappers``: as for ``RLEvaluator``;
    - ``expert``: ``"auto"`` (the ring's ``ExpertController``, BabyAI's bot; an env with
      neither raises), None (the ``probe`` proxy, see the module docstring), or a picklable
      ``obs -> action`` callable;
    - ``dataset_steps``: transitions collected once (episodes seeded from ``data_seed``);
    - ``action_noise``: std of Gaussian noise on executed continuous actions / probability
      of a random discrete action while collecting (labels stay the expert's);
    - ``grad_steps``, ``batch_size``, ``learning_rate``: the cloning (Adam);
    - ``holdout``: fraction of episodes held out for the loss, probes and statistics;
    - ``rollout_episodes``: episodes the cloned policy drives (reward, task metrics);
    - ``probe_weight``: weight of the mean probe R² added to the fitness;
    - ``task``: extra text for ``describe()`` (e.g. what the reward pays for);
    - ``max_seconds``: cloning wall-clock limit, then a TIMED_OUT feedback (the search space
      holds encoders a thousand times slower than others).
    """

    inheritance: WeightPlan | None = None
    """Weights to load before cloning and save after (`with_inheritance`); None: none."""

    def __init__(
        self,
        env: EnvSpec,
        expert: Expert | str | None = "auto",
        *,
        dataset_steps: int = 3000,
        action_noise: float = 0.3,
        grad_steps: int = 300,
        batch_size: int = 128,
        learning_rate: float = 3e-3,
        holdout: float = 0.25,
        rollout_episodes: int = 1,
        probe_weight: float = 0.0,
        env_kwargs: Mapping[str, Any] | None = None,
        catalog: Catalog | None = None,
        kinds: Mapping[str, str] | None = None,
        wrappers: Iterable[str] = (),
        data_seed: int = 12_345,
        eval_seed: int = 1_000_000,
        feature_samples: int = 1024,
        feedback: Iterable[str] = CHANNELS,
        fidelity: str | None = None,
        max_seconds: float | None = None,
        task: str = "",
        torch_threads: int | None = 1,
        device: str = "cpu",
    ) -> None:
        if isinstance(expert, str) and expert != "auto":
            raise EvaluationError(f"ImitationEvaluator(expert={expert!r}): use 'auto', None or a callable")
        for name, value, low in (("dataset_steps", dataset_steps, 16), ("grad_steps", grad_steps, 0),
                                 ("batch_size", batch_size, 1), ("rollout_episodes", rollout_episodes, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise EvaluationError(f"ImitationEvaluator({name}={value!r}): use an integer >= {low}")
        if not 0.0 < holdout < 1.0:
            raise EvaluationError(f"ImitationEvaluator(holdout={holdout!r}): use a fraction in (0, 1)")
        self.env = env
        self.expert = expert
        self.dataset_steps = dataset_steps
        self.action_noise = action_noise
        self.grad_steps = grad_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.holdout = holdout
        self.rollout_episodes = rollout_episodes
        self.probe_weight = probe_weight
        self.env_kwargs = dict(env_kwargs or {})
        self.wrappers = tuple(str(w) for w in wrappers)
        self.catalog = catalog
        self.kinds = dict(kinds) if kinds else None
        self.data_seed = data_seed
        self.eval_seed = eval_seed
        self.feature_samples = feature_samples
        self.feedback = check_channels(feedback, "ImitationEvaluator(feedback=...)")
        self.fidelity = fidelity or ("probe" if expert is None else "imitation")
        self.max_seconds = max_seconds
        self.task = task
        self.torch_threads = torch_threads
        self.device = check_device(device, "ImitationEvaluator")
        self._key = uuid.uuid4().hex  # copies (pickles) of this evaluator share its dataset
        self.observation_space, self.action_space, self._doc, _ = env_facts(
            env, self.env_kwargs, self.wrappers, self.kinds)
        if expert == "auto":
            self._check_auto_expert()

    def _check_auto_expert(self) -> None:
        made = make_env(self.env, self.env_kwargs, self.wrappers, self.kinds)
        try:
            found = auto_expert(made) is not None
        finally:
            made.close()
        if not found:
            raise EvaluationError(
                f"the imitation fidelity imitates a scripted expert, and evo-lacer knows none for env "
                f"{env_name(self.env)!r} (it knows {KNOWN_EXPERTS}). Use the short-PPO cheap fidelity, which "
                "needs none (cheap_fidelity='ppo-short'; --cheap-fidelity ppo-short), fidelity='full' (PPO; "
                "--fidelity full), pass your own expert (ImitationEvaluator(env, expert=fn) "
                "with fn(obs) -> action; --expert module:fn), or expert=None (--expert none) for the "
                "'probe' proxy: how much of the observation an untrained encoder's features keep "
                "(linear-probe R²), not how well it would act"
            )

    # --- the dataset ------------------------------------------------------------------------

    def dataset(self) -> Dataset:
        """The transitions, collected on first use in this process and cached."""
        return cached_dataset(self._key, self._collect)

    def _collect(self) -> Dataset:
        start = time.perf_counter()
        env = make_env(self.env, self.env_kwargs, self.wrappers, self.kinds)
        try:
            expert = auto_expert(env) if self.expert == "auto" else self.expert
            return collect_dataset(env, expert, self.observation_space, seed=self.data_seed,
                                   steps=self.dataset_steps, action_noise=self.action_noise,
                                   holdout=self.holdout, start=start)
        finally:
            env.close()

    @property
    def training_steps(self) -> int:
        """Behaviour-cloning gradient steps of one evaluation (`grad_steps`)."""
        return self.grad_steps

    def with_budget(self, fraction: float) -> ImitationEvaluator:
        """A copy cloning for ``ceil(grad_steps * fraction)`` gradient steps, sharing this one's dataset
        (progressive evaluation: see `evo_lacer.evaluate._budget`)."""
        return scaled_copy(self, "grad_steps", fraction, min(1, self.grad_steps))

    def train_clone(self, policy_kwargs: dict[str, Any], seed: int, steps: int, hook: CloneHook) -> CloneRun:
        """The supernet hook of the cheap fidelity (`evo_lacer.evaluate.CloneTrainer`, used by the
        darts and enas strategies; see `evo_lacer.evaluate._clone_hook`): clone the expert through a
        policy built with ``policy_kwargs`` for ``steps`` gradient steps of this evaluator's batch
        size and learning rate, on the training episodes less a validation fifth. No time limit."""
        with torch_threads(self.torch_threads), own_random_state():
            data = self.dataset()
            if data.actions is None:
                raise EvaluationError("train_clone needs an expert's actions; this evaluator has expert=None")
            warm_up(policy_kwargs, sb3_view(self.observation_space))
            torch.manual_seed(seed)
            policy = self._policy(policy_kwargs)
            obs = self._tensors(data, policy)
            fit, val = validation_split(data.train, data.groups)
            return clone_supernet(policy, self._forward, obs, torch.as_tensor(data.actions),
                                  loss_for(self.action_space), fit, val, steps=steps,
                                  batch_size=self.batch_size, learning_rate=self.learning_rate, seed=seed,
                                  hook=hook)

    def with_inheritance(self, plan: WeightPlan) -> ImitationEvaluator:
        """A copy whose policies start their features extractor from the parents' trained tensors
        and save theirs, as `plan` says (see `evo_lacer.evaluate._inherit`)."""
        return inheriting_copy(self, plan)

    # --- the role ---------------------------------------------------------------------------
    def evaluate(self, tree: Node, seed: int) -> Feedback:
        """Clone the expert through ``tree`` (compiled as PPO's extractor) and score it."""
        return evaluate_tree(self, tree, seed)

    def baseline(self, seed: int) -> Feedback:
        """The same measurement for SB3's default extractor (``CombinedExtractor`` for Dict)."""
        return self.evaluate_policy(dict, seed)

    def evaluate_policy(self, policy_kwargs: Callable[[], dict[str, Any]], seed: int) -> Feedback:
        """Clone and score an SB3 policy built with ``policy_kwargs()``; never raises."""
        start = time.perf_counter()
        try:
            with torch_threads(self.torch_threads), own_random_state():
                data = self.dataset()
                kwargs = policy_kwargs()
                warm_up(kwargs, sb3_view(self.observation_space))
                torch.manual_seed(seed)  # weights and dropout; the global stream is restored after
                feedback = self._run(kwargs, seed, data, start)
        except _OutOfTime as exc:
            return self._failure(Status.TIMED_OUT, str(exc), Cost(time.perf_counter() - start))
        except Exception as exc:
            return self._failure(Status.FAILED, f"{type(exc).__name__}: {exc}",
                                 Cost(time.perf_counter() - start))
        return filter_feedback(feedback, self.feedback)

    def _failure(self, status: Status, error: str, cost: Cost) -> Feedback:
        return replace(Feedback.failure(status, error, cost), fidelity=self.fidelity)

    def describe(self) -> str:
        kwargs = f" with {self.env_kwargs}" if self.env_kwargs else ""
        text = [f"Gymnasium env {env_name(self.env)!r}{kwargs}."]
        if self._doc:
            text.append(self._doc)
        if self.task:
            text.append(self.task)
        text.append(f"Observation sources: {sources_text(self.observation_space)}. "
                    f"Action space: {self.action_space}.")
        what = ("a linear head on the encoder's features is trained to imitate a scripted expert; "
                "fitness is the held-out imitation skill (1 - loss / loss of a constant guess)")
        if self.expert is None:
            what = ("no expert and no training: fitness is the mean held-out linear-probe R² of the "
                    "untrained encoder's features, i.e. how much of the raw observation they keep, not "
                    "how well an agent using them would act")
        text.append(f"Cheap fidelity ({self.fidelity}): {what}. Feedback signals: "
                    + ", ".join(self.feedback) + ".")
        return " ".join(text)

    # --- internals --------------------------------------------------------------------------
    def _policy(self, policy_kwargs: dict[str, Any]) -> Any:
        from stable_baselines3.common.policies import ActorCriticPolicy, MultiInputActorCriticPolicy

        space = sb3_view(self.observation_space)
        cls = MultiInputActorCriticPolicy if isinstance(space, spaces.Dict) else ActorCriticPolicy
        kwargs = {**policy_kwargs, "net_arch": []}
        policy = cls(space, self.action_space, lambda _: self.learning_rate, **kwargs)  # type: ignore[arg-type]
        inherit_weights(policy)  # after SB3's own initialization of the policy
        return policy.to(self.device)

    def _tensors(self, data: Dataset, policy: Any) -> Any:
        key = repr(policy.observation_space)
        if key not in data.tensors:
            data.tensors[key] = policy.obs_to_tensor(data.obs)[0]
        return data.tensors[key]

    def _run(self, policy_kwargs: dict[str, Any], seed: int, data: Dataset, start: float) -> Feedback:
        from evo_lacer.compile import parameter_count

        policy = self._policy(policy_kwargs)
        obs = self._tensors(data, policy)
        loss_fn = loss_for(self.action_space)
        metrics: dict[str, float] = {}
        steps = data.steps
        if data.actions is not None:
            labels = torch.as_tensor(data.actions)
            test_loss, base_loss = self._clone(policy, obs, labels, loss_fn, data, seed)
            skill = 1.0 - test_loss / base_loss if base_loss > 0 else 0.0
            metrics.update(imitation_loss=test_loss, constant_loss=base_loss, imitation_skill=skill)
        policy.set_training_mode(False)
        metrics["encoder_params"] = float(parameter_count(policy.pi_features_extractor))
        if self.rollout_episodes:
            env = make_env(self.env, self.env_kwargs, self.wrappers, self.kinds)
            try:
                roll = rollout(env, lambda o: policy.predict(o, deterministic=True)[0],
                               eval_seeds(self.eval_seed, self.rollout_episodes), keep_obs=False)
            finally:
                env.close()
            metrics.update(roll.summary())
            steps += roll.steps
        features = self._features(policy, obs, data)
        probes = [v for k, v in features.items() if k.startswith("probe_r2/")]
        probe_mean = float(np.mean(probes)) if probes else 0.0
        if data.actions is not None:
            fitness = metrics["imitation_skill"] + self.probe_weight * probe_mean
        else:
            fitness = probe_mean
        if not np.isfinite(fitness):
            raise EvaluationError(f"the imitation fitness is {fitness}")
        return Feedback(Status.OK, fitness=float(fitness), metrics=metrics, features=features,
                        cost=Cost(time.perf_counter() - start, steps), fidelity=self.fidelity)

    def _forward(self, policy: Any, obs: Any) -> torch.Tensor:
        features = policy.extract_features(obs, policy.pi_features_extractor)
        return policy.action_net(policy.mlp_extractor.forward_actor(features))  # type: ignore[no-any-return]

    def _clone(self, policy: Any, obs: Any, labels: torch.Tensor, loss_fn: BCLoss, data: Dataset,
               seed: int) -> tuple[float, float]:
        params = [*policy.pi_features_extractor.parameters(), *policy.action_net.parameters()]
        optim = torch.optim.Adam(params, lr=self.learning_rate)
        gen = np.random.default_rng(seed)
        train = data.train
        policy.set_training_mode(True)
        end = None if self.max_seconds is None else time.perf_counter() + self.max_seconds
        for step in range(self.grad_steps):
            if end is not None and time.perf_counter() > end:
                raise _OutOfTime(f"cloning stopped at {step}/{self.grad_steps} gradient steps: "
                                 f"max_seconds={self.max_seconds} exceeded")
            rows = torch.as_tensor(gen.choice(train, min(self.batch_size, len(train)), replace=False))
            loss = loss_fn(self._forward(policy, take_obs(obs, rows)), labels[rows])
            if not torch.isfinite(loss):
                raise EvaluationError(f"the cloning loss became {loss.item()}")
            optim.zero_grad()
            loss.backward()
            optim.step()
        policy.set_training_mode(False)
        test = torch.as_tensor(data.test)
        total = 0.0
        with torch.no_grad():
            for lo in range(0, len(test), 512):
                rows = test[lo:lo + 512]
                total += float(loss_fn(self._forward(policy, take_obs(obs, rows)), labels[rows])) * len(rows)
        return total / len(test), loss_fn.constant(labels[torch.as_tensor(train)], labels[test])

    def _features(self, policy: Any, obs: Any, data: Dataset) -> dict[str, float]:
        needed = "features" in self.feedback or data.actions is None or self.probe_weight > 0
        if not needed:
            return {}
        from stable_baselines3.common.preprocessing import preprocess_obs

        n = len(data.groups)  # all rows, so the probes fit on many episodes; held out: the last
        rows = np.unique(np.linspace(0, n - 1, min(n, self.feature_samples)).astype(int))
        batch = take_obs(obs, torch.as_tensor(rows))
        targets = {k: v[rows] for k, v in data.probes.items()}

        def encode(chunk: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            pre = preprocess_obs(chunk, policy.observation_space, normalize_images=policy.normalize_images)
            return branch_outputs(policy.pi_features_extractor, pre)

        return encoder_statistics(encode, batch, len(rows), targets, data.groups[rows])


class _OutOfTime(Exception):
    pass
