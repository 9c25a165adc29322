"""Evaluate in the calling process, one job after another: for debugging and tiny runs.

A time limit cannot stop work here: a job that ran longer than ``timeout_s`` is recorded as
TIMED_OUT after it returns (its result is discarded), a job that never returns hangs the
caller, and an evaluator that crashes the interpreter takes the caller with it. Use
:class:`~evo_lacer.execute.ProcessPoolExecutor` when limits must hold.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from evo_lacer.evaluate import Evaluator, Feedback
from evo_lacer.execute._base import ExecutorBase, Job, check_jobs, run_job, timed_out


class InProcessExecutor(ExecutorBase):
    """Runs jobs sequentially in this process (completion order = submission order)."""

    def submit_many(self, evaluator: Evaluator, jobs: Sequence[Job],
                    timeout_s: float | None) -> Iterator[tuple[int, Feedback]]:
        batch = check_jobs(jobs, timeout_s)
        return self._run(evaluator, batch, timeout_s)

    @staticmethod
    def _run(evaluator: Evaluator, batch: list[Job],
             timeout_s: float | None) -> Iterator[tuple[int, Feedback]]:
        for job_id, tree, seed in batch:
            start = time.perf_counter()
            feedback = run_job(evaluator, tree, seed)
            seconds = time.perf_counter() - start
            if timeout_s is not None and seconds > timeout_s:
                feedback = timed_out(timeout_s, seconds, f"ran {seconds:.2f} s in process; "
                                     "recorded after it finished, the in-process executor cannot stop it")
            yield job_id, feedback

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "InProcessExecutor()"
