"""Fixtures for the compiler tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from evo_lacer.zoo import Catalog, builtin_catalog, mine


@pytest.fixture(scope="session")
def torch_catalog() -> Catalog:
    """The built-in zoo plus torch.nn's modules, mined from torch's source folder."""
    report = mine([Path(torch.nn.__file__).parent / "modules"])
    return builtin_catalog().merged(report.catalog.specs)
