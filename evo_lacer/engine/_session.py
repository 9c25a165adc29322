"""The search session: everything between an open run store and what the search found -- the
gate, the strategy built from the config, the executor, the harness and its loop, the promotion
to the full fidelity, the best candidate and the accounting. `evo_lacer.api` only builds the
components (evaluator, catalog, spaces, LLM backend, run store) and calls `run_session`."""

from __future__ import annotations

import contextlib
import gc
import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from evo_lacer.engine._config import SearchConfig
from evo_lacer.engine._flat_strategy import FlatSpaceLike
from evo_lacer.engine._harness import Harness
from evo_lacer.engine._loop import run_loop, started_loop
from evo_lacer.engine._progress import ProgressBar
from evo_lacer.engine._promotion import PROMOTE, promote, promotion_summary
from evo_lacer.engine._records import Candidate
from evo_lacer.engine._trust import resolve_trust
from evo_lacer.engine._wiring import build_strategy
from evo_lacer.evaluate import Evaluator, Feedback
from evo_lacer.llm import LLMBackend
from evo_lacer.transform import GateResult
from evo_lacer.tree import Node, to_json, tree_hash
from evo_lacer.zoo import Catalog


@dataclass(frozen=True)
class SessionOutcome:
    """What a session found and what it cost (frozen)."""

    best_tree: Node | None
    best_feedback: Feedback | None
    history: tuple[Candidate, ...]
    """Every candidate of the run, by id."""
    accounting: Mapping[str, Any]
    best_id: int | None


def auto_executor(cfg: SearchConfig, evaluator: Evaluator) -> str:
    """A killable process pool where it matters: several workers, a time limit, or an evaluator
    that asks for isolation (RL training: slow, may crash, libsumo allows one simulation per
    process). Cheap custom fitness functions run in this process, where overhead is lowest. A Dask
    scheduler address means its cluster."""
    if cfg.dask_address is not None:
        return "dask"
    isolate = cfg.workers > 1 or cfg.eval_timeout_s is not None or getattr(evaluator, "isolate", False)
    return "process" if isolate else "inprocess"


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Hide what is alive when the session starts (imported modules, torch, Optuna: most of the
    heap) from the garbage collector until it ends, so that a full collection scans only what the
    search makes: in a 128-child hybrid run it paused the search process for about 100 ms while a
    worker waited for its next candidate, and 5-10 ms with this. Nothing is kept alive for good:
    objects are still freed by reference counting, and the frozen ones (garbage cycles among them
    included) go back to the collector at the end. A caller that froze the heap itself keeps its
    frozen objects frozen."""
    mine = gc.get_freeze_count() == 0
    if mine:
        gc.freeze()  # no collection first: it would cost the pause this avoids
    try:
        yield
    finally:
        if mine:
            gc.unfreeze()


def run_session(store: Any, cfg: SearchConfig, evaluator: Evaluator, catalog: Catalog, flat: FlatSpaceLike,
                seeds: Sequence[Node], backend: LLMBackend | None, *, progress: bool = False,
                full: Evaluator | None = None) -> SessionOutcome:
    """One search session on an open, locked run store: the gate, the strategy, the executor, the
    harness and the loop, then the promotion to the full fidelity (``full``, halving), the best
    candidate and the accounting (saved as ``state/summary.json``); the heap alive before it is
    hidden from the garbage collector meanwhile (`frozen_heap`)."""
    with frozen_heap():
        return _session(store, cfg, evaluator, catalog, flat, seeds, backend, progress=progress, full=full)


def _session(store: Any, cfg: SearchConfig, evaluator: Evaluator, catalog: Catalog, flat: FlatSpaceLike,
             seeds: Sequence[Node], backend: LLMBackend | None, *, progress: bool,
             full: Evaluator | None) -> SessionOutcome:
    from evo_lacer.compile import infer_sources
    from evo_lacer.execute import make_executor
    from evo_lacer.transform import LATENCY_RUNS, Gate

    space = evaluator.observation_space
    inputs = {k: s.signal for k, s in infer_sources(space).items()}
    timed = cfg.max_latency_ms is not None or "-latency_ms" in cfg.objectives
    gate = Gate(space, catalog, cfg.max_params, cfg.max_latency_ms, latency_runs=LATENCY_RUNS if timed else 0,
                seed=cfg.seed)

    def gate_fn(parent: Node | None, child: Node, intended: Any, child_hash: str) -> GateResult:
        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, cfg.gate_threads))  # tiny dummy batches: threads only contend
        try:
            return gate.check(parent, child, intended, child_hash)
        finally:
            torch.set_num_threads(threads)

    def hash_fn(tree: Node) -> str:
        return tree_hash(tree, catalog)

    check_llm(store, cfg, backend)
    cfg = replace(cfg, llm_trust=resolve_trust(cfg.llm_trust, read_check(store)))
    kind = cfg.executor if cfg.executor != "auto" else auto_executor(cfg, evaluator)
    cfg = replace(cfg, loop=cfg.resolve_loop(kind, started_loop(store)))
    strategy = build_strategy(cfg, catalog=catalog, inputs=inputs, seeds=seeds, space=flat, backend=backend,
                              exchange_sink=store.append_llm, task=evaluator.describe(), evaluator=evaluator)
    executor = make_executor(cfg.workers, kind, memory_mb=cfg.worker_memory_mb, address=cfg.dask_address)
    bar: ProgressBar | None = None
    try:
        harness = Harness(store=store, evaluator=evaluator, executor=executor, strategy=cfg.strategy,
                          budget=cfg.budget, seed=cfg.seed, gate=gate_fn, hash_fn=hash_fn,
                          timeout_s=cfg.eval_timeout_s)
        if progress:
            bar = ProgressBar(cfg.budget, initial=harness.evaluated, desc=cfg.strategy)
            harness.progress = bar
        loop = run_loop(store, harness, strategy, batch_size=cfg.generation_size,
                        max_proposals=cfg.budget * cfg.max_proposals_factor, loop=cfg.loop_kind)
        promoted: list[Candidate] = []
        if full is not None:
            searched = [c for c in harness.records.values() if c.transformation != PROMOTE]
            earlier = [Candidate.from_dict(r) for r in store.candidates()
                       if r.get("transformation") == PROMOTE]

            def record(cand: Candidate) -> None:
                store.append_candidate({**cand.to_dict(), "strategy": cfg.strategy})

            promoted = promote([*searched, *earlier], full, executor, keep=cfg.promote, seed=cfg.seed,
                               record=record, timeout_s=cfg.eval_timeout_s)
    finally:
        executor.close()
        if bar is not None:
            bar.close()
    history = tuple(sorted({**harness.records, **{c.id: c for c in promoted}}.values(), key=lambda c: c.id))
    best = harness.best
    if full is not None:  # the full fidelity decides; cheap scores are on another scale
        best = promoted[0] if promoted and promoted[0].feedback.ok else None
    best_tree = best.tree if best is not None else None
    if best_tree is not None:
        store.write_artifact("best_tree.json", to_json(best_tree) + "\n")  # atomic
    accounting = session_accounting(history, harness, loop, strategy.accounting(), cfg)
    if full is not None:
        accounting["best_fitness"] = None if best is None else best.fitness
        accounting["promotion"] = promotion_summary(history)  # the cheap fidelity's hit rate
    store.save_state("summary", accounting)
    return SessionOutcome(best_tree, None if best is None else best.feedback, history, accounting,
                          None if best is None else best.id)


def check_llm(store: Any, cfg: SearchConfig, backend: LLMBackend | None) -> None:
    """Before an LLM strategy's first call: `llm_check` with `cfg.llm_check_probes` probes, once per run
    folder (``artifacts/llm_check.json``); a model at chance gets a warning. A failing check warns."""
    if backend is None or cfg.llm_check_probes <= 0 or store.artifact_path(LLM_CHECK_ARTIFACT).exists():
        return
    llm_arms = [a for a in cfg.arms if "llm" in a]
    if cfg.spec.arms and cfg.arms and not llm_arms and not cfg.llm_initial_count:
        return  # a hybrid whose LLM arms are off never asks the model
    from evo_lacer.engine._llm_check import llm_check

    try:
        result = llm_check(backend, probes=cfg.llm_check_probes, seed=cfg.seed,
                           temperature=cfg.llm_temperature, max_tokens=cfg.llm_max_tokens,
                           timeout_s=cfg.llm_timeout_s)
    except Exception as exc:  # the check informs; it must not stop the search
        warnings.warn(f"the LLM check could not run ({type(exc).__name__}: {exc}); the search goes on "
                      "without it", RuntimeWarning, stacklevel=4)  # the caller of run_session
        return
    store.write_artifact(LLM_CHECK_ARTIFACT, json.dumps(result.to_dict(), indent=2) + "\n")
    if result.warning():
        warnings.warn(result.warning(), RuntimeWarning, stacklevel=4)


def read_check(store: Any) -> dict[str, Any] | None:
    """The run's LLM check result (JSON, read as data), or None when there is none or it is unreadable."""
    path = store.artifact_path(LLM_CHECK_ARTIFACT)
    try:
        data = json.loads(path.read_text()) if path.exists() else None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


LLM_CHECK_ARTIFACT = "llm_check.json"
"""Where a search keeps its model's `llm_check` result (under the run folder's ``artifacts/``)."""


def session_accounting(history: tuple[Candidate, ...], harness: Harness, loop: Any, strategy: dict[str, Any],
                cfg: SearchConfig) -> dict[str, Any]:
    evaluated = [c for c in history if c.evaluated]
    eval_s = sum(c.feedback.cost.seconds for c in evaluated)
    statuses = {s: sum(1 for c in evaluated if c.status.value == s) for s in ("ok", "failed", "timed_out")}
    return {
        "strategy": cfg.strategy, "loop": cfg.loop_kind, "budget": cfg.budget, "evaluations": len(evaluated),
        "proposals": len(history), "rejected": sum(1 for c in history if c.status.value == "rejected"),
        "cached": sum(1 for c in history if c.cached), **statuses,
        "generations": loop.generations, "stop_reason": loop.stop_reason, "wall_s": loop.wall_s,
        "eval_s": eval_s, "overhead_ratio": loop.wall_s / eval_s if eval_s > 0 else None,
        "best_fitness": None if harness.best is None else harness.best.fitness,
        "promoted": sum(1 for c in history if c.transformation == PROMOTE), **strategy,
    }

