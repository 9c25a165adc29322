"""DaskExecutor specifics that need no cluster (the contract suite runs it on a LocalCluster)."""

from __future__ import annotations

import pytest

from evo_lacer.errors import ConfigError

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
