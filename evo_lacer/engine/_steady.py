"""The steady-state (asynchronous) loop: as soon as a worker is free, the next candidate is
proposed and sent; each outcome is observed as it arrives.

One *step*: take the next outcome -- a candidate whose outcome needed no evaluation (gate
rejection, cache hit) first, else the next evaluation to complete -- record it, let the strategy
observe it (selection, planner and arm updates, one candidate at a time), refill the free worker
slots with new proposals made from the population as it stands now (planner ask, designer and
LLM calls run while the other candidates evaluate), and save the *checkpoint*: strategy and
harness state, the candidates in flight, those waiting, and the order in which outcomes were
observed. A proposal that needs no evaluation stops the refill until it is observed. In this
process every proposal sees every earlier outcome; a process pool keeps one candidate queued
behind its workers, so a proposal sees every outcome but those in flight. With one worker either
way the order is fixed, and a run is deterministic like the generational loop.

The checkpoint of each step is written atomically; it is fsync'ed when `DURABLE_EVERY_S` passed
since the last fsync'ed one and at the end (a kill of the process never loses a written
checkpoint; a power cut may bring back one up to that old, and a resume then refuses the run's
newer records rather than guess -- see `check_run`). The fsyncs would otherwise cost ~15 ms per
candidate, more than the whole framework overhead at a 50 ms evaluation.

Resume: the checkpoint is the state right after a step. Outcomes recorded after it (a kill came
before the next checkpoint) are the candidates it lists in flight: they are taken first, in the
order the run store holds them (the order they arrived), so the strategy observes exactly what
the killed run observed; the other candidates in flight are evaluated again. Nothing recorded is
evaluated twice, nothing is lost, and the total is the budget.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from typing import Any

from evo_lacer.engine._harness import Harness
from evo_lacer.engine._loop import CHECKPOINT, PENDING, LoopResult, _loading, config_fingerprint
from evo_lacer.engine._records import Candidate
from evo_lacer.engine._strategy import Strategy
from evo_lacer.errors import RunStoreError
from evo_lacer.execute import JobStream, open_stream

STEADY = "steady"
DURABLE_EVERY_S = 1.0
"""Most seconds between two fsync'ed checkpoints."""


class SteadyLoop:
    """One session of the steady-state loop over a run (see module docstring)."""

    def __init__(self, store: Any, harness: Harness, strategy: Strategy, *, max_proposals: int) -> None:
        self.store = store
        self.harness = harness
        self.strategy = strategy
        self.max_proposals = max_proposals
        self.fingerprint = config_fingerprint(store.config)
        self.steps = 0
        self.wall_before = 0.0
        self.flying: dict[int, Candidate] = {}
        """Candidates sent to evaluation, by id, in the order sent."""
        self.waiting: list[Candidate] = []
        """Duplicates of a flying candidate, answered from its result."""
        self.ready: list[Candidate] = []
        """Candidates whose outcome needed no evaluation, observed before anything else."""
        self.order: list[int] = []
        """Ids in the order their outcomes were observed."""
        self.last: list[Candidate] = []
        """What the last step recorded (evaluated again if a kill cut it from the log)."""
        self.stop = "budget spent"
        self.stream: JobStream | None = None
        self.durable_at = time.monotonic()

    # --- state ---------------------------------------------------------------------------
    def _load(self) -> bool:
        checkpoint = self.store.load_state(CHECKPOINT)
        if checkpoint is None:
            if self.store.load_state(PENDING) is not None:
                raise RunStoreError(f"{self.store.state_path(PENDING)}: the run was started by the "
                                    "generational loop; resume it with loop='generational'")
            return False
        with _loading(self.store, CHECKPOINT, checkpoint, self.fingerprint):
            if checkpoint.get("loop") != STEADY:
                raise RunStoreError(f"{self.store.state_path(CHECKPOINT)} was written by the generational "
                                    "loop; resume the run with loop='generational'")
            self.steps = int(checkpoint["generation"])
            self.wall_before = float(checkpoint.get("wall_s", 0.0))
            self.strategy.load_state_dict(checkpoint["strategy"])
            self.harness.load_state_dict(checkpoint["harness"])
            self.flying = {c.id: c for c in map(Candidate.from_dict, checkpoint["flying"])}
            self.waiting = [Candidate.from_dict(c) for c in checkpoint["waiting"]]
            self.ready = [Candidate.from_dict(c) for c in checkpoint["ready"]]
            self.order = [int(i) for i in checkpoint["order"]]
            self.last = [Candidate.from_dict(c) for c in checkpoint["last"]]
            self.stop = str(checkpoint.get("stop_reason", self.stop))
        return True

    def _save(self, start: float, final: bool = False) -> None:
        dicts = lambda cands: [c.to_dict() for c in cands]  # noqa: E731
        durable = final or time.monotonic() - self.durable_at >= DURABLE_EVERY_S
        if durable:
            self.durable_at = time.monotonic()
        self.store.save_state(CHECKPOINT, {
            "loop": STEADY, "generation": self.steps, "config": self.fingerprint,
            "strategy": self.strategy.state_dict(), "harness": self.harness.state_dict(),
            "flying": dicts(self.flying.values()), "waiting": dicts(self.waiting),
            "ready": dicts(self.ready), "order": self.order, "last": dicts(self.last),
            "stop_reason": self.stop, "wall_s": self.wall_before + time.perf_counter() - start,
            "accounting": self.strategy.accounting(),
        }, durable=durable)

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> LoopResult:
        start = time.perf_counter()
        resumed = self._load()
        self._redo_lost()
        h = self.harness
        self.stream = open_stream(h.executor, h.evaluator, h.timeout_s)
        try:
            for cand in self.flying.values():
                if cand.id not in h.records:
                    self.stream.submit(h.job(cand))
            if not resumed:
                self._refill()
                self._save(start)
            while True:
                observed = self._take()
                if not observed:
                    self._save(start, final=True)
                    break
                self.steps += 1
                for cand in observed:
                    self.strategy.observe([cand])
                    self.order.append(cand.id)
                self.last = observed
                self._refill()
                self._save(start)
        finally:
            self.stream.close()
        return LoopResult(self.steps, self.stop, self.wall_before + time.perf_counter() - start)

    def _take(self) -> list[Candidate]:
        """The next outcome(s) to observe: a ready candidate, else the next evaluation (one
        already recorded by a killed session first) with the duplicates that waited for it."""
        h, stream = self.harness, self.stream
        assert stream is not None
        if self.ready:
            return [h.settle(self.ready.pop(0), self.steps)]
        if not self.flying:
            return []
        arrived = [cid for cid in h.records if cid in self.flying]  # the store's order: arrival order
        if arrived:
            cand = h.settle(self.flying.pop(arrived[0]), self.steps)
        else:
            cid, feedback = stream.next_result()
            cand = h.finish(self.flying.pop(cid), feedback, self.steps)
        dups = [w for w in self.waiting if w.extra.get("cached_from") == cand.id]
        self.waiting = [w for w in self.waiting if w.extra.get("cached_from") != cand.id]
        return [cand, *(h.answer(d, self.steps) for d in dups)]

    def _refill(self) -> None:
        """Propose one candidate at a time while a worker slot is free, the budget allows and
        nothing waits to be observed."""
        h, stream = self.harness, self.stream
        assert stream is not None
        while not self.ready and len(self.flying) < stream.capacity:
            unrecorded = sum(1 for cid in self.flying if cid not in h.records)
            if h.budget_left - unrecorded <= 0:
                self.stop = "budget spent"
                return
            if h.proposals >= self.max_proposals:
                self.stop = (f"stopped after {h.proposals} proposals without spending the budget "
                             "(the space may hold no new architectures)")
                return
            proposals = self.strategy.propose(1, self.steps, h.next_id)
            if not proposals:
                if not self.flying:
                    self.stop = f"{self.strategy.name} has nothing more to propose"
                return  # nothing to propose before the next outcome
            flying: Mapping[str, int] = {c.tree_hash: c.id for c in self.flying.values()}
            for cand in h.prepare(proposals, self.steps, flying=flying):
                if h.waits(cand):
                    self.waiting.append(cand)
                elif cand.evaluated:
                    self.flying[cand.id] = cand
                    stream.submit(h.job(cand))
                else:
                    self.ready.append(cand)

    def _redo_lost(self) -> None:
        """Record again what the last step recorded and a kill cut from the log (the strategy
        already observed it), evaluating it again under its own id."""
        lost = [c for c in self.last if c.id not in self.harness.records]
        if lost:
            warnings.warn(f"candidates {[c.id for c in lost]} were lost from the candidate log (cut last "
                          "line); evaluating them again under their ids", RuntimeWarning, stacklevel=4)
            self.harness.run(lost, self.steps)


def run_steady(store: Any, harness: Harness, strategy: Strategy, *, max_proposals: int) -> LoopResult:
    """Run (or continue) the steady-state loop until the budget is spent (see module docstring)."""
    return SteadyLoop(store, harness, strategy, max_proposals=max_proposals).run()
