"""The jobs in flight on a `ProcessPoolExecutor`: a ``submit_many`` batch or a `JobStream`.

A submitted job goes at once to a free ready worker; `next_result` waits on every worker's pipe
and process sentinel, and turns a finished job, a dead worker or an over-time job into a result.
"""

from __future__ import annotations

import math
import time
from collections import deque
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any

from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import Cost, Feedback, Status
from evo_lacer.execute._base import Job, check_jobs, describe_exit, timed_out

if TYPE_CHECKING:
    from evo_lacer.execute._process import ProcessPoolExecutor

QUEUED = 1
"""Jobs a stream holds beyond one per worker: a worker that finishes starts the next one at once,
while the search process is still observing the last result and proposing."""


class PoolStream:
    """Jobs in flight on a `ProcessPoolExecutor` (a batch of ``submit_many``, or a `JobStream`)."""

    def __init__(self, pool: ProcessPoolExecutor, timeout_s: float | None) -> None:
        self.pool = pool
        self.timeout_s = timeout_s
        self.pending: deque[Job] = deque()
        self.done: deque[tuple[int, Feedback]] = deque()
        self.ids: set[int] = set()
        self.closed = False
        pool._busy = True

    @property
    def capacity(self) -> int:
        """One job per worker plus `QUEUED` waiting for the first worker to free up."""
        return self.pool.workers + QUEUED

    @property
    def in_flight(self) -> int:
        return len(self.ids)

    def submit(self, job: Job, *, checked: bool = False) -> None:
        if not checked:
            (job,) = check_jobs([job], self.timeout_s)
        if self.closed:
            raise ConfigError("submit() on a closed job stream")
        if job[0] in self.ids:
            raise ConfigError(f"job id {job[0]!r} is already in flight; ids must be unique")
        self.ids.add(job[0])
        self.pending.append(job)
        self._dispatch()

    def next_result(self) -> tuple[int, Feedback]:
        if not self.ids:
            raise ConfigError("next_result() with no job in flight; submit() a job first")
        while not self.done:
            self._step()
        result = self.done.popleft()
        self.ids.discard(result[0])
        return result

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.pool._busy = False
        for w in list(self.pool._workers):
            if w.job_id is not None:  # the caller abandoned the jobs: stop the leftovers
                self.pool._drop(w, kill=True)

    def _dispatch(self) -> None:
        pool = self.pool
        if pool._closed:
            raise ConfigError(f"{pool!r} was closed while a batch was being iterated")
        while len(pool._workers) < pool.workers:
            pool._spawn()
        now = time.monotonic()
        for w in pool._workers:
            if w.ready and w.job_id is None and self.pending:
                pool._dispatch(w, self.pending.popleft(), self.timeout_s, now)

    def _step(self) -> None:
        """Wait for the workers once; move finished, crashed and over-time jobs to `done`."""
        pool, timeout_s = self.pool, self.timeout_s
        self._dispatch()
        now = time.monotonic()
        deadlines = [w.deadline for w in pool._workers if w.job_id is not None and w.deadline < math.inf]
        deadlines += [w.spawned + pool.start_timeout_s for w in pool._workers if not w.ready]
        wait_s = max(0.0, min(deadlines) - now) if deadlines else None
        waitables: list[Any] = [w.conn for w in pool._workers]
        wait(waitables + [w.proc.sentinel for w in pool._workers], wait_s)
        for w in list(pool._workers):
            done, closed = pool._receive(w, timeout_s)
            self.done.extend(done)
            now = time.monotonic()
            if closed or not w.proc.is_alive():
                pool._drop(w, kill=True)
                if w.job_id is not None:
                    error = (f"worker process died with {describe_exit(w.proc.exitcode)} "
                             f"while evaluating{pool._memory_note(w.proc.exitcode)}")
                    self.done.append((w.job_id, Feedback.failure(Status.FAILED, error,
                                                                 Cost(seconds=now - w.started))))
                elif not w.ready:
                    pool._check_start(w)
            elif w.job_id is not None and now >= w.deadline:
                pool._drop(w, kill=True)
                assert timeout_s is not None
                self.done.append((w.job_id, timed_out(timeout_s, now - w.started,
                                                      "the worker process was killed")))
            elif not w.ready and now >= w.spawned + pool.start_timeout_s:
                pool._drop(w, kill=True)
                pool._check_start(w)
        self._dispatch()
