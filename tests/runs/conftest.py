"""One real search run folder for the page tests (a small hybrid search takes seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._search_run import make_search_run


@pytest.fixture(scope="session")
def search_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_search_run(tmp_path_factory.mktemp("search") / "run")
