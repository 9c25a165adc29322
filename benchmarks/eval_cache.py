"""An evaluation cache for paired benchmark runs on one machine.

A search with an LLM makes the very trees of its ``--llm none`` twin until the screen (or, with
``llm_trust="learned"``, the trust) takes the model's answer (README, "With a local LLM"), and an
evaluation here is deterministic on one machine: the same tree with the same evaluation seed,
evaluator settings and code scores the same, bit for bit. So the second run of a pair need not
repeat the first run's evaluations: `CachingEvaluator` stores each evaluation's feedback under a
key of (tree, seed, task, the package's source, this machine) in a JSON-lines file several
processes share, and answers a repeated evaluation from it.

What it does not change: the search sees the feedback the real evaluator gave (its fitness,
metrics and recorded seconds), so the run's trees and decisions are those of an uncached run.
What it changes: the run's wall time (a hit costs milliseconds), so quote wall times from uncached
runs only. ``verify`` re-evaluates that share of the hits (chosen by key, so the same ones every
time) and logs the comparison to ``<cache>.verify.jsonl``; a mismatch uses the fresh feedback and is
counted (`mismatches`), so a cache that would change a result says so.

Nothing in the file is executed when it is read: it holds JSON records (a tree's hash, numbers,
strings), and `Feedback.from_dict` validates each.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

from evo_lacer.evaluate import Feedback
from evo_lacer.tree import Node, node_to_dict

PACKAGE = Path(__file__).resolve().parents[1] / "evo_lacer"
BENCHMARKS = Path(__file__).resolve().parent


def machine() -> str:
    """This machine as far as an evaluation's bits go: host, CPU model, torch and NumPy versions."""
    import numpy
    import torch

    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    return f"{platform.node()}|{cpu}|torch {torch.__version__}|numpy {numpy.__version__}"


TASK_SOURCES = ("multisource.py", "devtask.py", "warehouse.py")
"""The benchmark modules an evaluation runs (the supervised tasks' data and fitness); the ring's
evaluator is the package's own, with its settings in the task's name."""


def code_digest() -> str:
    """The package's and the benchmark tasks' source: a change to either invalidates the cache (a
    change to a benchmark script that only runs searches, or to this file, does not)."""
    h = hashlib.sha256()
    for path in sorted([*PACKAGE.rglob("*.py"), *(BENCHMARKS / name for name in TASK_SOURCES)]):
        h.update(str(path.relative_to(PACKAGE.parent)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


class Wrapping:
    """An evaluator around another (`_inner`): every attribute it does not define is the inner
    one's (observation_space, describe, isolate, ...); subclasses define `evaluate`."""

    _inner: Any

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # (unpickling: `_inner` is not set yet)
            raise AttributeError(name)
        return getattr(self._inner, name)

    @property
    def observation_space(self) -> Any:
        return self._inner.observation_space

    def describe(self) -> str:
        return str(self._inner.describe())


class CachingEvaluator(Wrapping):
    """Wraps an evaluator; see module docstring. Picklable (the cache is re-read in each process)."""

    def __init__(self, inner: Any, path: str | os.PathLike[str], *, task: str, verify: float = 0.0,
                 tag: str = "") -> None:
        if not 0.0 <= verify <= 1.0:
            raise ValueError(f"verify={verify!r}: the share of hits to re-evaluate must be in [0, 1]")
        self._inner = inner
        self.path = Path(path)
        self.task = task
        self.verify = verify
        self.tag = tag
        """Names the run in ``<cache>.hits.jsonl`` (what each run took from the cache)."""
        self.salt = f"{task}|{code_digest()}|{machine()}"
        self.hits = self.misses = self.mismatches = 0
        self._known: dict[str, dict[str, Any]] = {}
        self._read_to = 0

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_known": {}, "_read_to": 0}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"CachingEvaluator({self._inner!r}, {str(self.path)!r}, task={self.task!r})"

    def key(self, tree: Node, seed: int) -> str:
        text = json.dumps({"tree": node_to_dict(tree), "seed": int(seed), "salt": self.salt}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _refresh(self) -> None:
        """Read what this or another process appended since the last read."""
        if not self.path.is_file():
            return
        with self.path.open("rb") as f:
            f.seek(self._read_to)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        for line in data[:end].splitlines():
            if line.strip():
                record = json.loads(line)
                self._known[str(record["key"])] = dict(record["feedback"])
        self._read_to += end

    def _append(self, path: Path, record: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.write(json.dumps(record) + "\n")
                f.flush()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        key = self.key(tree, seed)
        if key not in self._known:
            self._refresh()
        stored = self._known.get(key)
        if stored is not None:
            if int(key[:8], 16) / 0xFFFFFFFF >= self.verify:
                self.hits += 1
                self._append(self.path.with_suffix(".hits.jsonl"), {"tag": self.tag, "key": key})
                return Feedback.from_dict(stored)
            fresh = self._inner.evaluate(tree, seed)
            same = fresh.to_dict().get("fitness") == stored.get("fitness")
            self.mismatches += 0 if same else 1
            self._append(self.path.with_suffix(".verify.jsonl"),
                         {"tag": self.tag, "key": key, "seed": int(seed), "cached": stored.get("fitness"),
                          "fresh": fresh.fitness, "equal": same})
            return fresh
        self.misses += 1
        fresh = self._inner.evaluate(tree, seed)
        if fresh.ok:  # a failure may be transient (memory, a signal): evaluated again next time
            record = {"key": key, "feedback": fresh.to_dict()}
            self._append(self.path, record)
            self._known[key] = record["feedback"]
        return fresh
