"""The search loop, shared by every strategy, with checkpoints that make it resumable.

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

import time
from dataclasses import dataclass
from typing import Any

from evo_lacer.engine._harness import Harness
from evo_lacer.engine._records import Candidate
from evo_lacer.engine._strategy import Strategy

CHECKPOINT = "checkpoint"
PENDING = "pending"


@dataclass(frozen=True)
class LoopResult:
    generations: int
    stop_reason: str
    wall_s: float
    """Wall-clock seconds of the search loop, summed over every session of the run."""


def run_loop(store: Any, harness: Harness, strategy: Strategy, *, batch_size: int,
             max_proposals: int) -> LoopResult:
    """Run (or continue) the generations until the budget is spent (see module docstring)."""
    start = time.perf_counter()
    generation = -1
    wall_before = 0.0
    prepared: list[Candidate] | None = None
    checkpoint = store.load_state(CHECKPOINT)
    if checkpoint is not None:
        generation = int(checkpoint["generation"])
        wall_before = float(checkpoint.get("wall_s", 0.0))
        strategy.load_state_dict(checkpoint["strategy"])
        harness.load_state_dict(checkpoint["harness"])
    pending = store.load_state(PENDING)
    if pending is not None and int(pending["generation"]) > generation:
        strategy.load_state_dict(pending["strategy"])
        harness.load_state_dict(pending["harness"])
        prepared = [Candidate.from_dict(c) for c in pending["candidates"]]
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
            store.save_state(PENDING, {"generation": gen, "strategy": strategy.state_dict(),
                                       "harness": harness.state_dict(),
                                       "candidates": [c.to_dict() for c in prepared]})
        candidates = harness.run(prepared, gen)
        strategy.observe(candidates)
        generation, prepared = gen, None
        store.save_state(CHECKPOINT, {
            "generation": generation, "strategy": strategy.state_dict(), "harness": harness.state_dict(),
            "wall_s": wall_before + time.perf_counter() - start, "accounting": strategy.accounting(),
        })
    return LoopResult(generation + 1, stop, wall_before + time.perf_counter() - start)
