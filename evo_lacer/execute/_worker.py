"""A process pool's worker: the loop that loads the evaluator and evaluates jobs
(`worker_main`), and what makes it safe to kill -- its own process group, a lifeline that ends it
with the search however the search dies (`die_with_parent`), and a memory cap (`limit_memory`).
The fork server imports this module before it forks workers, so each starts warm.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import resource
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from evo_lacer.evaluate import Feedback, Status
from evo_lacer.execute._base import MEMORY_LIMIT_ENV, last_line, one_thread_per_worker, run_job
from evo_lacer.zoo._procs import become_subreaper, descendants

WORKER_MODULE = __name__
_PR_SET_PDEATHSIG = 1


def die_with_parent(lifeline: Connection) -> None:
    """End this worker and its process group when the search process dies, however it dies.

    The search holds the other end of `lifeline` and never writes to it: the read returns (EOF)
    only when the search is gone -- kill -9 included. Where Linux allows it, the kernel also
    sends SIGKILL when the parent (the fork server) dies (``PR_SET_PDEATHSIG``).
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)

    def watch() -> None:
        with contextlib.suppress(BaseException):
            lifeline.recv()
        for pid in descendants(os.getpid()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os._exit(1)

    threading.Thread(target=watch, name="evo-lacer-lifeline", daemon=True).start()


def limit_memory(memory_mb: int) -> None:
    """Cap this worker's data memory (heap and private writable mappings: ``RLIMIT_DATA``) at what
    its imports use plus `memory_mb` MB, so an evaluation over it fails (MemoryError, torch's
    allocator error) instead of the machine swapping. Shared libraries and reserved but unwritable
    address space (CUDA's) do not count, unlike ``RLIMIT_AS``, used only where DATA is missing."""
    kind = getattr(resource, "RLIMIT_DATA", None) if sys.platform.startswith("linux") else None
    base = vm_bytes("VmData") if kind is not None else vm_bytes("VmSize")
    kind = kind if kind is not None else getattr(resource, "RLIMIT_AS", None)
    if memory_mb <= 0 or kind is None:
        return
    limit = base + memory_mb * 2**20
    with contextlib.suppress(ValueError, OSError):
        hard = resource.getrlimit(kind)[1]
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(kind, (limit, hard))
        os.environ[MEMORY_LIMIT_ENV] = str(memory_mb)


def vm_bytes(field: str) -> int:
    """A size of this process from ``/proc/self/status`` (``VmData``, ``VmSize``; 0 where missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def default_memory_mb(workers: int) -> int:
    """The automatic per-worker memory limit: 80% of this machine's memory shared among `workers`."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0
    return max(256, int(0.8 * total / max(1, workers)) // 2**20)


def worker_main(conn: Connection, lifeline: Connection | None = None, memory_mb: int = 0) -> None:
    """Worker loop: load the evaluator when sent, evaluate jobs, report back; exit on EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides how to stop
    if hasattr(os, "setpgrp"):
        os.setpgrp()  # its own process group, so a kill also takes the evaluator's subprocesses
    if lifeline is not None:
        die_with_parent(lifeline)
    become_subreaper()
    one_thread_per_worker()
    limit_memory(memory_mb)
    evaluator: Any = None
    load_error = "no evaluator was sent to the worker"
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        if message[0] == "evaluator":
            try:
                evaluator = pickle.loads(message[2])
            except Exception as exc:
                evaluator = None
                load_error = f"could not unpickle the evaluator in the worker: {last_line(exc)}"
            continue
        _, job_id, tree, seed = message
        conn.send(("started", job_id))
        if evaluator is None:
            feedback = Feedback.failure(Status.FAILED, load_error)
        else:
            feedback = run_job(evaluator, tree, seed)
        try:
            conn.send(("done", job_id, feedback.to_dict()))
        except (TypeError, AttributeError, pickle.PicklingError) as exc:
            error = f"the evaluator's feedback could not be sent back: {last_line(exc)}"
            conn.send(("done", job_id, Feedback.failure(Status.FAILED, error, feedback.cost).to_dict()))
