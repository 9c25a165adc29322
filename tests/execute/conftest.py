"""Executors shared across the executor tests: starting workers or a Dask cluster costs seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evo_lacer.execute import Executor, InProcessExecutor, ProcessPoolExecutor

KINDS = ["inprocess", "process", pytest.param("dask", marks=pytest.mark.slow)]


@pytest.fixture(scope="package")
def pool() -> Iterator[ProcessPoolExecutor]:
    """One 2-worker pool for the whole package (it must survive everything the tests do to it)."""
    with ProcessPoolExecutor(2) as ex:
        yield ex


@pytest.fixture(scope="module", params=KINDS)
def executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    if request.param == "inprocess":
        yield InProcessExecutor()
    elif request.param == "process":
        yield request.getfixturevalue("pool")
    else:
        pytest.importorskip("distributed")
        from evo_lacer.execute import DaskExecutor

        with DaskExecutor(n_workers=2) as ex:
            yield ex
