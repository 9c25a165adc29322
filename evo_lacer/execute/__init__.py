"""Executors: run an evaluator over many candidate trees, in process, in worker processes or on Dask."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evo_lacer.errors import ConfigError
from evo_lacer.execute._base import (
    Executor,
    ExecutorBase,
    FeedStream,
    Job,
    JobStream,
    open_stream,
    run_job,
)
from evo_lacer.execute._inprocess import InProcessExecutor
from evo_lacer.execute._process import ProcessPoolExecutor

if TYPE_CHECKING:
    from evo_lacer.execute._dask import DaskExecutor

EXECUTOR_KINDS: tuple[str, ...] = ("process", "inprocess", "dask")


def make_executor(workers: int, kind: str = "process", *, memory_mb: int | None = None,
                  address: str | None = None) -> Executor:
    """The executor for `workers` parallel evaluations: in process when ``workers == 0`` or
    ``kind == "inprocess"``, else a process pool (``"process"``, each worker limited to `memory_mb`,
    see `ProcessPoolExecutor`) or Dask (``"dask"``): the cluster whose scheduler is at `address`,
    or a local one of `workers` processes."""
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise ConfigError(f"workers must be an integer >= 0, got {workers!r}")
    if kind not in EXECUTOR_KINDS:
        raise ConfigError(f"unknown executor kind {kind!r}; choose one of {EXECUTOR_KINDS}")
    if address is not None and (kind != "dask" or workers == 0):
        raise ConfigError(f"a Dask scheduler address ({address!r}) needs kind='dask' and workers >= 1, "
                          f"got kind={kind!r}, workers={workers}")
    if workers == 0 or kind == "inprocess":
        return InProcessExecutor()
    if kind == "dask":
        from evo_lacer.execute._dask import DaskExecutor

        return DaskExecutor(address, n_workers=workers, memory_mb=memory_mb)
    return ProcessPoolExecutor(workers, memory_mb=memory_mb)


def __getattr__(name: str) -> Any:
    # DaskExecutor is imported lazily: importing distributed costs ~1 s and it is an optional extra.
    if name == "DaskExecutor":
        from evo_lacer.execute._dask import DaskExecutor

        return DaskExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EXECUTOR_KINDS",
    "DaskExecutor",
    "Executor",
    "ExecutorBase",
    "FeedStream",
    "InProcessExecutor",
    "Job",
    "JobStream",
    "ProcessPoolExecutor",
    "make_executor",
    "open_stream",
    "run_job",
]
