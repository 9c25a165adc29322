"""RingConfig validation: bad values raise ConfigError naming the field and the fix."""

from __future__ import annotations

import pytest

from evo_lacer.envs import IDMParams, RingConfig, RingTrafficEnv
from evo_lacer.errors import ConfigError, EnvError, EvoLacerError


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("n_vehicles", 1, ">= 2"),
        ("n_controlled", 0, ">= 1"),
        ("n_controlled", 30, "at most n_vehicles"),
        ("ring_length", 50.0, "at least"),
        ("ring_length_range", (270.0, 220.0), "low <= high"),
        ("ring_length_range", (100.0, 260.0), "at least"),
        ("sim_step", 0.0, "> 0"),
        ("sim_step", 2.0, "at most 1.0"),
        ("sim_steps_per_action", 0, ">= 1"),
        ("warmup_steps", -1, ">= 0"),
        ("horizon", 0, ">= 1"),
        ("history_length", 0, ">= 1"),
        ("image_size", 20, ">= 36"),
        ("backend", "carla", "'sumo' or 'numpy'"),
        ("instruction_space", "audio", "'tokens' or 'text'"),
        ("instruction_length", 2, "at least"),
        ("noise_std", -0.1, ">= 0"),
        ("max_accel", 0.0, "> 0"),
        ("max_decel", float("nan"), "> 0"),
        ("target_speeds", (), "non-empty"),
        ("target_speeds", (4.2,), "multiples of 0.5"),
        ("idm", {"v0": 30}, "IDMParams"),
    ],
)
def test_bad_field_names_field_and_fix(field: str, value: object, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        RingConfig(**{field: value})  # type: ignore[arg-type]
    message = str(err.value)
    assert f"RingConfig.{field}=" in message
    assert hint in message


def test_config_error_is_in_the_hierarchy() -> None:
    with pytest.raises(EvoLacerError):
        RingConfig(horizon=0)
    with pytest.raises(ValueError, match="horizon"):
        RingConfig(horizon=0)


def test_bad_idm_parameter() -> None:
    with pytest.raises(ConfigError, match=r"IDMParams\.T=-1"):
        IDMParams(T=-1.0)


def test_overrides_unknown_field_listed() -> None:
    with pytest.raises(ConfigError, match=r"unknown RingConfig field.*'speed_limit'"):
        RingConfig().with_overrides(speed_limit=3)


def test_overrides_accept_plain_containers() -> None:
    cfg = RingConfig().with_overrides(
        ring_length_range=[220, 270], target_speeds=[3.0], idm={"T": 1.5}
    )
    assert cfg.ring_length_range == (220, 270)
    assert cfg.target_speeds == (3.0,)
    assert cfg.idm.T == 1.5
    assert cfg.control_dt == pytest.approx(0.5)


def test_env_kwargs_are_validated() -> None:
    with pytest.raises(ConfigError, match="horizon"):
        RingTrafficEnv(backend="numpy", horizon=-3)
    with pytest.raises(EnvError, match="render_mode"):
        RingTrafficEnv(backend="numpy", render_mode="human")


def test_bad_reset_options() -> None:
    env = RingTrafficEnv(backend="numpy", warmup_steps=0, horizon=2)
    with pytest.raises(ConfigError, match="target_speeds"):
        env.reset(seed=0, options={"target_speed": 4.3})
    with pytest.raises(ConfigError, match="ring_length"):
        env.reset(seed=0, options={"ring_length": 40.0})
    with pytest.raises(ConfigError, match="template"):
        env.reset(seed=0, options={"template": 99})
    with pytest.raises(ConfigError, match="unknown reset option"):
        env.reset(seed=0, options={"lanes": 2})


def test_step_before_reset_raises() -> None:
    env = RingTrafficEnv(backend="numpy")
    with pytest.raises(EnvError, match="reset"):
        env.step(env.action_space.sample())
