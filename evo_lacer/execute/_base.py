"""The Executor role: evaluate many (job id, tree, seed) jobs, yield results as they complete.

Two ways in: ``submit_many`` evaluates a batch (the generational loop); ``stream`` opens a
`JobStream` that keeps up to ``capacity`` jobs in flight, takes new jobs while others run and
hands results back one at a time as they complete (the steady-state loop).

A failing candidate is a Feedback (FAILED / TIMED_OUT with its message), never a raise; an
executor raises only when it is misused or cannot work at all (e.g. an unpicklable evaluator).
"""

from __future__ import annotations

import os
import re
import signal
import time
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import Cost, Evaluator, Feedback, Status
from evo_lacer.tree import Node

MEMORY_LIMIT_ENV = "EVO_LACER_WORKER_MEMORY_MB"
"""Set in a worker process to the memory limit it runs under (for the failure messages)."""

Job = tuple[int, Node, int]
"""(job id, tree, seed); the job id is chosen by the caller and comes back with the result."""


@runtime_checkable
class JobStream(Protocol):
    """Jobs submitted one by one while others run; results taken one by one as they complete."""

    @property
    def capacity(self) -> int:
        """Jobs that run at once (a steady-state loop keeps this many in flight)."""
        ...

    @property
    def in_flight(self) -> int:
        """Jobs submitted whose result has not been taken yet."""
        ...

    def submit(self, job: Job) -> None:
        """Queue `job`; it starts as soon as a worker is free."""
        ...

    def next_result(self) -> tuple[int, Feedback]:
        """The next ``(job id, feedback)`` to complete; blocks until one does. ConfigError when
        nothing is in flight."""
        ...

    def close(self) -> None:
        """Stop the jobs still running (their results are dropped); idempotent."""
        ...


@runtime_checkable
class Executor(Protocol):
    """Runs an evaluator over jobs; a context manager that closes its workers on exit."""

    def submit_many(self, evaluator: Evaluator, jobs: Sequence[Job],
                    timeout_s: float | None) -> Iterator[tuple[int, Feedback]]:
        """Yield ``(job id, feedback)`` for every job, in completion order.

        `timeout_s` limits each job (None: no limit); a job over it yields TIMED_OUT.
        """
        ...

    def stream(self, evaluator: Evaluator, timeout_s: float | None) -> JobStream:
        """A `JobStream` over this executor's workers (one open at a time, like a batch)."""
        ...

    def close(self) -> None:
        """Release workers; idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class ExecutorBase:
    """Context-manager plumbing shared by the implementations."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def check_jobs(jobs: Sequence[Job], timeout_s: float | None) -> list[Job]:
    """Validate a batch: unique integer ids, Node trees, a positive time limit."""
    if timeout_s is not None and not timeout_s > 0:
        raise ConfigError(f"timeout_s must be a positive number of seconds or None, got {timeout_s!r}")
    out: list[Job] = []
    seen: set[int] = set()
    for job in jobs:
        if not (isinstance(job, tuple | list) and len(job) == 3 and isinstance(job[1], Node)):
            raise ConfigError(f"a job is a (job id, tree: Node, seed) tuple, got {job!r:.200}")
        out.append((job[0], job[1], job[2]))
        if job[0] in seen:
            raise ConfigError(f"job id {job[0]!r} appears twice in one batch; ids must be unique")
        seen.add(job[0])
    return out


class FeedStream:
    """A `JobStream` over a results generator that takes its jobs from a shared queue (the
    in-process and Dask executors): a job submitted while the generator waits starts at the next
    `next_result`."""

    def __init__(self, run: Callable[[deque[Job]], Generator[tuple[int, Feedback], None, None]],
                 capacity: int, timeout_s: float | None) -> None:
        check_jobs([], timeout_s)
        self._queue: deque[Job] = deque()
        self._results = run(self._queue)
        self._capacity = capacity
        self._timeout_s = timeout_s
        self._ids: set[int] = set()

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def in_flight(self) -> int:
        return len(self._ids)

    def submit(self, job: Job) -> None:
        (job,) = check_jobs([job], self._timeout_s)
        if job[0] in self._ids:
            raise ConfigError(f"job id {job[0]!r} is already in flight; ids must be unique")
        self._ids.add(job[0])
        self._queue.append(job)

    def next_result(self) -> tuple[int, Feedback]:
        if not self._ids:
            raise ConfigError("next_result() with no job in flight; submit() a job first")
        job_id, feedback = next(self._results)
        self._ids.discard(job_id)
        return job_id, feedback

    def close(self) -> None:
        self._results.close()
        self._ids.clear()


def open_stream(executor: Any, evaluator: Evaluator, timeout_s: float | None) -> JobStream:
    """`executor.stream(...)`, or -- for an executor that only has ``submit_many`` -- a stream that
    evaluates one job at a time through it."""
    stream = getattr(executor, "stream", None)
    if callable(stream):
        return stream(evaluator, timeout_s)  # type: ignore[no-any-return]
    submit_many = executor.submit_many

    def one_by_one(queue: deque[Job]) -> Generator[tuple[int, Feedback], None, None]:
        while queue:
            yield from submit_many(evaluator, [queue.popleft()], timeout_s)

    return FeedStream(one_by_one, 1, timeout_s)


def last_line(exc: BaseException) -> str:
    """The last line of a traceback, e.g. ``ValueError: bad width``."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]


def run_job(evaluator: Evaluator, tree: Node, seed: int) -> Feedback:
    """Evaluate one tree; an exception becomes FAILED with the traceback's last line.

    ``cost.seconds`` is filled with the measured wall time when the evaluator left it at 0.
    """
    start = time.perf_counter()
    try:
        feedback = evaluator.evaluate(tree, seed)
    except BaseException as exc:  # SystemExit or KeyboardInterrupt raised by user code, too
        # (a real Ctrl-C of the search is told apart and re-raised by the in-process executor)
        return Feedback.failure(Status.FAILED, f"evaluator raised {last_line(exc)}{memory_hint(exc)}",
                                Cost(seconds=time.perf_counter() - start))
    seconds = time.perf_counter() - start
    if not isinstance(feedback, Feedback):
        return Feedback.failure(
            Status.FAILED,
            f"{type(evaluator).__name__}.evaluate returned {type(feedback).__name__}, not a Feedback",
            Cost(seconds=seconds),
        )
    if feedback.cost.seconds == 0:
        feedback = feedback.with_cost(Cost(seconds, feedback.cost.env_steps, feedback.cost.llm_calls,
                                           feedback.cost.llm_tokens))
    return feedback


def memory_hint(exc: BaseException) -> str:
    """A fix for an evaluation that ran out of memory under a worker's memory limit."""
    limit = os.environ.get(MEMORY_LIMIT_ENV)
    text = str(exc).lower()
    if limit and (isinstance(exc, MemoryError) or "can't allocate memory" in text
                  or "cannot allocate memory" in text or "out of memory" in text):
        return (f" (the worker's memory limit is {limit} MB; raise SearchConfig.worker_memory_mb "
                "or make the encoder smaller)")
    return ""


def timed_out(timeout_s: float, seconds: float, how: str) -> Feedback:
    return Feedback.failure(Status.TIMED_OUT, f"exceeded the time limit of {timeout_s:g} s ({how})",
                            Cost(seconds=seconds))


def describe_exit(exitcode: int | None) -> str:
    """`-11` -> ``exit code -11 (signal SIGSEGV)``."""
    if exitcode is None:
        return "an unknown exit code"
    if exitcode < 0:
        try:
            return f"exit code {exitcode} (signal {signal.Signals(-exitcode).name})"
        except ValueError:
            return f"exit code {exitcode} (signal {-exitcode})"
    return f"exit code {exitcode}"


def one_thread_per_worker() -> None:
    """Pin an evaluation worker to one thread -- torch's intra-op pool and NumPy's BLAS -- so
    that N workers use N cores instead of oversubscribing them (SVDs thrash otherwise)."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


DASK_ADDRESS = r"([a-z]+://)?(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):\d+"
"""A Dask scheduler address: [protocol://]host:port, an IPv6 host in brackets."""


def check_address(address: object) -> None:
    """A `ConfigError` unless `address` reads as a Dask scheduler address."""
    if not isinstance(address, str) or not re.fullmatch(DASK_ADDRESS, address.strip()):
        raise ConfigError(f"dask_address (--dask-address) {address!r} is not a scheduler address; use "
                          "tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786 (as `dask scheduler` prints it)")
