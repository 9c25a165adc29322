"""FunctionEvaluator: score trees with a user's callable ``fitness(tree, module)``.

The callable gets the tree and its compiled ``torch.nn.Module`` and returns a number, a dict
(``{"fitness": ..., "metrics": {...}, "features": {...}, "objectives": [...]}``) or a
`FitnessRecord`. Anything it raises becomes a FAILED feedback carrying the message: a bad
candidate never stops a search. The evaluator pickles whenever the callable does (a module-level
function does; a lambda does not), which worker processes need.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import torch

from evo_lacer.errors import ConfigError
from evo_lacer.evaluate._feedback import Cost, Feedback, Status
from evo_lacer.tree import Node
from evo_lacer.zoo import Catalog


@dataclass(frozen=True)
class FitnessRecord:
    """A fitness with the optional signals LACER feeds back to the designer."""

    fitness: float
    """The value maximized."""
    metrics: Mapping[str, float] = field(default_factory=dict)
    """Task metrics (e.g. accuracy, average reward)."""
    features: Mapping[str, float] = field(default_factory=dict)
    """Feature statistics of the encoder (e.g. effective rank)."""
    objectives: tuple[float, ...] = ()
    """Extra maximized objectives for multi-objective selection."""


FitnessValue = float | int | Mapping[str, Any] | FitnessRecord
FitnessFn = Callable[[Node, torch.nn.Module], FitnessValue]
_KEYS = ("fitness", "metrics", "features", "objectives")


def _record(value: object) -> FitnessRecord:
    """Normalize what a fitness callable returned (ValueError / TypeError explain a bad return)."""
    if isinstance(value, FitnessRecord):
        return value
    if isinstance(value, bool):
        raise TypeError("fitness returned a bool; return a number, a dict or a FitnessRecord")
    if isinstance(value, int | float) or (isinstance(value, torch.Tensor) and value.numel() == 1):
        return FitnessRecord(float(value))
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return FitnessRecord(float(value.item()))
    if isinstance(value, Mapping):
        unknown = sorted(set(map(str, value)) - set(_KEYS))
        if unknown:
            raise ValueError(f"fitness returned a dict with unknown keys {unknown}; allowed: {list(_KEYS)}")
        if "fitness" not in value:
            raise ValueError("fitness returned a dict without a 'fitness' key")
        return FitnessRecord(
            float(value["fitness"]),
            {str(k): float(v) for k, v in dict(value.get("metrics") or {}).items()},
            {str(k): float(v) for k, v in dict(value.get("features") or {}).items()},
            tuple(float(v) for v in value.get("objectives") or ()),
        )
    raise TypeError(f"fitness returned {type(value).__name__}; return a number, a dict or a FitnessRecord")


def _check_finite(record: FitnessRecord) -> None:
    """A NaN / infinite metric, feature or objective is refused like a NaN fitness (a FAILED
    feedback naming it): stored, it would rank and plot as a number."""
    named = [*(("metrics", k, v) for k, v in record.metrics.items()),
             *(("features", k, v) for k, v in record.features.items()),
             *(("objectives", i, v) for i, v in enumerate(record.objectives))]
    for what, key, value in named:
        if not math.isfinite(value):
            raise ValueError(f"fitness returned a non-finite {what}[{key!r}] = {value!r}; return finite "
                             f"numbers (leave out a {what[:-1]} that has no value)")


def _message(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]


class FunctionEvaluator:
    """An `Evaluator` around a user callable ``fitness(tree, module) -> float | dict | FitnessRecord``.

    ``catalog``: the module catalog trees are compiled with (default: the built-in zoo).
    ``description``: the task text LLM prompts carry (default: names the callable and the space).
    The module is built under ``torch.random.fork_rng`` seeded with the job seed, so weights are
    reproducible and the caller's global torch RNG is left untouched.
    """

    def __init__(self, fitness: FitnessFn, observation_space: gym.Space, catalog: Catalog | None = None,
                 description: str = "") -> None:
        if not callable(fitness):
            raise ConfigError("fitness must be a callable fitness(tree, module), "
                              f"got {type(fitness).__name__}")
        if not isinstance(observation_space, gym.Space):
            raise ConfigError("observation_space must be a gymnasium Space, "
                              f"got {type(observation_space).__name__}")
        self.fitness = fitness
        self.observation_space = observation_space
        self.catalog = catalog
        self.description = description

    def __repr__(self) -> str:
        return f"FunctionEvaluator({getattr(self.fitness, '__qualname__', self.fitness)!r})"

    def describe(self) -> str:
        if self.description:
            return self.description
        name = getattr(self.fitness, "__qualname__", type(self.fitness).__name__)
        doc = (getattr(self.fitness, "__doc__", None) or "").strip().split("\n")[0]
        return (f"Maximize the user fitness function {name!r}{': ' + doc if doc else ''}. "
                f"Observation space: {self.observation_space}.")

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        from evo_lacer.compile import compile_tree

        start = time.perf_counter()
        stage = "compile"
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                # no dummy forward here: the search's gate ran one; a module that fails its
                # forward fails in the fitness function, recorded with the traceback's last line
                module = compile_tree(tree, self.observation_space, self.catalog, check=False)
                stage = "fitness"
                record = _record(self.fitness(tree, module))
            if not math.isfinite(record.fitness):
                raise ValueError(f"fitness returned a non-finite value {record.fitness!r}")
            _check_finite(record)
        except Exception as exc:
            what = "compiling the tree" if stage == "compile" else "the fitness function"
            return Feedback.failure(Status.FAILED, f"{what} raised {_message(exc)}",
                                    Cost(seconds=time.perf_counter() - start))
        return Feedback(status=Status.OK, fitness=record.fitness, metrics=dict(record.metrics),
                        features=dict(record.features), objectives=tuple(record.objectives),
                        cost=Cost(seconds=time.perf_counter() - start))
