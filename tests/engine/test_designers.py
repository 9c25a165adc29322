"""Designers: random fills, LLM fills (first-option double), and every fallback path."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from search_helpers import (
    CrashingBackend,
    FirstOptionBackend,
    GarbageBackend,
    TimeoutBackend,
    WrongValueBackend,
    small_space,
)

from evo_lacer.compile import infer_sources
from evo_lacer.engine import (
    Candidate,
    DesignContext,
    LLMDesigner,
    Plan,
    RandomDesigner,
    default_seed_tree,
)
from evo_lacer.evaluate import Feedback, Status
from evo_lacer.flat import FlatSpace
from evo_lacer.llm import OllamaBackend, OllamaCompatServer
from evo_lacer.transform import ALL_TRANSFORMATIONS, TransformContext, legal_moves
from evo_lacer.zoo import builtin_catalog


@pytest.fixture(scope="module")
def setup():
    space = small_space()
    tree = default_seed_tree(FlatSpace.load().for_sources(space))
    inputs = {k: s.signal for k, s in infer_sources(space).items()}
    ctx = TransformContext(catalog=builtin_catalog(), inputs=inputs)
    return tree, ctx, legal_moves(tree, ctx)


def _context(setup, name: str = "swap_module", seed: int = 0) -> DesignContext:
    tree, ctx, moves = setup
    return DesignContext(tree=tree, transformation=ALL_TRANSFORMATIONS[name], sites=tuple(moves[name]),
                         ctx=ctx, plan=Plan(name, None, "rely_on_llm"), rng=np.random.default_rng(seed),
                         parent_feedback=Feedback(Status.OK, fitness=0.5, metrics={"reward": 1.0}),
                         task="test task", seed=seed, candidate_id=seed)


def _applies(setup, context: DesignContext, decision) -> None:
    child = context.transformation.apply(context.tree, decision.site, decision.choice, context.ctx)
    assert child != context.tree
    assert decision.site in context.sites


@pytest.mark.parametrize("name", ["swap_module", "change_parameter", "insert_module", "change_fusion"])
def test_random_designer_fills_legal_choices(setup, name: str) -> None:
    a = RandomDesigner().fill(_context(setup, name, seed=4))
    b = RandomDesigner().fill(_context(setup, name, seed=4))
    assert (a.site, a.choice) == (b.site, b.choice)
    assert not a.fell_back and a.designer == "random"
    _applies(setup, _context(setup, name), a)


def test_llm_designer_answers_within_the_options(setup) -> None:
    exchanges: list[dict] = []
    backend = FirstOptionBackend()
    designer = LLMDesigner(backend, exchange_sink=exchanges.append)
    context = _context(setup, "swap_module")
    decision = designer.fill(context)
    _applies(setup, context, decision)
    assert not decision.fell_back and decision.llm_calls >= 1 and decision.designer == "llm"
    assert len(exchanges) == decision.llm_calls and all(x["ok"] for x in exchanges)
    prompt = backend.requests[0].prompt
    for part in ("test task", "swap_module", "Parent feedback: fitness 0.5", "reward=1", "Guidance:"):
        assert part in prompt
    acc = designer.accounting
    assert acc.decisions == 1 and acc.fallbacks == 0 and acc.calls == decision.llm_calls
    assert acc.differs_from_random == int(decision.differs_from_random)


@pytest.mark.parametrize("backend_cls", [GarbageBackend, WrongValueBackend, TimeoutBackend, CrashingBackend])
def test_bad_answers_fall_back_to_random_and_are_counted(setup, backend_cls) -> None:
    exchanges: list[dict] = []
    designer = LLMDesigner(backend_cls(), exchange_sink=exchanges.append)
    context = _context(setup, "swap_module", seed=2)
    decision = designer.fill(context)
    _applies(setup, context, decision)
    assert decision.fell_back and decision.errors
    assert designer.accounting.fallbacks == 1 and designer.accounting.failed_calls == decision.llm_calls
    assert exchanges and not any(x["ok"] for x in exchanges)
    assert all(x["fallback"] for x in exchanges)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dead_server_falls_back_then_is_switched_off(setup) -> None:
    backend = OllamaBackend("qwen2.5:0.5b", host=f"http://127.0.0.1:{_free_port()}")
    designer = LLMDesigner(backend, max_unavailable=2, timeout_s=2.0)
    for seed in range(3):
        decision = designer.fill(_context(setup, "swap_module", seed=seed))
        assert decision.fell_back
    acc = designer.accounting
    assert acc.errors == {"LLMUnavailable": 2} and acc.skipped_calls >= 1 and acc.fallbacks == 3


def test_ollama_client_through_loopback_server(setup) -> None:
    with OllamaCompatServer(FirstOptionBackend(), model_name="first:latest") as server:
        designer = LLMDesigner(OllamaBackend("first", host=server.host), timeout_s=10.0)
        decision = designer.fill(_context(setup, "change_fusion"))
    assert not decision.fell_back and decision.llm_calls >= 1


def test_server_timeout_falls_back(setup) -> None:
    with OllamaCompatServer(FirstOptionBackend(), model_name="first:latest", delay_s=2.0) as server:
        designer = LLMDesigner(OllamaBackend("first", host=server.host), timeout_s=0.3)
        decision = designer.fill(_context(setup, "change_fusion"))
    assert decision.fell_back and designer.accounting.errors.get("LLMTimeout", 0) >= 1


def _batch() -> list[Candidate]:
    fb = Feedback(Status.OK, fitness=0.7, metrics={"reward": 2.0}, features={"ego/rank": 3.0})
    return [Candidate(id=i, generation=1, tree=None, tree_hash=f"h{i}", feedback=fb,
                      transformation="swap_module", site="encoder/ego/0", choice={"module": "MLPBlock"},
                      extra={"parent_fitness": 0.5})
            for i in range(3)]


def test_reflection_keeps_a_bounded_insight_memory() -> None:
    exchanges: list[dict] = []
    backend = FirstOptionBackend()
    designer = LLMDesigner(backend, insight_memory=2, exchange_sink=exchanges.append, task="t")
    assert designer.reflect(_batch()) == ["keep the first option"]
    assert designer.reflect(_batch()) == []  # a repeated insight is not stored twice
    designer.insights = ["first old insight here", "second old insight here"]
    designer.reflect(_batch())
    assert designer.insights == ["second old insight here", "keep the first option"]
    assert "+0.2 vs parent" in backend.requests[0].prompt and "ego/rank=3" in backend.requests[0].prompt
    assert [x["purpose"] for x in exchanges] == ["reflect"] * 3
    state = designer.state_dict()
    other = LLMDesigner(FirstOptionBackend(), insight_memory=2)
    other.load_state_dict(state)
    assert other.insights == designer.insights and other.accounting.reflections == 3


def test_reflection_failures_give_no_insights() -> None:
    for backend in (GarbageBackend(), TimeoutBackend(), CrashingBackend()):
        designer = LLMDesigner(backend)
        assert designer.reflect(_batch()) == [] and designer.insights == []
    assert LLMDesigner(FirstOptionBackend(), reflection=False).reflect(_batch()) == []
