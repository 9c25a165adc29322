"""Small picklable evaluators for executor tests (imported by spawn and Dask workers).

Behaviour is chosen per seed, so one evaluator drives a whole batch of mixed outcomes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

from evo_lacer.evaluate import Feedback, Status
from evo_lacer.tree import Node, branch, encoder, fusion, module


def tiny_tree(width: int = 4) -> Node:
    return encoder([branch("x", module("torch.nn.Linear", out_features=width))],
                   fusion("modules_zoo.fusion.Concat"))


class ScriptedEvaluator:
    """`actions[seed] = (what, arg)`; what: sleep | burn | raise | crash | segv | hang |
    hang_with_child (starts ``sleep 600`` first) | wait (until the file `release` exists) | bad.

    `pid_dir`, when set, receives ``SEED.pid`` with the worker's pid before the action runs.
    """

    observation_space = gym.spaces.Box(-1.0, 1.0, (3,))

    def __init__(self, actions: dict[int, tuple[str, float]] | None = None,
                 pid_dir: str | None = None, release: str | None = None) -> None:
        self.actions = dict(actions or {})
        self.pid_dir = pid_dir
        self.release = release

    def describe(self) -> str:
        return "scripted test evaluator"

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        what, arg = self.actions.get(seed, ("sleep", 0.0))
        if self.pid_dir:
            Path(self.pid_dir, f"{seed}.pid").write_text(str(os.getpid()))
        if what == "sleep":
            time.sleep(arg)
        elif what == "burn":
            burn(arg)
        elif what == "raise":
            raise ValueError(f"bad candidate {seed}")
        elif what == "crash":
            os._exit(int(arg))
        elif what == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif what == "hang":
            while True:
                time.sleep(0.05)
        elif what == "hang_with_child":
            child = subprocess.Popen(["sleep", "600"])
            Path(self.pid_dir or ".", f"{seed}.child").write_text(str(child.pid))
            while True:
                time.sleep(0.05)
        elif what == "wait":  # until the file `self.release` exists (at most `arg` seconds)
            deadline = time.monotonic() + arg
            while self.release and not Path(self.release).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        elif what == "bad":
            return "not a feedback"  # type: ignore[return-value]
        import torch
        from threadpoolctl import threadpool_info

        blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        return Feedback(Status.OK, fitness=float(seed),
                        metrics={"pid": os.getpid(), "torch_threads": torch.get_num_threads(),
                                 "blas_threads": float(max(blas, default=1))})


def burn(seconds: float) -> int:
    """Pure-Python CPU work for about `seconds`."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += sum(i * i for i in range(200))
    return n


class CountingEvaluator(ScriptedEvaluator):
    """Appends the pid to ``count_file`` every time it is unpickled."""

    def __init__(self, count_file: str) -> None:
        super().__init__()
        self.count_file = count_file

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        with open(self.count_file, "a") as fh:
            fh.write(f"{os.getpid()}\n")


class Unpicklable(ScriptedEvaluator):
    def __init__(self) -> None:
        super().__init__()
        self.fn = lambda x: x


class ImportsEvaluator(ScriptedEvaluator):
    """Reports, as metrics, which heavy modules the worker had imported before its first job."""

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        import sys

        names = ("evo_lacer.api", "sympy", "modules_zoo.vector")
        return Feedback(Status.OK, fitness=0.0, metrics={n: float(n in sys.modules) for n in names})
