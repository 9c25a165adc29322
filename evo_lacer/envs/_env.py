"""``RingTrafficEnv``: an automated vehicle damping stop-and-go waves among IDM humans."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from evo_lacer.envs._backend import RingBackend
from evo_lacer.envs._config import RingConfig
from evo_lacer.envs._instructions import TEMPLATES, VOCAB, Instruction, make_instruction
from evo_lacer.envs._metrics import desired_velocity_reward, task_metrics
from evo_lacer.envs._numpy_backend import NumpyRingBackend
from evo_lacer.envs._observation import ObservationBuilder, observation_space
from evo_lacer.envs._traffic import RingTraffic, initial_positions
from evo_lacer.errors import ConfigError, EnvError


def make_backend(config: RingConfig) -> RingBackend:
    """The simulator named by ``config.backend``."""
    if config.backend == "numpy":
        return NumpyRingBackend(config.sim_step)
    from evo_lacer.envs._sumo_backend import SumoRingBackend

    steps = config.warmup_steps + config.horizon * config.sim_steps_per_action + 1
    return SumoRingBackend(config.sim_step, config.vehicle_length, steps * config.sim_step)


def _check_option(name: str, value: float, config: RingConfig, **fields: Any) -> None:
    """Validate reset option ``name`` by the rules of the config ``fields`` it stands for."""
    try:
        config.with_overrides(**fields)
    except ConfigError as exc:
        raise ConfigError(f"reset option {name}={value!r}: {exc}") from exc


class RingTrafficEnv(gym.Env[dict[str, Any], NDArray[np.float32]]):
    """Flow's Sugiyama ring with a ``Dict`` observation (``ego``, ``history``, ``bev``,
    ``instruction``; see ``_observation``) and a ``Box(-1, 1, (n_controlled,))`` action:
    ``+1`` is ``max_accel``, ``-1`` is ``-max_decel``, ``0`` keeps the speed.

    Each episode draws a ring length (if ``ring_length_range``), a target speed and an
    instruction template, runs ``warmup_steps`` with everyone human so the waves form, then
    hands the controlled vehicles to the agent for ``horizon`` control steps. ``reset``
    options ``ring_length``, ``target_speed`` and ``template`` pin those draws.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}
    VOCAB: ClassVar[tuple[str, ...]] = VOCAB

    def __init__(
        self, config: RingConfig | None = None, render_mode: str | None = None, **overrides: Any
    ) -> None:
        config = config if config is not None else RingConfig()
        self.config = config.with_overrides(**overrides) if overrides else config
        if render_mode not in (None, "rgb_array"):
            raise EnvError(f"render_mode={render_mode!r} is not supported; use None or "
                           "'rgb_array'")
        self.render_mode = render_mode
        self.observation_space = observation_space(self.config)
        self.action_space = spaces.Box(-1.0, 1.0, (self.config.n_controlled,), np.float32)
        self._traffic = RingTraffic(make_backend(self.config), self.config)
        self._builder = ObservationBuilder(self.config, self._traffic.controlled)
        self._instruction: Instruction | None = None
        self._ego = np.zeros(0, np.float32)
        self._bev: NDArray[np.uint8] | None = None
        self._steps = 0
        self._done = True

    @property
    def traffic(self) -> RingTraffic:
        """The running simulation (read-only use: evaluators and tests inspect it)."""
        return self._traffic

    @property
    def instruction(self) -> Instruction:
        """This episode's instruction."""
        if self._instruction is None:
            raise EnvError("the env has no instruction before reset(); call reset() first")
        return self._instruction

    def _draw(self, options: dict[str, Any]) -> tuple[float, Instruction]:
        cfg, rng = self.config, self.np_random
        unknown = sorted(set(options) - {"ring_length", "target_speed", "template"})
        if unknown:
            raise ConfigError(f"unknown reset option(s) {unknown}; valid: ring_length, "
                              "target_speed, template")
        if "ring_length" in options:
            length = float(options["ring_length"])
            _check_option("ring_length", length, cfg, ring_length=length, ring_length_range=None)
        elif cfg.ring_length_range is None:
            length = cfg.ring_length
        else:
            low, high = cfg.ring_length_range
            length = float(rng.integers(int(np.ceil(low)), int(np.floor(high)) + 1))
        target = float(options.get("target_speed", rng.choice(cfg.target_speeds)))
        _check_option("target_speed", target, cfg, target_speeds=(target,))
        template = int(options.get("template", rng.integers(len(TEMPLATES))))
        if not 0 <= template < len(TEMPLATES):
            raise ConfigError(f"reset option template={template} must be in "
                              f"[0, {len(TEMPLATES) - 1}]")
        return length, make_instruction(target, template)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        cfg, rng, traffic = self.config, self.np_random, self._traffic
        length, self._instruction = self._draw(options or {})
        traffic.reset(length, initial_positions(cfg, length, rng))
        self._builder.reset(self._instruction)
        rep, collisions = cfg.sim_steps_per_action, 0
        for t in range(cfg.warmup_steps):
            left = cfg.warmup_steps - t
            if left % rep == 0 and left <= rep * cfg.history_length:  # history's time grid
                self._builder.record(self._builder.ego(traffic))
            collisions += traffic.step(rng)
        self._ego = self._builder.ego(traffic)
        self._steps, self._done = 0, False
        return self._observe(), task_metrics(traffic, self._instruction.target_speed, collisions)

    def _observe(self) -> dict[str, Any]:
        obs = self._builder.observe(self._traffic, self._ego)
        self._bev = obs["bev"]
        return obs

    def step(
        self, action: NDArray[np.float32]
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self._done or self._instruction is None:
            raise EnvError("step() called on a finished or never-reset episode; call reset()")
        cfg, traffic = self.config, self._traffic
        act = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0)
        accel = np.where(act >= 0.0, act * cfg.max_accel, act * cfg.max_decel)
        target = self._instruction.target_speed
        self._builder.record(self._ego)
        speed_reward, collisions, substeps = 0.0, 0, 0
        for _ in range(cfg.sim_steps_per_action):
            collisions += traffic.step(self.np_random, accel)
            speed_reward += desired_velocity_reward(traffic.state.speeds, target)
            substeps += 1
            if collisions:
                break
        self._ego = self._builder.ego(traffic)
        self._steps += 1
        terminated = collisions > 0
        truncated = not terminated and self._steps >= cfg.horizon
        reward = speed_reward / substeps - cfg.accel_penalty * float(np.abs(accel).mean())
        if terminated:
            reward = -cfg.collision_penalty
        self._done = terminated or truncated
        info = task_metrics(traffic, target, collisions)
        return self._observe(), float(reward), terminated, truncated, info

    def render(self) -> NDArray[np.uint8] | None:  # type: ignore[override]
        if self.render_mode != "rgb_array" or self._bev is None:
            return None
        return np.repeat(np.repeat(self._bev, 8, axis=0), 8, axis=1)

    def close(self) -> None:
        self._traffic.backend.close()
        super().close()
