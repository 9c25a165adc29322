"""The LLM as an unreliable server: a deadline per call, explicit backends checked at start,
transient server errors backed off. Only the project's loopback server on 127.0.0.1 is used."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from evo_lacer.api import search
from evo_lacer.cli import main
from evo_lacer.engine._llm_client import LLMClient
from evo_lacer.errors import LLMTimeout, LLMUnavailable
from evo_lacer.llm import LLMReply, LLMRequest, OllamaBackend, OllamaCompatServer

from .fault_helpers import SETTINGS, fitness, space

SCHEMA = {"type": "object", "properties": {"pick": {"enum": ["a", "b"]}}, "required": ["pick"]}


class _First:
    """A backend that always picks the first option (what the loopback server answers from)."""

    name, model = "first", "first"

    def complete(self, request: LLMRequest) -> LLMReply:
        return LLMReply(value={"pick": "a"}, text='{"pick": "a"}', prompt_tokens=1, completion_tokens=1,
                        seconds=0.0, backend=self.name, model=self.model)


def _request(timeout_s: float) -> LLMRequest:
    return LLMRequest(system="", prompt="pick", schema=SCHEMA, timeout_s=timeout_s)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_trickling_server_cannot_hold_a_call_past_its_deadline(record) -> None:
    # ~300 bytes at one per 0.5 s: 150 s without a deadline; every read is quick, so a per-read
    # limit never fires
    with OllamaCompatServer(_First(), model_name="first:latest", trickle_s=0.5) as server:
        backend = OllamaBackend("first", host=server.host)
        start = time.monotonic()
        with pytest.raises(LLMTimeout, match="within 2 s"):
            backend.complete(_request(timeout_s=2.0))
        elapsed = time.monotonic() - start
    assert elapsed < 60, f"the call took {elapsed:.1f} s"
    record("Ollama server trickling one byte every 0.5 s, call limit 2 s",
           f"LLMTimeout after {elapsed:.1f} s (the answer would take ~150 s)", searches=0)


def test_an_explicit_unreachable_llm_fails_at_start(tmp_path: Path, capsys, record) -> None:
    spec = f"ollama:x@http://127.0.0.1:{_free_port()}"
    with pytest.raises(LLMUnavailable, match="cannot reach the Ollama server"):
        search(observation_space=space(), fitness=fitness, run_dir=tmp_path / "a", budget=2,
               **{**SETTINGS, "strategy": "hybrid", "llm": spec})
    code = main(["search", "--fitness", "faults.fault_helpers:fitness",
                 "--observation-space", "faults.fault_helpers:space",
                 "--strategy", "hybrid", "--budget", "2", "--llm", spec, "--run-dir", str(tmp_path / "b"),
                 "--no-progress", "--no-report"])
    assert code == 1 and "cannot reach the Ollama server" in capsys.readouterr().err
    assert not (tmp_path / "b" / "candidates.jsonl").exists()
    record("--llm ollama:x@ an unreachable port", "exit 1 before any evaluation, naming the server and how "
           "to start one", searches=2)


def test_an_explicit_llm_without_the_model_fails_at_start(tmp_path: Path, record) -> None:
    with OllamaCompatServer(_First(), model_name="first:latest") as server:
        with pytest.raises(LLMUnavailable, match=r"'other' is not on the Ollama server.*first:latest"):
            search(observation_space=space(), fitness=fitness, run_dir=tmp_path / "a", budget=2,
                   **{**SETTINGS, "strategy": "hybrid", "llm": f"ollama:other@{server.host}"})
        result = search(observation_space=space(), fitness=fitness, run_dir=tmp_path / "b", budget=2,
                        **{**SETTINGS, "strategy": "hybrid", "llm": f"ollama:first@{server.host}"})
    assert result.accounting["evaluations"] == 2
    record("--llm naming a model the server lacks", "refused at start listing the server's models; the "
           "listed model works", searches=2)


def test_transient_server_errors_back_off_instead_of_switching_the_llm_off(record) -> None:
    now = [0.0]
    with OllamaCompatServer(_First(), model_name="first:latest", fail_first=3) as server:
        client = LLMClient(OllamaBackend("first", host=server.host), timeout_s=30.0, max_unavailable=3,
                           backoff_s=10.0, clock=lambda: now[0])
        asks: list[tuple[Any, str | None]] = [
            client.ask(purpose="t", system="", prompt="pick", schema=SCHEMA, seed=0, max_tokens=8)
            for _ in range(4)]
        assert [v for v, _ in asks] == [None] * 4 and "resting" in str(asks[3][1])
        assert server.chats == 3  # the fourth call was not sent
        now[0] += 11.0
        value, error = client.ask(purpose="t", system="", prompt="pick", schema=SCHEMA, seed=0, max_tokens=8)
    assert value == {"pick": "a"} and error is None and not client.disabled
    assert client.accounting.skipped_calls == 1
    record("three HTTP 500s in a row from the LLM server", "the LLM rested 10 s, then answered again",
           searches=0)
