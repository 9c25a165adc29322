"""Shared pieces of the search tests: a small observation space, cheap picklable fitness
functions, and test doubles of an LLM service (first-option, garbage, timeout, crashing)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from gymnasium import spaces

from evo_lacer.compile import parameter_count
from evo_lacer.errors import LLMInvalidAnswer, LLMTimeout
from evo_lacer.llm import LLMReply, LLMRequest, validate

TARGET_PARAMS = 5000


def small_space() -> spaces.Dict:
    """Two sources: a sensor vector and a short time series."""
    return spaces.Dict({"ego": spaces.Box(-1.0, 1.0, (6,)), "hist": spaces.Box(-1.0, 1.0, (8, 3))})


def param_fitness(tree: Any, module: Any) -> float:
    """Closer to TARGET_PARAMS parameters is better."""
    return -abs(parameter_count(module) - TARGET_PARAMS) / 1000.0


def rich_fitness(tree: Any, module: Any) -> dict[str, Any]:
    """A fitness with task metrics and feature statistics (LACER's signals)."""
    n = parameter_count(module)
    return {"fitness": -abs(n - TARGET_PARAMS) / 1000.0, "metrics": {"params": float(n)},
            "features": {"fused/width": float(module.features_dim)}}


def failing_fitness(tree: Any, module: Any) -> float:
    """Fails for every encoder with more than TARGET_PARAMS parameters."""
    n = parameter_count(module)
    if n > TARGET_PARAMS:
        raise ValueError(f"too big: {n} parameters")
    return n / TARGET_PARAMS


def logging_fitness(tree: Any, module: Any) -> float:
    """param_fitness that sleeps a little and logs each completed call to $EVO_TEST_LOG."""
    time.sleep(float(os.environ.get("EVO_TEST_SLEEP", "0.15")))
    value = param_fitness(tree, module)
    path = os.environ.get("EVO_TEST_LOG")
    if path:
        from evo_lacer.tree import tree_hash

        with open(path, "a", encoding="utf-8") as fh:
            fh.write(tree_hash(tree) + "\n")
    return value


def first_answer(schema: dict[str, Any]) -> Any:
    """The simplest value matching one of our schemas: the first option everywhere."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return first_answer(schema["anyOf"][0])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: first_answer(props[name]) for name in schema.get("required", props)}
    if kind == "array":
        return [first_answer(schema["items"]) for _ in range(schema.get("minItems", 1))]
    if kind == "string":
        return "keep the first option"[: schema.get("maxLength", 40)]
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True
    return None


class FirstOptionBackend:
    """A deterministic stand-in for an LLM service: always answers the first legal option."""

    name = "first-option"
    model = "test"

    def __init__(self) -> None:
        self.requests: list[LLMRequest] = []

    def complete(self, request: LLMRequest) -> LLMReply:
        self.requests.append(request)
        value = first_answer(request.schema)
        validate(value, request.schema)
        return LLMReply(value, json.dumps(value), 10, 5, 0.0, self.name, self.model)


def seeded_answer(schema: dict[str, Any], rng: Any) -> Any:
    """A random value matching one of our object/enum/const/anyOf schemas."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][int(rng.integers(0, len(schema["enum"])))]
    if "anyOf" in schema:
        return seeded_answer(schema["anyOf"][int(rng.integers(0, len(schema["anyOf"])))], rng)
    if schema.get("type") == "object":
        props = schema.get("properties", {})
        return {name: seeded_answer(props[name], rng) for name in schema.get("required", props)}
    return first_answer(schema)


class SeededBackend(FirstOptionBackend):
    """A stand-in LLM service that answers a legal value drawn from the request's seed (so
    LACER-style proposals differ) and records every request."""

    name = "seeded"

    def complete(self, request: LLMRequest) -> LLMReply:
        import numpy as np

        self.requests.append(request)
        value = seeded_answer(request.schema, np.random.default_rng(request.seed))
        validate(value, request.schema)
        return LLMReply(value, json.dumps(value), 10, 5, 0.0, self.name, self.model)


class GarbageBackend:
    """An LLM service that answers text that is not JSON."""

    name = "garbage"
    model = "test"

    def complete(self, request: LLMRequest) -> LLMReply:
        raise LLMInvalidAnswer("answer is not valid JSON: 'I think you should use a transformer!'")


class WrongValueBackend:
    """An LLM service whose answer parses but names options that were never listed."""

    name = "wrong"
    model = "test"

    def complete(self, request: LLMRequest) -> LLMReply:
        props = request.schema.get("properties", {})
        value = {k: "not-an-option" for k in props}
        return LLMReply(value, json.dumps(value), 10, 5, 0.0, self.name, self.model)


class TimeoutBackend:
    """An LLM service that never answers in time."""

    name = "slow"
    model = "test"

    def complete(self, request: LLMRequest) -> LLMReply:
        raise LLMTimeout(f"did not answer within {request.timeout_s} s")


class CrashingBackend:
    """A backend with a bug: raises something that is not an LLMError."""

    name = "crashing"
    model = "test"

    def complete(self, request: LLMRequest) -> LLMReply:
        raise ZeroDivisionError("division by zero")


def probe_fitness(tree: Any, module: Any) -> dict[str, Any]:
    """param_fitness with a probe-quality feature (LACER's signal) that grows with the width."""
    width = float(module.features_dim)
    return {"fitness": param_fitness(tree, module), "features": {"probe_r2/speed": min(1.0, width / 512)}}


def complete_lines(path: Any) -> list[str]:
    """The JSON lines of a run log (a kill may leave a partial last line, which the store cuts)."""
    from pathlib import Path

    out = []
    for line in Path(path).read_text().splitlines() if Path(path).exists() else []:
        try:
            json.loads(line)
        except json.JSONDecodeError:
            continue
        out.append(line)
    return out


def record_checkpoints(monkeypatch: Any) -> list[tuple[str, int]]:
    """Patch the run store so each saved checkpoint is kept as (its JSON, the complete candidate
    lines at that moment); ``monkeypatch.undo()`` stops it."""
    from evo_lacer.runs import RunStore

    saved: list[tuple[str, int]] = []
    original = RunStore.save_state

    def keep(self: Any, name: str, state: Any, **kw: Any) -> None:
        original(self, name, state, **kw)
        if name == "checkpoint":
            saved.append((json.dumps(state), len(complete_lines(self.path / "candidates.jsonl"))))

    monkeypatch.setattr(RunStore, "save_state", keep)
    return saved


def cut_run(run_dir: Any, reference: Any, checkpoint: tuple[str, int], lines: list[str]) -> Any:
    """A run folder as a kill would leave it: `reference`'s config, one of its recorded checkpoints,
    and the candidate lines written by then (``lines``: the reference's complete lines)."""
    from pathlib import Path

    run_dir, reference = Path(run_dir), Path(reference)
    (run_dir / "state").mkdir(parents=True)
    (run_dir / "run.json").write_text((reference / "run.json").read_text())
    (run_dir / "state" / "checkpoint.json").write_text(checkpoint[0])
    (run_dir / "candidates.jsonl").write_text("".join(line + "\n" for line in lines[:checkpoint[1]]))
    return run_dir


def kill_after(proc: Any, log: Any, count: int, limit_s: float = 300.0) -> list[str]:
    """SIGKILL the search `proc` once `log` holds `count` complete lines; returns those lines."""
    import signal

    deadline = time.monotonic() + limit_s
    try:
        while len(complete_lines(log)) < count:
            assert proc.poll() is None, f"the search ended early: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "the search did not get far enough in time"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    return complete_lines(log)
