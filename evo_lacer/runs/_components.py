"""How a run records its evaluator as data, so that `resume` can rebuild it without running
anything stored in the run folder.

A run folder is data someone may hand you: nothing in it is unpickled. A user's fitness
function is recorded by import path (``package.module:name``, re-imported on resume); the
built-in RL and imitation evaluators by their env id and JSON settings; an observation space
as JSON. What cannot be recorded this way (a lambda, an evaluator object, a custom catalog)
must be passed again to `resume`, which says so.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from evo_lacer.errors import RunStoreError

LEGACY_PICKLE = "components.pkl"
"""The pickle older versions kept in ``artifacts/``; refused, never loaded."""


def import_path(obj: Any) -> str | None:
    """``module:qualname`` that imports back to `obj` itself, or None (lambda, local, ``__main__``)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    try:
        return f"{module}:{qualname}" if load_import_path(f"{module}:{qualname}", "") is obj else None
    except RunStoreError:
        return None


def load_import_path(ref: str, where: str) -> Any:
    """The object named ``module:qualname`` (its module is imported, nothing else is run)."""
    module_name, sep, qualname = ref.partition(":")
    if not sep or not module_name or not qualname:
        raise RunStoreError(f"{where}: {ref!r} is not an import path like 'package.module:name'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise RunStoreError(
            f"{where}: cannot import {module_name!r} for {ref!r} ({type(exc).__name__}: "
            f"{exc}); make it importable (install it, or run from its folder), or pass it again: "
            "resume(run_dir, fitness=... or evaluator=...), `evo-lacer resume DIR --fitness module:name`"
        ) from None
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise RunStoreError(
                f"{where}: {module_name!r} has no attribute {qualname!r}; pass it again: "
                "resume(run_dir, fitness=... or evaluator=...), `evo-lacer resume DIR --fitness module:name`"
            )
        obj = getattr(obj, part)
    return obj


# --- observation spaces as JSON ----------------------------------------------------------------
def space_to_dict(space: Any) -> dict[str, Any] | None:
    """A gymnasium space as JSON data, or None when its type has no JSON form here."""
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "low": space.low.tolist(),
            "high": space.high.tolist(),
            "shape": list(space.shape),
            "dtype": str(space.dtype),
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist(), "dtype": str(space.dtype)}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if type(space) is spaces.Text:
        return {
            "type": "Text",
            "max_length": space.max_length,
            "min_length": space.min_length,
            "charset": "".join(sorted(space.character_set)),
        }
    if isinstance(space, spaces.Dict | spaces.Tuple):
        items = space.spaces.items() if isinstance(space, spaces.Dict) else enumerate(space.spaces)
        parts = {str(k): space_to_dict(s) for k, s in items}
        if any(p is None for p in parts.values()):
            return None
        if isinstance(space, spaces.Dict):
            return {"type": "Dict", "spaces": parts}
        return {"type": "Tuple", "spaces": list(parts.values())}
    return None


def space_from_dict(data: Any, where: str) -> Any:
    """The space `space_to_dict` recorded (RunStoreError naming `where` when it is damaged)."""
    try:
        return _space(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RunStoreError(
            f"{where}: the recorded observation space is damaged ({type(exc).__name__}: "
            f"{exc}); pass observation_space= (or evaluator=) to resume()"
        ) from None


def _space(d: Mapping[str, Any]) -> Any:
    kind = d["type"]
    if kind == "Box":
        return spaces.Box(
            np.asarray(d["low"], dtype=d["dtype"]),
            np.asarray(d["high"], dtype=d["dtype"]),
            tuple(d["shape"]),
            dtype=d["dtype"],
        )
    if kind == "Discrete":
        return spaces.Discrete(int(d["n"]), start=int(d["start"]))
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(np.asarray(d["nvec"]), dtype=d["dtype"])
    if kind == "MultiBinary":
        return spaces.MultiBinary(d["n"])
    if kind == "Text":
        return spaces.Text(int(d["max_length"]), min_length=int(d["min_length"]), charset=str(d["charset"]))
    if kind == "Dict":
        return spaces.Dict({k: _space(v) for k, v in d["spaces"].items()})
    if kind == "Tuple":
        return spaces.Tuple([_space(v) for v in d["spaces"]])
    raise ValueError(f"unknown space type {kind!r}")


# --- recipes ------------------------------------------------------------------------------------
def _json_or_none(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return None


def recipe(
    evaluator: Any,
    *,
    env: Any = None,
    fitness: Any = None,
    kind: str = "",
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """How `resume` rebuilds `evaluator`: JSON data only, ``{"rebuild": False, "why": ...}`` when it can't."""
    name = f"{type(evaluator).__module__}.{type(evaluator).__qualname__}"
    if fitness is not None:
        path = import_path(fitness)
        space = space_to_dict(evaluator.observation_space)
        if path is None or space is None:
            what = (
                "the fitness function has no import path (a lambda, a local or __main__ function)"
                if path is None
                else "the observation space has no JSON form"
            )
            return {"class": name, "rebuild": False, "why": what, "observation_space": space}
        return {
            "class": name,
            "rebuild": True,
            "kind": "function",
            "fitness": path,
            "observation_space": space,
            "description": str(getattr(evaluator, "description", "") or ""),
        }
    if env is not None and kind:
        env_ref = env if isinstance(env, str) else import_path(env)
        settings = _json_or_none(dict(options or {}))
        if env_ref is None or settings is None:
            what = "the env factory has no import path" if env_ref is None else "its options are not JSON"
            return {"class": name, "rebuild": False, "why": what}
        return {
            "class": name,
            "rebuild": True,
            "kind": kind,
            "env": env_ref,
            "env_is_factory": not isinstance(env, str),
            "options": settings,
        }
    return {"class": name, "rebuild": False, "why": "it was passed as an evaluator object"}


def rebuild(data: Any, where: str, catalog: Any) -> Any:
    """The evaluator a `recipe` describes, or None when it cannot be rebuilt from data."""
    if not isinstance(data, Mapping) or not data.get("rebuild"):
        return None
    from evo_lacer import evaluate

    kind = data.get("kind")
    if kind == "function":
        fitness = load_import_path(str(data.get("fitness")), where)
        if not callable(fitness):
            raise RunStoreError(
                f"{where}: the recorded fitness {data.get('fitness')!r} is not callable; pass "
                "fitness= or evaluator= to resume()"
            )
        space = space_from_dict(data.get("observation_space"), where)
        return evaluate.FunctionEvaluator(fitness, space, catalog, str(data.get("description", "")))
    if kind in ("rl", "imitation"):
        env: Any = str(data.get("env"))
        if data.get("env_is_factory"):
            env = load_import_path(str(env), where)
        options = dict(data.get("options") or {})
        if catalog is not None:
            options.setdefault("catalog", catalog)
        try:
            if kind == "rl":
                return evaluate.RLEvaluator(env, **options)
            return evaluate.ImitationEvaluator(env, **options)
        except (TypeError, ValueError) as exc:
            raise RunStoreError(
                f"{where}: the recorded {kind} evaluator settings are damaged ({exc}); pass "
                "evaluator= to resume()"
            ) from None
    raise RunStoreError(f"{where}: unknown evaluator recipe kind {kind!r}; pass evaluator= to resume()")
