"""benchmarks/eval_cache.py: a repeated evaluation is answered from the shared file, a changed
one is not, a verified hit that differs is counted and replaced by the fresh result."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from eval_cache import CachingEvaluator  # noqa: E402

from evo_lacer.evaluate import FunctionEvaluator  # noqa: E402
from evo_lacer.flat import FlatSpace  # noqa: E402

SPACE = gym.spaces.Dict({"x": gym.spaces.Box(-1.0, 1.0, (6,), np.float32)})
CALLS: list[int] = []
NOISE = {"on": False}


def fitness(tree, module) -> float:
    CALLS.append(1)
    params = sum(p.numel() for p in module.parameters())
    return float(params % 97) / 97 + (float(np.random.default_rng().random()) if NOISE["on"] else 0.0)


def failing(tree, module) -> float:
    CALLS.append(1)
    raise RuntimeError("out of memory (transient)")


def trees(n: int) -> list:
    flat = FlatSpace.load().for_sources(SPACE)
    rng = np.random.default_rng(0)
    return [flat.to_tree(flat.sample(rng)) for _ in range(n)]


def test_a_second_evaluator_on_the_file_answers_repeats_and_only_repeats(tmp_path: Path) -> None:
    CALLS.clear()
    path = tmp_path / "cache.jsonl"
    first = CachingEvaluator(FunctionEvaluator(fitness, SPACE), path, task="t")
    a, b = trees(2)
    fa = first.evaluate(a, 0)
    assert len(CALLS) == 1 and first.misses == 1 and len(path.read_text().splitlines()) == 1
    second = pickle.loads(pickle.dumps(CachingEvaluator(FunctionEvaluator(fitness, SPACE), path, task="t")))
    assert second.evaluate(a, 0).fitness == fa.fitness and len(CALLS) == 1 and second.hits == 1
    second.evaluate(a, 1)  # another evaluation seed
    second.evaluate(b, 0)  # another tree
    CachingEvaluator(FunctionEvaluator(fitness, SPACE), path, task="other").evaluate(a, 0)  # another task
    assert len(CALLS) == 4
    assert first.evaluate(b, 0).fitness == second.evaluate(b, 0).fitness and len(CALLS) == 4  # read back
    hits = [json.loads(line)["tag"] for line in path.with_suffix(".hits.jsonl").read_text().splitlines()]
    assert len(hits) == 3
    assert second.observation_space == SPACE and second.describe() == first._inner.describe()


def test_a_verified_hit_that_differs_is_counted_and_the_fresh_result_used(tmp_path: Path) -> None:
    CALLS.clear()
    path = tmp_path / "cache.jsonl"
    (a,) = trees(1)
    stored = CachingEvaluator(FunctionEvaluator(fitness, SPACE), path, task="t").evaluate(a, 0)
    checking = CachingEvaluator(FunctionEvaluator(fitness, SPACE), path, task="t", verify=1.0)
    assert checking.evaluate(a, 0).fitness == stored.fitness and checking.mismatches == 0
    NOISE["on"] = True
    try:
        fresh = checking.evaluate(a, 0)
    finally:
        NOISE["on"] = False
    assert fresh.fitness != stored.fitness and checking.mismatches == 1 and len(CALLS) == 3
    log = [json.loads(line) for line in path.with_suffix(".verify.jsonl").read_text().splitlines()]
    assert [r["equal"] for r in log] == [True, False]


def test_a_failure_is_not_cached(tmp_path: Path) -> None:
    CALLS.clear()
    cache = CachingEvaluator(FunctionEvaluator(failing, SPACE), tmp_path / "cache.jsonl", task="t")
    (a,) = trees(1)
    assert not cache.evaluate(a, 0).ok and not cache.evaluate(a, 0).ok
    assert len(CALLS) == 2 and not (tmp_path / "cache.jsonl").exists()
