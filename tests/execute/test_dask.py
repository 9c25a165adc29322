"""DaskExecutor specifics (the contract suite runs it on a LocalCluster), and a search on a cluster
that the test starts on loopback and names by its scheduler address only."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evo_lacer.errors import ConfigError

from ._evaluators import ScriptedEvaluator

dask = pytest.importorskip("dask")


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    from evo_lacer.execute import DaskExecutor

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(ConfigError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:9'"):
        DaskExecutor("tcp://127.0.0.1:9")


def test_bad_worker_count() -> None:
    from evo_lacer.execute import DaskExecutor

    with pytest.raises(ConfigError, match="n_workers >= 1"):
        DaskExecutor(n_workers=0)


def test_a_scheduler_without_workers_is_a_clear_error() -> None:
    distributed = pytest.importorskip("distributed")
    from evo_lacer.execute import DaskExecutor

    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", processes=True, dashboard_address=None,
                                  silence_logs=logging.CRITICAL) as cluster:
        address = cluster.scheduler_address
        with pytest.raises(ConfigError, match=rf"scheduler at '{address}' has no workers.*dask worker"):
            DaskExecutor(address, worker_wait_s=0.5)


@pytest.mark.parametrize(("settings", "message"), [
    ({"executor": "process"}, r"executor='process'; pass executor='dask'"),
    ({"executor": "dask", "workers": 0}, r"dask_address needs workers >= 1"),
    ({"executor": "dask", "dask_address": " "}, r"is not a scheduler address; use tcp://HOST:PORT"),
    ({"executor": "dask", "dask_address": "notanaddress"}, r"'notanaddress' is not a scheduler address"),
])
def test_dask_address_settings_are_checked(settings: dict[str, Any], message: str) -> None:
    from evo_lacer.engine import SearchConfig

    with pytest.raises(ConfigError, match=message):
        SearchConfig(**{"dask_address": "tcp://127.0.0.1:8786", **settings})


def test_the_cli_takes_a_dask_address() -> None:
    from evo_lacer.cli import build_parser

    args = build_parser().parse_args(["search", "--executor", "dask", "--dask-address", "tcp://10.0.0.2:8786"])
    assert args.executor == "dask" and args.dask_address == "tcp://10.0.0.2:8786"
    args = build_parser().parse_args(["resume", "run", "--dask-address", "tcp://10.0.0.2:8786"])
    assert args.dask_address == "tcp://10.0.0.2:8786"


@pytest.fixture
def loopback_cluster() -> Iterator[str]:
    """A scheduler and two single-thread worker processes on loopback, known to the search only by
    the scheduler's address; always torn down."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster.scheduler_address) as client:
        client.wait_for_workers(2, timeout=120)
        yield cluster.scheduler_address


def test_a_search_evaluates_on_a_cluster_given_by_address(loopback_cluster: str, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from evo_lacer import search

    result = search(evaluator=ScriptedEvaluator(), strategy="random", llm="none", budget=4, workers=2,
                    executor="dask", dask_address=loopback_cluster, run_dir=tmp_path / "run")
    evaluated = [c for c in result.history if c.evaluated]
    assert len(evaluated) == 4 and all(c.feedback.ok for c in evaluated), [c.feedback for c in evaluated]
    with distributed.Client(loopback_cluster) as client:  # the search leaves the cluster running
        workers = set(client.run(os.getpid).values())
    pids = {int(c.feedback.metrics["pid"]) for c in evaluated}
    assert len(workers) == 2 and pids <= workers and os.getpid() not in pids, (pids, workers)
    assert result.config.dask_address == loopback_cluster
