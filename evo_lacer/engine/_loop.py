"""The search loop, shared by every strategy, with checkpoints that make it resumable.

Two loops: *generational* (here) and *steady* (`evo_lacer.engine._steady`: one candidate
proposed whenever a worker is free, each outcome observed as it arrives); `run_loop` runs the
one ``loop`` names.

One generation: the strategy proposes -> the harness prepares (ids, gate, cache) -> the
*pending* state is saved (strategy state after proposing + the prepared candidates) -> the
harness evaluates and appends each candidate to the run store as it completes -> the strategy
observes -> the *checkpoint* is saved.

A run killed at any moment resumes from the checkpoint, or from the pending state when it is
newer: candidates already in the store are reused (never evaluated again), the missing ones are
evaluated, so no evaluation is lost or repeated and the total is exactly the budget. A kill
while proposing only repeats the proposing (LLM calls are logged again; nothing was evaluated).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from evo_lacer.engine._harness import Harness
from evo_lacer.engine._records import Candidate
from evo_lacer.engine._strategy import Strategy
from evo_lacer.errors import ConfigError, EvoLacerError, RunStoreError

CHECKPOINT = "checkpoint"
PENDING = "pending"


@dataclass(frozen=True)
class LoopResult:
    generations: int
    stop_reason: str
    wall_s: float
    """Wall-clock seconds of the search loop, summed over every session of the run."""


LOOPS: tuple[str, ...] = ("generational", "steady")


def started_loop(store: Any) -> str | None:
    """The loop a run's saved state was written by (None for a run not started yet)."""
    checkpoint = store.load_state(CHECKPOINT)
    if checkpoint is not None:
        return str(checkpoint.get("loop", "generational"))
    return "generational" if store.load_state(PENDING) is not None else None


def run_loop(store: Any, harness: Harness, strategy: Strategy, *, batch_size: int,
             max_proposals: int, loop: str = "generational") -> LoopResult:
    """Run (or continue) the generations until the budget is spent (see module docstring);
    ``loop="steady"``: the steady-state loop (`batch_size` is then not used)."""
    if loop not in LOOPS:
        raise ConfigError(f"unknown loop {loop!r}; choose one of {LOOPS}")
    if loop == "steady":
        from evo_lacer.engine._steady import run_steady

        return run_steady(store, harness, strategy, max_proposals=max_proposals)
    start = time.perf_counter()
    generation = -1
    wall_before = 0.0
    prepared: list[Candidate] | None = None
    fingerprint = config_fingerprint(store.config)
    checkpoint = store.load_state(CHECKPOINT)
    pending = store.load_state(PENDING)
    with _loading(store, CHECKPOINT, checkpoint, fingerprint):
        if checkpoint is not None and checkpoint.get("loop", "generational") != "generational":
            raise RunStoreError(f"{store.state_path(CHECKPOINT)} was written by the {checkpoint['loop']} "
                                f"loop; resume the run with loop={checkpoint['loop']!r}")
        if checkpoint is not None:
            generation = int(checkpoint["generation"])
            wall_before = float(checkpoint.get("wall_s", 0.0))
            strategy.load_state_dict(checkpoint["strategy"])
            harness.load_state_dict(checkpoint["harness"])
    with _loading(store, PENDING, pending, fingerprint):
        if pending is not None and int(pending["generation"]) > generation:
            strategy.load_state_dict(pending["strategy"])
            harness.load_state_dict(pending["harness"])
            prepared = [Candidate.from_dict(c) for c in pending["candidates"]]
        elif pending is not None and int(pending["generation"]) == generation:
            _redo_lost(harness, [Candidate.from_dict(c) for c in pending["candidates"]], generation)
    stop = "budget spent"
    while True:
        gen = generation + 1
        if prepared is None:
            if harness.budget_left <= 0:
                break
            if harness.proposals >= max_proposals:
                stop = (f"stopped after {harness.proposals} proposals without spending the budget "
                        "(the space may hold no new architectures)")
                break
            proposals = strategy.propose(min(batch_size, harness.budget_left), gen, harness.next_id)
            if not proposals:
                stop = f"{strategy.name} has nothing more to propose"
                break
            prepared = harness.prepare(proposals, gen)
            store.save_state(PENDING, {"generation": gen, "config": fingerprint,
                                       "strategy": strategy.state_dict(), "harness": harness.state_dict(),
                                       "candidates": [c.to_dict() for c in prepared]})
        candidates = harness.run(prepared, gen)
        strategy.observe(candidates)
        generation, prepared = gen, None
        store.save_state(CHECKPOINT, {
            "generation": generation, "config": fingerprint, "strategy": strategy.state_dict(),
            "harness": harness.state_dict(),
            "wall_s": wall_before + time.perf_counter() - start, "accounting": strategy.accounting(),
        })
    return LoopResult(generation + 1, stop, wall_before + time.perf_counter() - start)


def config_fingerprint(config: Any) -> str:
    """A digest of the run config, kept in each checkpoint so a swapped ``run.json`` is noticed."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


@contextlib.contextmanager
def _loading(store: Any, name: str, state: Any, fingerprint: str) -> Iterator[None]:
    """Turn a damaged or foreign loop state into a RunStoreError naming its file."""
    path = store.state_path(name)
    if state is not None and state.get("config", fingerprint) != fingerprint:
        raise RunStoreError(f"{path} was written for another config than {store.path / 'run.json'} holds now "
                            "(run.json was replaced or edited); restore the run's own run.json, or start a "
                            "new search")
    try:
        yield
    except EvoLacerError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise RunStoreError(f"{path}: damaged loop state ({type(exc).__name__}: {exc}); restore it from a "
                            "backup, or start a new search") from None


def _redo_lost(harness: Harness, prepared: list[Candidate], generation: int) -> None:
    """Evaluate again the candidates of the last finished generation whose record was lost (a
    kill cut the last line of ``candidates.jsonl``), under their own ids; the strategy already
    observed them."""
    lost = [c for c in prepared if c.id not in harness.records]
    if lost:
        warnings.warn(f"candidates {[c.id for c in lost]} of generation {generation} were lost from the "
                      "candidate log (cut last line); evaluating them again under their ids", RuntimeWarning,
                      stacklevel=3)
        harness.run(prepared, generation)
