"""Evaluate in the calling process, one job after another: for debugging and cheap fitness functions.

Whatever the user's code raises -- ``SystemExit``, ``KeyboardInterrupt`` included -- becomes a
FAILED feedback; only a real interrupt of the search (SIGINT, or SIGTERM where the caller
handles it, arriving while a job runs) is passed on. A time limit cannot stop work here: a job
that ran longer than ``timeout_s`` is recorded as TIMED_OUT after it returns (`search()` refuses
``eval_timeout_s`` with this executor), a job that never returns hangs the caller, and an
evaluator that crashes the interpreter takes the caller with it.
Use :class:`~evo_lacer.execute.ProcessPoolExecutor` when limits must hold.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from types import FrameType
from typing import Any

from evo_lacer.evaluate import Evaluator, Feedback
from evo_lacer.execute._base import ExecutorBase, FeedStream, Job, check_jobs, run_job, timed_out

Handler = Callable[[int, FrameType | None], Any] | int | None


class _RealInterrupts:
    """While a job runs: notes whether SIGINT/SIGTERM really arrived, then lets the previous
    handler act (raise KeyboardInterrupt), so the executor can tell a signal from user code
    raising the same exception."""

    def __init__(self) -> None:
        self.received: BaseException | None = None
        """What the handler raised (KeyboardInterrupt, or the caller's own exception for SIGTERM)."""
        self._previous: dict[int, Handler] = {}

    def __enter__(self) -> _RealInterrupts:
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be set from the main thread
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            if callable(previous):  # an ignored or default-action signal needs no telling apart
                self._previous[sig] = previous
                signal.signal(sig, self._note)
        return self

    def _note(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous[signum]
        try:
            if callable(previous):
                previous(signum, frame)
        except BaseException as exc:
            self.received = exc  # the handler stops the search: pass that on after the job
            raise

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()


class InProcessExecutor(ExecutorBase):
    """Runs jobs sequentially in this process (completion order = submission order)."""

    def submit_many(self, evaluator: Evaluator, jobs: Sequence[Job],
                    timeout_s: float | None) -> Iterator[tuple[int, Feedback]]:
        batch = check_jobs(jobs, timeout_s)
        return self._run(evaluator, deque(batch), timeout_s)

    def stream(self, evaluator: Evaluator, timeout_s: float | None) -> FeedStream:
        """One job at a time: a submitted job runs inside the next `next_result` call."""
        return FeedStream(lambda queue: self._run(evaluator, queue, timeout_s), 1, timeout_s)

    @staticmethod
    def _run(evaluator: Evaluator, queue: deque[Job],
             timeout_s: float | None) -> Generator[tuple[int, Feedback], None, None]:
        while queue:
            job_id, tree, seed = queue.popleft()
            start = time.perf_counter()
            with _RealInterrupts() as interrupts:
                feedback = run_job(evaluator, tree, seed)
            if interrupts.received is not None:  # the search itself was interrupted
                raise interrupts.received
            seconds = time.perf_counter() - start
            if timeout_s is not None and seconds > timeout_s:
                feedback = timed_out(timeout_s, seconds, f"ran {seconds:.2f} s in process; "
                                     "recorded after it finished, the in-process executor cannot stop it")
            yield job_id, feedback

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "InProcessExecutor()"
