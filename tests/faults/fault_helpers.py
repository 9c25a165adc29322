"""Pieces of the fault-injection tests: a cheap 3-source task, fitness functions that misbehave
on purpose (importable, so worker processes and `resume` find them), and subprocess helpers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gymnasium import spaces

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLI = [sys.executable, "-c", "import sys; from evo_lacer.cli import main; sys.exit(main())"]
"""The `evo-lacer` command, run by this interpreter."""
SETTINGS: dict[str, Any] = dict(strategy="evolution", seed=1, llm="none", population_size=4, batch_size=4)


def space() -> spaces.Dict:
    """Three sources: a sensor vector, a short time series, a discrete code."""
    return spaces.Dict({"ego": spaces.Box(-1.0, 1.0, (5,)), "hist": spaces.Box(-1.0, 1.0, (6, 3)),
                        "code": spaces.Discrete(4)})


def fitness(tree: Any, module: Any) -> float:
    """Cheap and deterministic: fewer parameters is better; logs the call to $EVO_FAULT_LOG.

    With $EVO_FAULT_HOLD_AFTER=N (and a log), a call made once N calls are logged waits until a
    signal stops it, so a test that signals the search after N candidates cannot find it already
    finished, however loaded the machine (a search that swallowed the signal would fail the test at
    its time limit)."""
    time.sleep(float(os.environ.get("EVO_FAULT_SLEEP", "0")))
    log = os.environ.get("EVO_FAULT_LOG")
    hold = os.environ.get("EVO_FAULT_HOLD_AFTER")
    if hold and log and os.path.exists(log):
        with open(log, encoding="utf-8") as fh:
            if sum(1 for _ in fh) >= int(hold):
                time.sleep(600)
    if log:
        from evo_lacer.tree import tree_hash

        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {tree_hash(tree)}\n")
    return -sum(p.numel() for p in module.parameters()) / 1e4


_CALLS = [0]


def exiting_fitness(tree: Any, module: Any) -> float:
    """Calls sys.exit(3) on every other call in this process."""
    _CALLS[0] += 1
    if _CALLS[0] % 2:
        sys.exit(3)
    return -sum(p.numel() for p in module.parameters()) / 1e4


def crashing_fitness(tree: Any, module: Any) -> float:
    """Segfaults the process it runs in (reads address 0)."""
    import ctypes

    ctypes.string_at(0)
    return 0.0


def interrupting_fitness(tree: Any, module: Any) -> float:
    """Raises KeyboardInterrupt itself (no signal): the user's code, not a Ctrl-C."""
    raise KeyboardInterrupt("raised by the fitness")


def spinning_fitness(tree: Any, module: Any) -> float:
    """Writes its pid to $EVO_FAULT_PIDS, then spins a core for ever."""
    folder = os.environ.get("EVO_FAULT_PIDS")
    if folder:
        Path(folder, str(os.getpid())).write_text("spinning")
    while True:
        pass


def default_sigint() -> None:
    """`preexec_fn` for a child that must take Ctrl-C: a shell starts a background job (`cmd &`,
    `nohup`) with SIGINT ignored, its children inherit that, and Python then never raises
    KeyboardInterrupt -- a search run that way ignores the test's SIGINT and finishes (exit 0)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ, **extra)
    out["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE.parent), out.get("PYTHONPATH", "")])
    return out


def signal_an_in_process_search(run_dir: Path, log: Path, sig: int) -> tuple[int, str]:
    """`evo-lacer search` (evolution, budget 8, in process) sent `sig` while its third evaluation
    waits (held until a signal, so no load can let it finish first): its exit code and stderr."""
    proc = subprocess.Popen([*CLI, "search", "--fitness", "faults.fault_helpers:fitness",
                             "--observation-space", "faults.fault_helpers:space", "--strategy", "evolution",
                             "--budget", "8", "--llm", "none", "--workers", "0", "--run-dir", str(run_dir),
                             "--no-progress", "--no-report"],
                            env=env(EVO_FAULT_SLEEP="0.5", EVO_FAULT_LOG=str(log), EVO_FAULT_HOLD_AFTER="2"),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    try:
        wait_for(lambda: len(lines(run_dir / "candidates.jsonl")) >= 2, "two candidates", proc)
        assert proc.poll() is None  # the third evaluation waits for the signal
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    return proc.returncode, err


SEARCH = """
import sys, json
from faults import fault_helpers
from faults.fault_helpers import space
from evo_lacer.api import search
search(observation_space=space(), fitness=getattr(fault_helpers, sys.argv[2]), run_dir=sys.argv[1],
       **json.loads(sys.argv[3]))
"""


def start_search(run_dir: Path, fitness_name: str = "fitness", extra_env: dict[str, str] | None = None,
                 **settings: Any) -> subprocess.Popen[str]:
    """A search in a child process (its own session, so a test can signal it alone)."""
    options = {**SETTINGS, **settings}
    return subprocess.Popen([sys.executable, "-c", SEARCH, str(run_dir), fitness_name, json.dumps(options)],
                            env=env(**(extra_env or {})), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for(predicate: Any, what: str, proc: subprocess.Popen[str] | None = None,
             limit_s: float = 300) -> None:
    """Poll until `predicate()` holds (the limit only guards against a hang)."""
    deadline = time.monotonic() + limit_s
    while not predicate():
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read()[-3000:] if proc.stderr else ""
            raise AssertionError(f"the process ended before {what}: {err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def all_dead(pids: list[int], limit_s: float = 120) -> bool:
    deadline = time.monotonic() + limit_s
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        if pid > 1:  # never 0 or -1: that would signal our own process group / everything
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for raw in path.read_text().splitlines() if path.exists() else []:
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(raw))
    return out


def tally(log: Path, run_dir: Path, budget: int) -> tuple[int, int]:
    """(evaluations lost, evaluations repeated) of a run, from the fitness call log ($EVO_FAULT_LOG:
    one line per completed call) and the candidate log: lost = budget minus the distinct
    architectures recorded as evaluated; repeated = completed calls beyond one per architecture."""
    calls = [ln.split()[1] for ln in log.read_text().splitlines()] if log.exists() else []
    evaluated = {r["tree_hash"] for r in lines(run_dir / "candidates.jsonl")
                 if r["feedback"]["status"] != "rejected" and "cached_from" not in (r.get("extra") or {})}
    return budget - len(evaluated), len(calls) - len(set(calls))


@contextlib.contextmanager
def logging_to(log: Path) -> Iterator[None]:
    """Fitness calls of this process (and its workers) logged to `log` meanwhile."""
    old = os.environ.get("EVO_FAULT_LOG")
    os.environ["EVO_FAULT_LOG"] = str(log)
    try:
        yield
    finally:
        if old is None:
            del os.environ["EVO_FAULT_LOG"]
        else:
            os.environ["EVO_FAULT_LOG"] = old
