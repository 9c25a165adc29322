"""Benchmark environments: the mixed-autonomy ring road (Flow's Sugiyama setup) with a
multi-source observation, on Eclipse SUMO or an in-process NumPy simulation."""

from typing import Any

from evo_lacer.envs._babyai import BabyAIExpert
from evo_lacer.envs._backend import RingBackend, RingState
from evo_lacer.envs._config import IDMParams, RingConfig
from evo_lacer.envs._env import RingTrafficEnv, make_backend
from evo_lacer.envs._expert import ExpertController, ExpertParams, IDMController
from evo_lacer.envs._instructions import (
    VOCAB,
    Instruction,
    parse_target,
    text_to_tokens,
    tokens_to_text,
)
from evo_lacer.envs._numpy_backend import NumpyRingBackend
from evo_lacer.envs._registration import RING_ENV_ID, register_envs
from evo_lacer.envs._sb3 import make_sb3_vec_env
from evo_lacer.envs._traffic import RingTraffic
from evo_lacer.envs._vector import make_vec_env

__all__ = [
    "RING_ENV_ID",
    "VOCAB",
    "BabyAIExpert",
    "ExpertController",
    "ExpertParams",
    "IDMController",
    "IDMParams",
    "Instruction",
    "NumpyRingBackend",
    "RingBackend",
    "RingConfig",
    "RingState",
    "RingTraffic",
    "RingTrafficEnv",
    "SourcesWrapper",
    "make_backend",
    "make_sb3_vec_env",
    "make_vec_env",
    "needs_sources_wrapper",
    "parse_target",
    "register_envs",
    "text_to_tokens",
    "tokens_to_text",
]


_LAZY = ("SourcesWrapper", "needs_sources_wrapper")
"""Imported on first use: they need the compiler (torch), and ``import evo_lacer`` stays light."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from evo_lacer.envs import _sources

        return getattr(_sources, name)
    raise AttributeError(f"module 'evo_lacer.envs' has no attribute {name!r}")
