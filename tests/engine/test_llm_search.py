"""Searches with a real model: the embedded SmolLM2 directly, and through the real `ollama`
client against the loopback Ollama-compatible server. Slow on a loaded CPU: marked slow."""

from __future__ import annotations

import json

import pytest
from search_helpers import rich_fitness, small_space

from evo_lacer.api import search
from evo_lacer.llm import OllamaBackend, OllamaCompatServer

pytestmark = pytest.mark.slow


def _check_llm_run(result, budget: int) -> dict:
    acc = result.accounting
    assert acc["evaluations"] == budget
    llm = acc["llm"]
    exchanges = [json.loads(x) for x in (result.run_dir / "llm.jsonl").read_text().splitlines()]
    assert llm["calls"] == len(exchanges) > 0
    assert llm["fallbacks"] <= llm["decisions"]
    assert all(x["ok"] or x["error"] for x in exchanges)
    return llm


def test_hybrid_with_the_embedded_model(tmp_path, embedded_backend) -> None:
    result = search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=3,
                    batch_size=2, population_size=4, llm=embedded_backend, run_dir=tmp_path / "run",
                    llm_timeout_s=120.0, llm_check_probes=0,
           initial_designs=1, llm_initial_designs=0, arms=("edit:llm",))
    llm = _check_llm_run(result, 3)
    assert llm["reflections"] == 1 and llm["prompt_tokens"] > 0
    purposes = {json.loads(x)["purpose"] for x in (result.run_dir / "llm.jsonl").read_text().splitlines()}
    assert purposes == {"design", "reflect"}


def test_lacer_with_the_embedded_model(tmp_path, embedded_backend) -> None:
    result = search(observation_space=small_space(), fitness=rich_fitness, strategy="lacer", budget=3,
                    batch_size=2, initial_evaluations=1, llm=embedded_backend, run_dir=tmp_path / "run",
                    llm_timeout_s=180.0, llm_check_probes=0)
    llm = _check_llm_run(result, 3)
    assert llm["decisions"] == 2  # one initial evaluation, then the LLM designs


def test_hybrid_through_the_ollama_client(tmp_path, embedded_backend) -> None:
    with OllamaCompatServer(embedded_backend, model_name="smollm2:latest") as server:
        backend = OllamaBackend("smollm2", host=server.host)
        result = search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=2,
                        batch_size=1, population_size=4, llm=backend, run_dir=tmp_path / "run",
                        reflection=False, llm_timeout_s=120.0, llm_check_probes=0,
           initial_designs=1, llm_initial_designs=0, arms=("edit:llm",))
    _check_llm_run(result, 2)
    exchanges = [json.loads(x) for x in (result.run_dir / "llm.jsonl").read_text().splitlines()]
    assert {x["backend"] for x in exchanges} == {"ollama"}
