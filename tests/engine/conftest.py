"""Fixtures of the search tests: one embedded model per session (loading it is the slow part)."""

from __future__ import annotations

import pytest

from evo_lacer.errors import LLMUnavailable


@pytest.fixture(scope="session")
def embedded_backend():
    """The embedded SmolLM2 backend, loaded once; the tests using it skip where it is missing."""
    from evo_lacer.llm import EmbeddedBackend

    try:
        return EmbeddedBackend(n_threads=1).load()
    except LLMUnavailable as exc:
        pytest.skip(f"embedded model unavailable: {exc}")
