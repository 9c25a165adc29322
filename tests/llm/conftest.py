"""Shared fixtures: ONE loaded embedded model for the whole session and a loopback Ollama
server answering from it."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from evo_lacer.errors import LLMUnavailable
from evo_lacer.llm import EmbeddedBackend, OllamaCompatServer

# A child process runs one batched prompt first: a llama.cpp build that crashes on this CPU
# (e.g. AMX compiled in but not usable in a VM) fails these tests instead of killing pytest.
_PROBE = """
from evo_lacer.llm import EmbeddedBackend, LLMRequest
request = LLMRequest(system="", prompt="Say yes.", schema={"enum": ["yes"]}, max_tokens=4)
EmbeddedBackend(n_threads=1).generate(request)
"""


@pytest.fixture(scope="session")
def embedded() -> EmbeddedBackend:
    try:
        # One thread: with OpenMP, two threads on a busy 2-core machine spin and run ~10x slower.
        backend = EmbeddedBackend(n_threads=1)
    except LLMUnavailable as exc:
        pytest.skip(f"embedded backend not installed: {exc}")
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        pytest.fail(
            f"llama.cpp crashed on a batched prompt (exit {proc.returncode}): build "
            "llama-cpp-python for this CPU, e.g. CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AVX2=ON "
            f"-DGGML_FMA=ON -DGGML_F16C=ON' pip install --no-cache-dir llama-cpp-python\n"
            f"{proc.stderr[-2000:]}"
        )
    return backend.load()


@pytest.fixture(scope="session")
def loopback(embedded: EmbeddedBackend) -> Iterator[OllamaCompatServer]:
    with OllamaCompatServer(embedded, model_name="smollm2:135m") as server:
        yield server


@pytest.fixture
def closed_port_host() -> str:
    """URL of a loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
