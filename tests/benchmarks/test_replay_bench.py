"""benchmarks/replay.py: today's code replays a stored run's trees from its record, and a changed
setting is seen as a difference."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from replay import replay  # noqa: E402

import evo_lacer  # noqa: E402
from evo_lacer.evaluate import FunctionEvaluator  # noqa: E402

SPACE = gym.spaces.Dict({"x": gym.spaces.Box(-1.0, 1.0, (6,), np.float32),
                         "img": gym.spaces.Box(0.0, 1.0, (3, 8, 8), np.float32)})


def fitness(tree, module) -> float:
    return float(sum(p.numel() for p in module.parameters()) % 101) / 101


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("stored") / "run"
    evo_lacer.search(fitness=fitness, observation_space=SPACE, strategy="hybrid", budget=14, seed=5,
                     llm="none", run_dir=run)
    return run


def evaluator() -> FunctionEvaluator:
    return FunctionEvaluator(fitness, SPACE)


def test_the_stored_run_replays_to_the_same_trees_without_evaluating(stored):
    row = replay(stored, evaluator())
    assert row["first_difference"] is None
    assert row["replayed"] == row["recorded"] >= 14
    assert row["misses"] == 0
    best = max(json.loads(line)["feedback"].get("fitness") or 0.0
               for line in (stored / "candidates.jsonl").read_text().splitlines())
    assert row["best"] == pytest.approx(best)


def changed_copy(stored: Path, to: Path, key: str, value) -> Path:
    """The stored run's record and config in `to`, one setting changed."""
    to.mkdir()
    for name in ("candidates.jsonl", "run.json"):
        (to / name).write_bytes((stored / name).read_bytes())
    doc = json.loads((to / "run.json").read_text())
    doc["config"][key] = value
    (to / "run.json").write_text(json.dumps(doc))
    return to


def test_a_changed_setting_is_a_difference(stored, tmp_path):
    changed = changed_copy(stored, tmp_path / "changed", "seed", 6)
    with pytest.warns(RuntimeWarning, match="not in the record"):  # another seed: no tree is in it
        row = replay(changed, evaluator())
    assert row["first_difference"] is not None
    assert row["misses"] > 0


def test_a_run_with_an_llm_is_refused(stored, tmp_path):
    changed = changed_copy(stored, tmp_path / "llm", "llm", "embedded")
    with pytest.raises(SystemExit, match="only runs without an LLM"):
        replay(changed, evaluator())
