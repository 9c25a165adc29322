"""search(fitness=...) on Tuple and nested Dict spaces: candidates pass the gate and are evaluated,
and the best module takes the observation as the space samples it, batched."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
import torch

import evo_lacer
from evo_lacer.evaluate import Status
from evo_lacer.transform import dummy_batch

NESTED = gym.spaces.Dict({"a": gym.spaces.Dict({"b": gym.spaces.Box(-1, 1, (3,))}),
                          "c": gym.spaces.MultiDiscrete([3, 4])})
TUPLE = gym.spaces.Tuple((gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(3)))


def params(tree: object, module: torch.nn.Module) -> float:
    return -float(sum(p.numel() for p in module.parameters()))


@pytest.mark.parametrize(("space", "strategy"), [(NESTED, "evolution"), (TUPLE, "random")])
def test_a_fitness_search_on_a_nested_space_evaluates(space: gym.Space, strategy: str,
                                                      tmp_path: Path) -> None:
    result = evo_lacer.search(fitness=params, observation_space=space, budget=2, strategy=strategy,
                              llm="none", run_dir=tmp_path / "run")
    assert [c.feedback.status for c in result.history] == [Status.OK, Status.OK]
    assert result.best_module is not None
    with torch.no_grad():
        out = result.best_module(dummy_batch(space, 3))
    assert out.shape[0] == 3
