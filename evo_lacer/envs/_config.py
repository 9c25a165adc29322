"""Frozen configuration of the ring-road benchmark; every check names the field and the fix."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from evo_lacer.envs._instructions import MAX_TEMPLATE_TOKENS, SPEED_TOKENS
from evo_lacer.errors import ConfigError

Backend = Literal["sumo", "numpy"]
InstructionSpace = Literal["tokens", "text"]


@dataclass(frozen=True)
class IDMParams:
    """Intelligent Driver Model parameters of the human drivers (Flow's defaults)."""

    v0: float = 30.0
    """Desired (free-road) speed, m/s."""
    T: float = 1.0
    """Desired time headway, s."""
    a: float = 1.0
    """Maximum acceleration, m/s^2."""
    b: float = 1.5
    """Comfortable deceleration, m/s^2."""
    delta: float = 4.0
    """Acceleration exponent."""
    s0: float = 2.0
    """Minimum bumper-to-bumper gap, m."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigError(
                    f"IDMParams.{f.name}={value!r} must be a finite number > 0; "
                    f"use e.g. IDMParams({f.name}={f.default!r})"
                )


def _default_targets() -> tuple[float, ...]:
    return (2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0)


@dataclass(frozen=True)
class RingConfig:
    """Mixed-autonomy ring road (Flow's Sugiyama setup) with a multi-source observation."""

    n_vehicles: int = 22
    """Vehicles on the ring, controlled ones included."""
    ring_length: float = 230.0
    """Ring circumference in metres (used when ``ring_length_range`` is None)."""
    ring_length_range: tuple[float, float] | None = None
    """If set, each episode draws an integer length uniformly from this closed range (as Flow)."""
    n_controlled: int = 1
    """Automated vehicles, spread evenly around the ring; vehicle 0 is always one of them."""
    sim_step: float = 0.1
    """Simulation step, s."""
    sim_steps_per_action: int = 5
    """Action repeat: simulation steps per control step (0.5 s by default)."""
    warmup_steps: int = 750
    """Simulation steps with every vehicle human before control starts (Flow: 750); the
    sinusoidal start perturbation makes stop-and-go waves fully formed by then."""
    horizon: int = 300
    """Control steps per episode (150 s by default); then the episode is truncated."""
    history_length: int = 16
    """Past control steps of ego features in the ``history`` observation."""
    image_size: int = 40
    """Side of the square bird's-eye image in pixels (>= 36 for SB3's NatureCNN)."""
    backend: Backend = "sumo"
    """``"sumo"`` (Eclipse SUMO through libsumo) or ``"numpy"`` (in-process, same dynamics)."""
    idm: IDMParams = field(default_factory=IDMParams)
    """Human driver model."""
    noise_std: float = 0.2
    """Std of the humans' acceleration noise in m/s^2 per sqrt(s) (applied as
    ``noise_std * sqrt(sim_step) * N(0, 1)`` each step, as in Flow)."""
    vehicle_length: float = 5.0
    """Length of every vehicle, m."""
    max_accel: float = 1.0
    """Acceleration of the controlled vehicle at action +1, m/s^2."""
    max_decel: float = 3.0
    """Deceleration (magnitude) of the controlled vehicle at action -1, m/s^2."""
    init_perturbation: float = 3.0
    """Amplitude (m) of the sinusoidal perturbation of the initial gaps that seeds the waves."""
    target_speeds: tuple[float, ...] = field(default_factory=_default_targets)
    """Speeds an episode's instruction may ask for, m/s (multiples of 0.5 in [0.5, 15])."""
    accel_penalty: float = 0.05
    """Reward penalty per m/s^2 of the controlled vehicles' mean |acceleration|."""
    collision_penalty: float = 10.0
    """Reward of the step in which a collision ends the episode is ``-collision_penalty``."""
    instruction_space: InstructionSpace = "tokens"
    """``"tokens"``: Box of int64 token ids; ``"text"``: gymnasium ``Text``."""
    instruction_length: int = 8
    """Maximum instruction length in tokens (padded with 0)."""

    def __post_init__(self) -> None:
        _check_config(self)

    def with_overrides(self, **overrides: Any) -> RingConfig:
        """A copy with some fields replaced; unknown names raise ``ConfigError``."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(
                f"unknown RingConfig field(s) {unknown}; valid fields: {sorted(known)}"
            )
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(overrides)
        if isinstance(values["idm"], dict):
            values["idm"] = IDMParams(**values["idm"])
        for name in ("ring_length_range", "target_speeds"):
            if isinstance(values[name], list):
                values[name] = tuple(values[name])
        return RingConfig(**values)

    @property
    def control_dt(self) -> float:
        """Seconds between two control steps."""
        return self.sim_step * self.sim_steps_per_action

    @property
    def length_bounds(self) -> tuple[float, float]:
        """Smallest and largest ring length an episode can have."""
        if self.ring_length_range is None:
            return (self.ring_length, self.ring_length)
        return (float(self.ring_length_range[0]), float(self.ring_length_range[1]))


def _fail(name: str, value: object, fix: str) -> ConfigError:
    return ConfigError(f"RingConfig.{name}={value!r} is invalid: {fix}")


def _check_int(cfg: RingConfig, name: str, low: int) -> None:
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(name, value, f"use an integer >= {low}")


def _check_positive(cfg: RingConfig, name: str, allow_zero: bool = False) -> None:
    value = getattr(cfg, name)
    ok = isinstance(value, int | float) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise _fail(name, value, f"use a finite number {'>=' if allow_zero else '>'} 0")


def _check_config(cfg: RingConfig) -> None:
    _check_int(cfg, "n_vehicles", 2)
    _check_int(cfg, "n_controlled", 1)
    if cfg.n_controlled > cfg.n_vehicles:
        raise _fail("n_controlled", cfg.n_controlled, f"use at most n_vehicles={cfg.n_vehicles}")
    for name in ("sim_steps_per_action", "horizon", "history_length", "instruction_length"):
        _check_int(cfg, name, 1)
    if cfg.instruction_length < MAX_TEMPLATE_TOKENS:
        raise _fail(
            "instruction_length", cfg.instruction_length,
            f"the longest instruction has {MAX_TEMPLATE_TOKENS} tokens: use at least that",
        )
    _check_int(cfg, "warmup_steps", 0)
    _check_int(cfg, "image_size", 36)
    for name in ("ring_length", "sim_step", "vehicle_length", "max_accel", "max_decel"):
        _check_positive(cfg, name)
    for name in ("noise_std", "init_perturbation", "accel_penalty", "collision_penalty"):
        _check_positive(cfg, name, allow_zero=True)
    if cfg.sim_step > 1.0:
        raise _fail("sim_step", cfg.sim_step, "use at most 1.0 s (Flow uses 0.1)")
    if cfg.backend not in ("sumo", "numpy"):
        raise _fail("backend", cfg.backend, "use 'sumo' or 'numpy'")
    if cfg.instruction_space not in ("tokens", "text"):
        raise _fail("instruction_space", cfg.instruction_space, "use 'tokens' or 'text'")
    if not isinstance(cfg.idm, IDMParams):
        raise _fail("idm", cfg.idm, "pass an IDMParams instance")
    rng_ = cfg.ring_length_range
    if rng_ is not None:
        ok = isinstance(rng_, tuple) and len(rng_) == 2
        ok = ok and all(isinstance(v, int | float) and math.isfinite(v) for v in rng_)
        if not ok or rng_[0] > rng_[1] or math.ceil(rng_[0]) > math.floor(rng_[1]):
            raise _fail(
                "ring_length_range", rng_, "use None or (low, high) with low <= high, "
                "containing at least one integer, e.g. (220, 270)"
            )
    min_length = cfg.n_vehicles * (cfg.vehicle_length + 1.0)
    if cfg.length_bounds[0] < min_length:
        which = "ring_length" if rng_ is None else "ring_length_range"
        raise _fail(
            which, getattr(cfg, which),
            f"{cfg.n_vehicles} vehicles of {cfg.vehicle_length} m need a ring of at least "
            f"{min_length:g} m (1 m gap each); lengthen the ring or use fewer vehicles",
        )
    targets = cfg.target_speeds
    if not isinstance(targets, tuple) or not targets:
        raise _fail("target_speeds", targets, "use a non-empty tuple of speeds in m/s")
    bad = [t for t in targets if not any(abs(t - s) < 1e-9 for s in SPEED_TOKENS)]
    if bad:
        raise _fail(
            "target_speeds", targets, f"{bad} are not in the vocabulary: use multiples of 0.5 "
            "between 0.5 and 15 m/s"
        )
