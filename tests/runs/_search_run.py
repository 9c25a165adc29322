"""A real (small, fast) hybrid search whose run folder holds every kind of record the report
draws: initial samples, random and LLM edits, whole LLM designs, failures, gate rejections,
feature statistics per branch, arms and an LLM log."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from evo_lacer.compile import parameter_count
from evo_lacer.llm import LLMReply, LLMRequest, validate


def small_space() -> spaces.Dict:
    return spaces.Dict({"ego": spaces.Box(-1.0, 1.0, (6,)), "hist": spaces.Box(-1.0, 1.0, (8, 3))})


def mixed_fitness(tree: Any, module: Any) -> dict[str, Any]:
    """Closer to 5,000 parameters is better; above 40,000 the evaluation fails. Feature
    statistics per branch as the RL evaluators report them, derived from the size."""
    n = parameter_count(module)
    if n > 40_000:
        raise ValueError(f"too big to train here: {n} parameters")
    x = math.log10(max(n, 10))
    return {"fitness": -abs(n - 5000) / 1000.0, "metrics": {"params": float(n), "reward": 10 - x},
            "features": {"ego/effective_rank": 2 + x, "hist/effective_rank": 1 + x / 2,
                         "fused/effective_rank": 3 + x, "ego/probe_r2_mean": min(1.0, x / 5),
                         "hist/probe_r2_mean": min(1.0, x / 6), "ego/dead_units": 0.1, "hist/dead_units": 0.0,
                         "redundancy/ego~hist": min(1.0, x / 8),
                         "probe_r2/speed": min(1.0, x / 5.5), "probe_r2/gap": min(1.0, x / 7)}}


def _answer(schema: dict[str, Any], rng: np.random.Generator) -> Any:
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][int(rng.integers(0, len(schema["enum"])))]
    if "anyOf" in schema:
        return _answer(schema["anyOf"][int(rng.integers(0, len(schema["anyOf"])))], rng)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _answer(props[name], rng) for name in schema.get("required", props)}
    if kind == "array":
        return [_answer(schema["items"], rng) for _ in range(schema.get("minItems", 1))]
    if kind == "string":
        return "prefer a wider ego branch"[: schema.get("maxLength", 40)]
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    return True if kind == "boolean" else None


class SeededLLM:
    """A stand-in for an LLM service (the network service is not ours): a legal answer drawn
    from the request's seed, so the search's LLM arms, log and accounting are all real."""

    name = "seeded"
    model = "stand-in"

    def complete(self, request: LLMRequest) -> LLMReply:
        value = _answer(request.schema, np.random.default_rng(request.seed))
        validate(value, request.schema)
        return LLMReply(value, json.dumps(value), 40, 8, 0.01, self.name, self.model)


def make_search_run(run_dir: Path, budget: int = 16, seed: int = 0) -> Path:
    import evo_lacer

    with warnings.catch_warnings():  # the stand-in is at chance on the LLM check, and says so
        warnings.simplefilter("ignore", RuntimeWarning)
        evo_lacer.search(fitness=mixed_fitness, observation_space=small_space(), strategy="hybrid",
                         llm=SeededLLM(), budget=budget, seed=seed, workers=0, max_params=60_000,
                         run_dir=run_dir, llm_check_probes=3)
    return run_dir
