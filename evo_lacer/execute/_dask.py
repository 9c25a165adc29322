"""Evaluate on a Dask cluster (``pip install 'evo-lacer[dask]'``).

Dask rather than Ray: ``dask[distributed]`` installs from the package registry like any other
dependency (no separate runtime), and its ``LocalCluster`` gives the same code a multi-process
cluster on one machine, so it is tested here exactly as it runs on a real cluster.

Limits: Dask cannot kill a running task. A job over its time limit yields TIMED_OUT at once,
its future is cancelled, and the worker that runs it is restarted through its nanny
(``Client.restart_workers``) so the stuck thread really stops; with ``restart_on_timeout=False``
the thread keeps running (and holding that worker's slot) until it returns. The limit is
measured from submission; the executor pins each job to a free worker thread (one job per
thread in flight), so that is close to the job's start, and a worker that dies takes no queued
bystander with it. A worker that dies while running a job yields FAILED: a local
cluster is created with ``distributed.scheduler.allowed-failures = 0`` so a crashing candidate
is not retried on other workers; a cluster given by ``address`` keeps its own setting.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import time
import uuid
from collections import Counter, deque
from collections.abc import Generator, Iterator, Sequence
from typing import Any

from evo_lacer.errors import ConfigError, EvaluationError, missing_extra
from evo_lacer.evaluate import Cost, Evaluator, Feedback, Status
from evo_lacer.execute._base import (
    ExecutorBase,
    FeedStream,
    Job,
    check_address,
    check_jobs,
    last_line,
    one_thread_per_worker,
    run_job,
    timed_out,
)
from evo_lacer.execute._worker import default_memory_mb
from evo_lacer.tree import Node

try:
    import dask
    import distributed
except ImportError:  # pragma: no cover - exercised by a test with the import blocked
    dask = None  # type: ignore[assignment]
    distributed = None  # type: ignore[assignment]


MAX_RESUBMITS = 2
"""How often a job whose evaluator copy was lost (a worker died) is submitted again."""
_POLL_S = 1.0
_VANISHED_S = 10.0


def _require() -> Any:
    if distributed is None:
        raise missing_extra("dask", "dask")
    return distributed


def _dask_job(evaluator: Evaluator, tree: Node, seed: int) -> dict[str, Any]:
    """Task body on a Dask worker: the same failure handling as a process worker."""
    return run_job(evaluator, tree, seed).to_dict()


if distributed is not None:

    class TorchThreadsPlugin(distributed.WorkerPlugin):
        """Worker plugin: one torch thread per worker, also on restarted workers."""

        name = "evo-lacer-torch-threads"

        def setup(self, worker: Any) -> None:
            one_thread_per_worker()


CONNECT_S = 10.0
"""How long to try to reach a scheduler given by address before saying it cannot be reached."""


class DaskExecutor(ExecutorBase):
    """Evaluates jobs on a Dask cluster; a ``LocalCluster(processes=True)`` when `address` is None.

    Args:
        address: scheduler address of an existing cluster, or None to start a local one.
        n_workers: worker processes of the local cluster (ignored with `address`).
        restart_on_timeout: restart the worker running an over-time job, to really stop it.
        memory_mb: memory of each local worker (Dask's nanny restarts a worker over it, and the
            job fails); None: `default_memory_mb`, 0: no limit (ignored with `address`).
        worker_wait_s: with `address`, how long to wait for a first worker to join a cluster
            that has none (then `ConfigError`, rather than a search that waits forever).
    """

    def __init__(self, address: str | None = None, n_workers: int = 2, *,
                 restart_on_timeout: bool = True, memory_mb: int | None = None,
                 worker_wait_s: float = 30.0) -> None:
        dist = _require()
        if address is None and (not isinstance(n_workers, int) or n_workers < 1):
            raise ConfigError(f"DaskExecutor needs n_workers >= 1, got {n_workers!r}")
        if address is not None:
            check_address(address)
        self.address = address
        self.n_workers = n_workers
        self.restart_on_timeout = restart_on_timeout
        self._cluster: Any = None
        if address is None:
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):  # read at scheduler start
                self._cluster = dist.LocalCluster(
                    n_workers=n_workers, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=logging.CRITICAL,
                    memory_limit=f"{default_memory_mb(n_workers) if memory_mb is None else memory_mb}MiB"
                    if memory_mb != 0 else 0,
                )
        try:
            self._client = dist.Client(self._cluster if address is None else address, timeout=CONNECT_S)
        except BaseException as exc:
            if self._cluster is not None:
                self._cluster.close()
            if address is not None and isinstance(exc, OSError | TimeoutError | ValueError):
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {address!r} ({last_line(exc)}); start it there "
                    f"(`dask scheduler --port PORT`, then `dask worker {address}` on each machine), check "
                    "the host, port and firewall, or drop dask_address (--dask-address) to evaluate on a "
                    "local cluster") from None
            raise
        try:
            if address is not None and not self._client.nthreads():
                self._wait_for_a_worker(address, worker_wait_s)
            self._client.register_plugin(TorchThreadsPlugin(), name=TorchThreadsPlugin.name)
        except BaseException:
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            raise
        self._blob = b""
        self._evaluator_future: Any = None
        self._closed = False
        self._busy = False

    def __repr__(self) -> str:
        where = repr(self.address) if self.address else f"LocalCluster({self.n_workers} workers)"
        return f"DaskExecutor({where})"

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (for dashboards and diagnostics)."""
        return self._client

    def submit_many(self, evaluator: Evaluator, jobs: Sequence[Job],
                    timeout_s: float | None) -> Iterator[tuple[int, Feedback]]:
        if self._closed:
            raise ConfigError(f"{self!r} is closed; create a new executor")
        if self._busy:
            raise ConfigError("submit_many was called while the previous batch is still being iterated")
        batch = check_jobs(jobs, timeout_s)
        self._scatter(evaluator)
        return self._run(evaluator, deque(batch), timeout_s)

    def stream(self, evaluator: Evaluator, timeout_s: float | None) -> FeedStream:
        """A `JobStream` whose capacity is the cluster's worker threads when it opens; a job
        submitted while the stream waits is sent at the next `next_result`."""
        if self._closed:
            raise ConfigError(f"{self!r} is closed; create a new executor")
        if self._busy:
            raise ConfigError("stream() was called while a batch or another stream is still open")
        self._scatter(evaluator)
        capacity = max(1, sum(self._client.nthreads().values()))
        return FeedStream(lambda queue: self._run(evaluator, queue, timeout_s), capacity, timeout_s)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._evaluator_future = None
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    # -- internals ------------------------------------------------------------------------------

    def _wait_for_a_worker(self, address: str, wait_s: float) -> None:
        try:
            self._client.wait_for_workers(1, timeout=wait_s)
        except TimeoutError:
            raise ConfigError(f"the Dask scheduler at {address!r} has no workers (waited {wait_s:g} s); "
                              f"start some (`dask worker {address} --nthreads 1`) and search again") from None

    def _scatter(self, evaluator: Evaluator, force: bool = False) -> None:
        try:
            blob = pickle.dumps(evaluator, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise EvaluationError(
                f"evaluator {type(evaluator).__name__} cannot be pickled for Dask workers "
                f"({last_line(exc)}); define it at module level without lambdas or open handles"
            ) from None
        if force or blob != self._blob or self._evaluator_future is None:
            self._blob = blob
            self._evaluator_future = self._client.scatter(evaluator, broadcast=True, hash=False)

    def _run(self, evaluator: Evaluator, pending: deque[Job],
             timeout_s: float | None) -> Generator[tuple[int, Feedback], None, None]:
        dist = _require()
        self._busy = True
        # future -> (job, submitted at, worker address); each job is pinned to a free worker thread,
        # so a worker that dies takes only its own job with it and the limit starts at submission.
        in_flight: dict[Any, tuple[Job, float, str]] = {}
        try:
            tag = uuid.uuid4().hex[:8]
            submissions = 0
            retries: dict[int, int] = {}
            vanished: dict[Any, float] = {}
            while pending or in_flight:
                nthreads = self._client.nthreads()
                used = Counter(addr for _, _, addr in in_flight.values())
                for addr, n in nthreads.items():
                    while pending and used[addr] < n:
                        job = pending.popleft()
                        submissions += 1
                        future = self._client.submit(
                            _dask_job, self._evaluator_future, job[1], job[2], pure=False,
                            key=f"evo-lacer-{tag}-{job[0]}-{submissions}",
                            workers=[addr], allow_other_workers=False)
                        in_flight[future] = (job, time.monotonic(), addr)
                        used[addr] += 1
                if not in_flight:  # every worker is (re)starting
                    time.sleep(0.1)
                    continue
                now = time.monotonic()
                wait_s = _POLL_S if timeout_s is None else min(_POLL_S, max(
                    0.01, min(t for _, t, _ in in_flight.values()) + timeout_s - now))
                with contextlib.suppress(TimeoutError, dist.CancelledError):
                    dist.wait(list(in_flight), timeout=wait_s, return_when="FIRST_COMPLETED")
                results: list[tuple[int, Feedback]] = []
                now = time.monotonic()
                lost = False
                for future in [f for f in in_flight if f.done()]:
                    job, submitted, _ = in_flight.pop(future)
                    if future.status == "cancelled" and retries.get(job[0], 0) < MAX_RESUBMITS:
                        # Lost dependencies: a dying worker took the scattered evaluator with it.
                        retries[job[0]] = retries.get(job[0], 0) + 1
                        pending.appendleft(job)
                        lost = True
                        continue
                    lost = lost or future.status == "error"
                    results.append((job[0], self._collect(future, now - submitted)))
                overdue = [f for f, (_, t, _) in in_flight.items()
                           if timeout_s is not None and now - t >= timeout_s]
                stuck = sorted({in_flight[f][2] for f in overdue})
                if self.restart_on_timeout:
                    how = "the Dask worker running it was restarted"
                else:
                    how = "its Dask future was cancelled; the running thread was not stopped"
                for future in overdue:
                    job, submitted, _ = in_flight.pop(future)
                    assert timeout_s is not None
                    results.append((job[0], timed_out(timeout_s, now - submitted, how)))
                    future.cancel()
                live = self._client.nthreads()
                for future, (job, _, addr) in list(in_flight.items()):
                    # A job pinned to a worker that left without failing it would wait forever.
                    if addr in live:
                        vanished.pop(future, None)
                    elif now - vanished.setdefault(future, now) > _VANISHED_S:
                        del in_flight[future]
                        future.cancel()
                        pending.appendleft(job)
                yield from results
                if stuck and self.restart_on_timeout:
                    self._client.restart_workers(stuck, raise_for_error=False)
                    lost = True
                if lost:
                    self._scatter(evaluator, force=True)
        finally:
            self._busy = False
            for future in in_flight:
                future.cancel()

    @staticmethod
    def _collect(future: Any, seconds: float) -> Feedback:
        if future.status == "finished":
            try:
                return Feedback.from_dict(future.result())
            except EvaluationError as exc:
                return Feedback.failure(Status.FAILED, f"evaluator returned a bad feedback: {exc}",
                                        Cost(seconds=seconds))
        if future.status == "error":
            error = future.exception()
            name = type(error).__name__
            hint = " (the worker process died while running it)" if name == "KilledWorker" else ""
            return Feedback.failure(Status.FAILED, f"Dask task failed{hint}: {last_line(error)}",
                                    Cost(seconds=seconds))
        return Feedback.failure(Status.FAILED, f"Dask task ended as {future.status!r}", Cost(seconds=seconds))
