"""evo-lacer: evolve multi-source state encoders for RL agents, with a local LLM as a tool.

``import evo_lacer`` registers ``evo_lacer/RingTraffic-v0`` with gymnasium and stays light:
the search API (and with it torch, optuna, deap) is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from evo_lacer.envs import RING_ENV_ID, register_envs
from evo_lacer.errors import EvoLacerError

__version__ = "0.1.0"

register_envs()

_LAZY = {
    "search": "evo_lacer.api",
    "resume": "evo_lacer.api",
    "SearchConfig": "evo_lacer.api",
    "SearchResult": "evo_lacer.api",
    "compile_tree": "evo_lacer.compile",
    "FunctionEvaluator": "evo_lacer.evaluate",
    "RLEvaluator": "evo_lacer.evaluate",
    "Feedback": "evo_lacer.evaluate",
    "Status": "evo_lacer.evaluate",
    "load_tree": "evo_lacer.tree",
    "builtin_catalog": "evo_lacer.zoo",
    "mine": "evo_lacer.zoo",
    "llm_check": "evo_lacer.engine._llm_check",
    "LLMCheck": "evo_lacer.engine._llm_check",
    "sb3_policy_kwargs": "evo_lacer.runs",
}

__all__ = ["RING_ENV_ID", "EvoLacerError", "__version__", "register_envs", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'evo_lacer' has no attribute {name!r}")
