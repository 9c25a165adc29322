"""A pool of worker processes whose time limit really stops the work.

Built on plain ``multiprocessing`` processes and pipes, not ``concurrent.futures``: a pool
there cannot kill the one task that runs over its limit. Here the parent keeps a pipe and
a sentinel per worker and waits on all of them at once, so it can

- send the evaluator to each worker once (pickled once per batch, reloaded only when it changed);
- SIGKILL the worker running an over-time job, yield TIMED_OUT, and start a replacement;
- notice a worker that died (segfault, ``os._exit``) and yield FAILED naming its exit code.

Workers start with the ``forkserver`` method where the platform has it, else ``spawn`` (both
are safe with threads in the parent, unlike ``fork``). The fork server preloads the workers'
module (`evo_lacer.execute._worker`) and `evo_lacer._worker_warm` (torch, the search API, the
zoo), so a new worker, or the replacement for a killed one, is a fork of a warm process (~0.1 s)
rather than a fresh interpreter importing torch (seconds): measured here, 5 crash-and-replace
cycles took 5 s with forkserver and 28 s with spawn. As with any such pool, a script using it
needs the ``if __name__ == "__main__":`` guard. Each worker calls ``torch.set_num_threads(1)`` so
that N workers use N cores.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.util  # its exit hook (joins children) is registered first, so ours runs before it
import pickle
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from evo_lacer.errors import ConfigError, EvaluationError
from evo_lacer.evaluate import Cost, Evaluator, Feedback, Status
from evo_lacer.execute._base import (
    ExecutorBase,
    Job,
    check_jobs,
    describe_exit,
    last_line,
)
from evo_lacer.execute._pool_stream import PoolStream
from evo_lacer.execute._worker import WORKER_MODULE, default_memory_mb, worker_main
from evo_lacer.zoo._procs import kill_tree

PRELOAD = (WORKER_MODULE, "evo_lacer._worker_warm")
"""What the fork server imports before it forks workers (see `evo_lacer._worker_warm`)."""
MAX_START_FAILURES = 3
"""Workers that die before they are ready, in a row, before the pool gives up."""


@dataclass(eq=False)
class _Worker:
    proc: BaseProcess
    conn: Connection
    spawned: float
    lifeline: Connection | None = None
    ready: bool = False
    token: int = -1
    job_id: int | None = None
    started: float = 0.0
    deadline: float = math.inf


def _kill_group(w: _Worker) -> None:
    """SIGKILL a worker and whatever it started (simulators, servers), in its process group or
    in a session of its own (the worker is a child subreaper, see `kill_tree`)."""
    if w.ready and w.proc.pid is not None:
        # a ready worker leads its own group (the pgid outlives it while any member lives)
        kill_tree(w.proc.pid, group=True)
    if w.proc.is_alive():
        w.proc.kill()


def _stop_workers(workers: list[_Worker], grace_s: float = 2.0) -> None:
    for w in workers:
        with contextlib.suppress(OSError, ValueError):
            w.conn.send(("stop",))
    end = time.monotonic() + grace_s
    for w in workers:
        w.proc.join(max(0.0, end - time.monotonic()))
        if w.proc.is_alive():
            _kill_group(w)
            w.proc.join(5)
        w.conn.close()
        if w.lifeline is not None:
            w.lifeline.close()
    workers.clear()


_LIVE_POOLS: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()


@atexit.register
def _close_live_pools() -> None:
    # Runs before multiprocessing's own exit hook, which would wait forever on idle workers.
    for pool in list(_LIVE_POOLS):
        pool.close()


class ProcessPoolExecutor(ExecutorBase):
    """`workers` processes evaluating jobs in parallel; started on first use, reused across batches.

    Args:
        workers: number of worker processes (>= 1).
        context: multiprocessing start method, ``"forkserver"`` or ``"spawn"``; None picks
            forkserver where available. Using forkserver adds the workers' module to the fork server's
            preload list (effective only before the fork server first starts).
        start_timeout_s: how long a new worker may take to import its modules and report ready.
        memory_mb: memory (MB) each worker may allocate beyond its start-up imports (see
            `evo_lacer.execute._worker.limit_memory`); an evaluation over it fails. None:
            `default_memory_mb`; 0: no limit.

    Workers die with the search process, whatever kills it (see `evo_lacer.execute._worker`).
    """

    def __init__(self, workers: int = 2, *, context: str | None = None,
                 start_timeout_s: float = 120.0, memory_mb: int | None = None) -> None:
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ConfigError(f"ProcessPoolExecutor needs workers >= 1, got {workers!r} "
                              "(use InProcessExecutor / workers=0 to evaluate in this process)")
        if context is None:
            context = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        if context not in ("spawn", "forkserver"):
            raise ConfigError(f"context {context!r} is not supported; use 'spawn' or 'forkserver' "
                              "('fork' is unsafe with torch and threads)")
        if context not in multiprocessing.get_all_start_methods():
            raise ConfigError(f"start method {context!r} is not available on this platform; use 'spawn'")
        if memory_mb is not None and (not isinstance(memory_mb, int) or memory_mb < 0):
            raise ConfigError(f"memory_mb must be an integer >= 0 (MB; 0: no limit) or None, "
                              f"got {memory_mb!r}")
        self.workers = workers
        self.context = context
        self.memory_mb = default_memory_mb(workers) if memory_mb is None else memory_mb
        self.start_timeout_s = start_timeout_s
        self._ctx: Any = multiprocessing.get_context(context)
        if context == "forkserver":
            server = getattr(multiprocessing.forkserver, "_forkserver", None)
            preload = list(getattr(server, "_preload_modules", ["__main__"]))
            missing = [name for name in PRELOAD if name not in preload]
            if missing:
                self._ctx.set_forkserver_preload([*preload, *missing])
        self._workers: list[_Worker] = []
        self._blob = b""
        self._token = 0
        self._busy = False
        self._closed = False
        self._start_failures = 0
        self._finalizer = weakref.finalize(self, _stop_workers, self._workers)
        self._finalizer.atexit = False
        _LIVE_POOLS.add(self)

    def __repr__(self) -> str:
        return f"ProcessPoolExecutor(workers={self.workers}, context={self.context!r})"

    # -- public ------------------------------------------------------------------------------

    def submit_many(self, evaluator: Evaluator, jobs: Sequence[Job],
                    timeout_s: float | None) -> Iterator[tuple[int, Feedback]]:
        if self._closed:
            raise ConfigError(f"{self!r} is closed; create a new executor")
        if self._busy:
            raise ConfigError("submit_many was called while the previous batch is still being iterated; "
                              "consume or close that iterator first")
        batch = check_jobs(jobs, timeout_s)
        self._load(evaluator)
        return self._run(batch, timeout_s)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _stop_workers(self._workers)
        self._finalizer.detach()

    @property
    def pids(self) -> list[int]:
        """Process ids of the current workers (for tests and monitoring)."""
        return [w.proc.pid for w in self._workers if w.proc.pid is not None]

    # -- internals ------------------------------------------------------------------------------

    def _load(self, evaluator: Evaluator) -> None:
        try:
            blob = pickle.dumps(evaluator, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise EvaluationError(
                f"evaluator {type(evaluator).__name__} cannot be pickled for worker processes "
                f"({last_line(exc)}); define it at module level without lambdas or open handles, "
                "or evaluate in process (workers=0)"
            ) from None
        if blob != self._blob:
            self._blob = blob
            self._token += 1

    def _spawn(self) -> None:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        life_read, life_keep = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=worker_main, args=(child_conn, life_read, self.memory_mb),
                                 name=f"evo-lacer-worker-{len(self._workers)}")
        proc.start()
        child_conn.close()
        life_read.close()
        self._workers.append(_Worker(proc, parent_conn, time.monotonic(), life_keep))

    def _drop(self, w: _Worker, kill: bool) -> None:
        if kill:
            _kill_group(w)
        w.proc.join(5)
        w.conn.close()
        if w.lifeline is not None:
            w.lifeline.close()
        self._workers.remove(w)

    def _dispatch(self, w: _Worker, job: Job, timeout_s: float | None, now: float) -> None:
        if w.token != self._token:
            w.conn.send(("evaluator", self._token, self._blob))
            w.token = self._token
            grace = self.start_timeout_s  # unpickling the evaluator does not count against the job
        else:
            grace = 0.0
        job_id, tree, seed = job
        w.conn.send(("job", job_id, tree, seed))
        w.job_id, w.started = job_id, now
        w.deadline = math.inf if timeout_s is None else now + timeout_s + grace

    def _receive(self, w: _Worker, timeout_s: float | None) -> tuple[list[tuple[int, Feedback]], bool]:
        """Read every pending message of `w`; returns finished results and whether the pipe closed."""
        results: list[tuple[int, Feedback]] = []
        while True:
            try:
                if not w.conn.poll():
                    return results, False
                message = w.conn.recv()
            except (EOFError, OSError):
                return results, True
            now = time.monotonic()
            if message[0] == "ready":
                w.ready = True
                self._start_failures = 0
            elif message[0] == "started" and message[1] == w.job_id:
                w.started = now
                w.deadline = math.inf if timeout_s is None else now + timeout_s
            elif message[0] == "done" and message[1] == w.job_id:
                try:
                    feedback = Feedback.from_dict(message[2])
                except EvaluationError as exc:
                    feedback = Feedback.failure(Status.FAILED, f"evaluator returned a bad feedback: {exc}",
                                                Cost(seconds=now - w.started))
                results.append((message[1], feedback))
                w.job_id, w.deadline = None, math.inf

    def _memory_note(self, exitcode: int | None) -> str:
        if self.memory_mb > 0 and exitcode is not None and exitcode < 0:
            return (f" (a worker may use {self.memory_mb} MB; if it ran out, raise "
                    "SearchConfig.worker_memory_mb or make the encoder smaller)")
        return ""

    def _check_start(self, w: _Worker) -> None:
        self._start_failures += 1
        if self._start_failures >= MAX_START_FAILURES:
            raise EvaluationError(
                f"{MAX_START_FAILURES} worker processes in a row failed to start (last: "
                f"{describe_exit(w.proc.exitcode)}); check that evo_lacer imports cleanly in a fresh "
                "interpreter and that the main script has an `if __name__ == '__main__':` guard"
            )

    def stream(self, evaluator: Evaluator, timeout_s: float | None) -> PoolStream:
        """A `JobStream`: a submitted job is sent at once to a free worker."""
        if self._closed:
            raise ConfigError(f"{self!r} is closed; create a new executor")
        if self._busy:
            raise ConfigError("stream() was called while a batch or another stream is still open; "
                              "consume or close it first")
        check_jobs([], timeout_s)
        self._load(evaluator)
        return PoolStream(self, timeout_s)

    def _run(self, batch: list[Job], timeout_s: float | None) -> Iterator[tuple[int, Feedback]]:
        run = PoolStream(self, timeout_s)
        try:
            for job in batch:
                run.submit(job, checked=True)
            for _ in batch:
                yield run.next_result()
        finally:
            run.close()
