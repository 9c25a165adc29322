"""The checks of a `SearchConfig`: each bad setting is a `ConfigError` that names the field, the
value and a working fix; the name-list fields come back normalized."""

from __future__ import annotations

import functools
import math
import typing
from dataclasses import fields
from typing import TYPE_CHECKING

from evo_lacer.engine._population import check_objectives
from evo_lacer.engine._registry import STRATEGY_REGISTRY
from evo_lacer.errors import ConfigError
from evo_lacer.execute._base import check_address
from evo_lacer.llm._factory import parse_spec

if TYPE_CHECKING:
    from evo_lacer.engine._config import SearchConfig


OWN_CHECKS = ("strategy", "screen_kernel")
"""Settings annotated as names whose check says more than the names (below)."""

MAX_SEED = 2**32 - 1
INTEGERS: dict[str, tuple[int, bool]] = {
    "budget": (1, False), "seed": (0, False), "population_size": (1, True), "batch_size": (1, True),
    "tournament_size": (1, False), "max_proposals_factor": (1, False), "workers": (0, False),
    "initial_designs": (0, True), "llm_initial_designs": (0, True), "max_edits": (1, False),
    "llm_check_probes": (0, False), "screen_variants": (1, True), "screen_designs": (0, True),
    "screen_design_reuse": (1, False), "initial_evaluations": (0, False), "max_params": (1, True),
    "gate_threads": (1, False), "n_startup_trials": (0, False), "insight_memory": (0, False),
    "history_in_prompt": (0, False), "max_sites": (1, False), "llm_max_tokens": (1, False),
}
"""The integer settings: (least value, None allowed)."""
NUMBERS: dict[str, tuple[float, bool, bool]] = {
    "arm_cost_weight": (0.0, False, False), "novelty_weight": (0.0, False, False),
    "feature_weight": (0.0, False, False), "llm_temperature": (0.0, False, False),
    "eval_timeout_s": (0.0, True, True), "llm_timeout_s": (0.0, True, False),
    "max_latency_ms": (0.0, True, True),
}
"""The real-valued settings without an upper bound: (lower bound, bound excluded, None allowed); the
fractions have their own checks."""

@functools.cache
def choices() -> dict[str, tuple[str, ...]]:
    """Every other `SearchConfig` setting annotated as a ``Literal`` of names (the command line offers
    the same), and those names."""
    from evo_lacer.engine._config import SearchConfig

    hints = typing.get_type_hints(SearchConfig)
    return {f.name: typing.get_args(hints[f.name]) for f in fields(SearchConfig)
            if typing.get_origin(hints[f.name]) is typing.Literal and f.name not in OWN_CHECKS}


def check_config(cfg: SearchConfig) -> dict[str, tuple[str, ...]]:
    """Raise `ConfigError` on the first bad setting of `cfg`; return its name-list fields
    (``llm_channels``, ``arms``, ``objectives``) as tuples of known names."""
    if cfg.strategy not in STRATEGY_REGISTRY:
        raise ConfigError(f"unknown strategy {cfg.strategy!r}; choose one of {tuple(STRATEGY_REGISTRY)}")
    for name, (least, none_ok) in INTEGERS.items():
        value = getattr(cfg, name)
        if value is None and none_ok:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            what = "an integer >= 0" if least == 0 else "a positive integer"
            what += " or None" if none_ok else ""
            raise ConfigError(f"SearchConfig.{name} must be {what}, got {value!r}")
    if cfg.seed > MAX_SEED:
        raise ConfigError(f"SearchConfig.seed must be an integer in 0..{MAX_SEED} (2**32 - 1: what Optuna's "
                          f"and NumPy's seeded samplers take), got {cfg.seed!r}")
    for name, (low, strict, none_ok) in NUMBERS.items():
        value = getattr(cfg, name)
        if value is None and none_ok:
            continue
        if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
                or value < low or (strict and value == low)):
            what = f"{'>' if strict else '>='} {low:g}{' or None' if none_ok else ''}"
            finite = " (not a finite number)" if isinstance(value, float) and not math.isfinite(value) else ""
            raise ConfigError(f"SearchConfig.{name} must be {what}, got {value!r}{finite}")
    elitism = cfg.elitism
    if not isinstance(elitism, int) or isinstance(elitism, bool) or not 0 <= elitism <= cfg.population:
        raise ConfigError(f"SearchConfig.elitism must be an integer in 0..population_size "
                          f"({cfg.population}), got {cfg.elitism}")
    from evo_lacer.engine._screen import KERNELS

    if cfg.screen_kernel not in KERNELS:
        raise ConfigError(f"SearchConfig.screen_kernel must be one of {KERNELS}, "
                          f"got {cfg.screen_kernel!r}")
    for name, allowed in choices().items():
        if getattr(cfg, name) not in allowed:
            raise ConfigError(f"SearchConfig.{name} must be {_one_of(allowed)}, got {getattr(cfg, name)!r}")
    if (isinstance(cfg.short_fraction, bool) or not isinstance(cfg.short_fraction, int | float)
            or not 0.0 < cfg.short_fraction <= 1.0):
        raise ConfigError(f"SearchConfig.short_fraction must be a fraction in (0, 1], e.g. 0.25; "
                          f"got {cfg.short_fraction!r}")
    if not 0.0 < cfg.promote <= 1.0:
        raise ConfigError(f"SearchConfig.promote must be a fraction in (0, 1], got {cfg.promote!r}")
    if not 0.0 <= cfg.epsilon <= 1.0:
        raise ConfigError(f"SearchConfig.epsilon must be in [0, 1], got {cfg.epsilon}")
    if isinstance(cfg.llm, str) and not cfg.llm.startswith("custom:"):
        parse_spec(cfg.llm)  # every strategy: a misspelt --llm is an error even where no LLM is used
    normalized = {"llm_channels": _channels(cfg.llm_channels), "arms": _arms(cfg.arms)}
    names = (cfg.objectives,) if isinstance(cfg.objectives, str) else cfg.objectives
    normalized["objectives"] = tuple(n.strip() for item in names for n in str(item).split(",") if n.strip())
    check_objectives(normalized["objectives"])
    if cfg.worker_memory_mb is not None and (
            not isinstance(cfg.worker_memory_mb, int) or isinstance(cfg.worker_memory_mb, bool)
            or cfg.worker_memory_mb < 0):
        raise ConfigError(f"SearchConfig.worker_memory_mb must be an integer >= 0 (MB; 0: no limit) or "
                          f"None (automatic), got {cfg.worker_memory_mb!r}")
    if cfg.eval_timeout_s is not None and (cfg.workers == 0 or cfg.executor == "inprocess"):
        raise ConfigError(
            f"SearchConfig.eval_timeout_s={cfg.eval_timeout_s:g} cannot hold in process (workers=0 or "
            "executor='inprocess' cannot stop an evaluation); use workers >= 1 with executor 'auto' "
            "or 'process', or drop eval_timeout_s")
    if cfg.dask_address is not None:
        check_address(cfg.dask_address)
    if cfg.dask_address is not None and cfg.executor not in ("auto", "dask"):
        raise ConfigError(f"SearchConfig.dask_address={cfg.dask_address!r} runs evaluations on a Dask "
                          f"cluster, but executor={cfg.executor!r}; pass executor='dask' "
                          "(--executor dask) or drop dask_address")
    if cfg.workers == 0 and (cfg.executor in ("process", "dask") or cfg.dask_address is not None):
        what = f"executor={cfg.executor!r}" if cfg.dask_address is None else "dask_address"
        raise ConfigError(f"SearchConfig.{what} needs workers >= 1 (workers=0 evaluates in this "
                          "process); pass --workers 1 or more")
    return normalized


def _names(value: object, field: str, known: tuple[str, ...], example: str) -> tuple[str, ...]:
    """A tuple-of-names field as a tuple of known names (a comma-separated string is accepted)."""
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, tuple | list):
        raise ConfigError(f"SearchConfig.{field} must be names from {known}, got {value!r}")
    names = tuple(dict.fromkeys(n.strip() for item in items for n in str(item).split(",") if n.strip()))
    bad = [n for n in names if n not in known]
    if bad:
        raise ConfigError(f"SearchConfig.{field}: unknown name(s) {bad}; choose from {known} "
                          f"(e.g. {example})")
    return names


def _channels(value: object) -> tuple[str, ...]:
    """``llm_channels`` as a tuple of known signal names."""
    from evo_lacer.evaluate._filter import CHANNELS

    return _names(value, "llm_channels", CHANNELS, "--llm-channels metrics features")


def _arms(value: object) -> tuple[str, ...]:
    """``arms`` as a tuple of known arm names."""
    from evo_lacer.engine._arms import ARMS

    return _names(value, "arms", ARMS, "--arms edit:random design:llm")


def _one_of(names: tuple[str, ...]) -> str:
    """``'a', 'b' or 'c'``."""
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
