"""The built-in zoo (the `modules_zoo` package), mined exactly like a user's folder."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from evo_lacer.errors import MiningError
from evo_lacer.zoo._catalog import Catalog
from evo_lacer.zoo._miner import mine


def zoo_folder() -> Path:
    """Where `modules_zoo` lies on disk (found without importing it)."""
    spec = importlib.util.find_spec("modules_zoo")
    if spec is None or not spec.submodule_search_locations:
        raise MiningError("package 'modules_zoo' is not installed; reinstall evo-lacer (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def builtin_catalog() -> Catalog:
    """The catalog of the built-in zoo (mined once per process; the result is immutable)."""
    report = mine([zoo_folder()])
    if report.errors:
        raise MiningError(f"the built-in zoo failed to mine: {report.errors}")
    return report.catalog
