"""The harness every strategy runs in: ids, gate, cache, budget, evaluation, recording.

A strategy proposes trees; the harness gives each an id, screens it with the gate, answers
architectures already evaluated from the run's cache (by canonical hash), evaluates the rest
through the executor (one batch per generation with `run`; one candidate at a time with `settle`
and `finish` in the steady-state loop), and appends every candidate to the run store as soon as
its outcome is known.

A candidate whose ``extra`` holds a ``budget_fraction`` (progressive evaluation) is evaluated with
the evaluator scaled to that fraction of its training budget where the evaluator can be scaled
(`evo_lacer.evaluate._budget`); its record then also holds ``budget_steps`` (the training steps
asked, None when the evaluator has no training budget) and ``env_steps`` (spent, scoring included).
A candidate whose ``extra`` holds ``inherit`` (encoder part -> parent id) starts its encoder from
its parents' trained weights where the evaluator can, and saves its own for its children, in the
run folder's ``weights/`` (`evo_lacer.engine._weights`). The steady-state loop evaluates every
candidate at the full budget, from scratch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evo_lacer.engine._records import Candidate, Stage
from evo_lacer.engine._weights import with_weights
from evo_lacer.errors import RunStoreError
from evo_lacer.evaluate import Evaluator, Feedback, Status
from evo_lacer.evaluate._budget import BUDGET_FRACTION, at_budget
from evo_lacer.transform import GateResult
from evo_lacer.tree import Node, tree_hash


@dataclass
class Proposal:
    """A tree a strategy wants evaluated, with how it was made (``tree`` None: the design failed)."""

    tree: Node | None
    parents: tuple[int, ...] = ()
    parent_tree: Node | None = None
    transformation: str = ""
    site: str = ""
    site_class: str = ""
    choice: Mapping[str, Any] = field(default_factory=dict)
    prompt_category: str = ""
    designer: str = ""
    fell_back: bool = False
    plan: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""
    """Why no tree came out (a transformation or designer error); the candidate is REJECTED."""
    propose_s: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    intended: tuple[str, Any, Mapping[str, Any]] | None = None
    """(transformation, Site, choice) the gate checks really happened (None: no intent check)."""


@dataclass(frozen=True)
class Progress:
    """What a progress display shows after each evaluation."""

    evaluated: int
    budget: int
    best_fitness: float | None
    generation: int
    candidate: Candidate


GateFn = Callable[[Node | None, Node, Any, str], GateResult]
"""(parent, child, intended, the child's hash) -> the gate's frozen result (`Gate.check`)."""


def _by_budget(cands: Sequence[Candidate]) -> dict[float | None, list[Candidate]]:
    """Candidates grouped by their training-budget fraction (None: the evaluator's full budget), in
    order of first appearance; one group per fraction shares one scaled evaluator."""
    out: dict[float | None, list[Candidate]] = {}
    for cand in cands:
        fraction = cand.extra.get(BUDGET_FRACTION)
        out.setdefault(None if fraction is None else float(fraction), []).append(cand)
    return out


def _better(a: Candidate, b: Candidate) -> bool:
    """Higher fitness wins; ties go to the earlier candidate (order-independent)."""
    fa, fb = a.fitness or 0.0, b.fitness or 0.0
    return fa > fb or (fa == fb and a.id < b.id)


class Harness:
    """Ids, gate, cache, budget and evaluation for one run (see module docstring)."""

    def __init__(
        self, *, store: Any, evaluator: Evaluator, executor: Any, strategy: str, budget: int, seed: int,
        gate: GateFn | None = None, hash_fn: Callable[[Node], str] = tree_hash,
        timeout_s: float | None = None, progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.store = store
        self.evaluator = evaluator
        self.executor = executor
        self.strategy = strategy
        self.budget = budget
        self.seed = seed
        self.gate = gate
        self.hash_fn = hash_fn
        self.timeout_s = timeout_s
        self.progress = progress
        self.run_dir = None if getattr(store, "path", None) is None else Path(store.path).absolute()
        """The run folder (absolute: worker processes may not share the working directory)."""
        self.next_id = 0
        self.proposals = 0
        self.records: dict[int, Candidate] = {}
        self.cache: dict[str, Candidate] = {}
        self.best: Candidate | None = None
        self.eval_seconds = 0.0
        for line, data in enumerate(store.candidates(), start=1):
            try:
                cand = Candidate.from_dict(data)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise RunStoreError(f"{getattr(store, 'path', 'the run store')}: candidate record {line} "
                                    f"is damaged ({type(exc).__name__}: {exc}); restore candidates.jsonl, or "
                                    "start a new search") from None
            self._remember(cand)

    # --- bookkeeping ---------------------------------------------------------------------
    @property
    def evaluated(self) -> int:
        return sum(1 for c in self.records.values() if c.evaluated)

    @property
    def budget_left(self) -> int:
        return self.budget - self.evaluated

    def _remember(self, cand: Candidate) -> None:
        self.records[cand.id] = cand
        self.next_id = max(self.next_id, cand.id + 1)
        if cand.evaluated:
            self.eval_seconds += cand.feedback.cost.seconds
            self.cache.setdefault(cand.tree_hash, cand)
            if cand.feedback.ok and (self.best is None or _better(cand, self.best)):
                self.best = cand

    def _record(self, cand: Candidate, generation: int) -> None:
        data = cand.to_dict()
        data["strategy"] = self.strategy
        self.store.append_candidate(data)
        self._remember(cand)
        if cand.evaluated and self.progress is not None:
            self.progress(Progress(self.evaluated, self.budget,
                                   None if self.best is None else self.best.fitness, generation, cand))

    def state_dict(self) -> dict[str, Any]:
        return {"next_id": self.next_id, "proposals": self.proposals}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.next_id = max(self.next_id, int(state["next_id"]))
        self.proposals = int(state["proposals"])

    # --- one generation ------------------------------------------------------------------
    def prepare(self, proposals: Sequence[Proposal], generation: int,
                flying: Mapping[str, int] | None = None) -> list[Candidate]:
        """Ids, gate and cache for a generation's proposals; those still to evaluate carry a pending
        feedback (`Feedback.pending`, stage `Stage.PENDING`) and ``evaluated=True``. `flying`: hash -> id of
        candidates being evaluated now; a proposal of the same tree waits for that result (a
        duplicate, like one within the batch)."""
        out: list[Candidate] = []
        batch: dict[str, int] = dict(flying or {})
        for prop in proposals:
            cid = self.next_id
            self.next_id += 1
            self.proposals += 1
            base = Candidate(
                id=cid, generation=generation, tree=None, tree_hash="", parents=tuple(prop.parents),
                feedback=Feedback.failure(Status.REJECTED, prop.error or "no tree"),
                transformation=prop.transformation, site=prop.site, site_class=prop.site_class,
                choice=dict(prop.choice), prompt_category=prop.prompt_category, designer=prop.designer,
                fell_back=prop.fell_back, plan=dict(prop.plan), timings={"propose_s": prop.propose_s},
                extra=dict(prop.extra),
            )
            if prop.tree is None:
                out.append(replace(base, gate=GateResult(False, "design", prop.error)))
                continue
            h = self.hash_fn(prop.tree)
            base = replace(base, tree=prop.tree, tree_hash=h)
            if h in self.cache:
                hit = self.cache[h]
                out.append(replace(base, feedback=hit.feedback, gate=hit.gate, cached=True,
                                   extra={**base.extra, "cached_from": hit.id}))
                continue
            if h in batch:
                out.append(replace(base, cached=True, extra={**base.extra, "cached_from": batch[h]},
                                   feedback=Feedback.pending()))
                continue
            start = time.perf_counter()
            gate = GateResult(True, child_hash=h)
            if self.gate is not None:
                try:
                    gate = self.gate(prop.parent_tree, prop.tree, prop.intended, h)
                except Exception as exc:  # a gate bug rejects the candidate, never stops the search
                    gate = GateResult(False, "gate-error", f"{type(exc).__name__}: {exc}", child_hash=h)
            timings = {**base.timings, "gate_s": time.perf_counter() - start}
            if not gate.ok:
                reason = f"gate check {gate.check or '?'!r} failed: {gate.reason}"
                out.append(replace(base, gate=gate, timings=timings,
                                   feedback=Feedback.failure(Status.REJECTED, reason)))
                continue
            batch[h] = cid
            out.append(replace(base, gate=gate, timings=timings, evaluated=True,
                               feedback=Feedback.pending()))
        return out

    def run(self, prepared: Sequence[Candidate], generation: int) -> list[Candidate]:
        """Record and evaluate a prepared generation; candidates already in the store (a resumed
        run) are reused, never evaluated again. Returns the generation's candidates by id."""
        done: dict[int, Candidate] = {c.id: self._recorded(c) for c in prepared if c.id in self.records}
        todo: list[Candidate] = []
        for cand in prepared:
            if cand.id in done:
                continue
            if cand.evaluated:
                hit = self.cache.get(cand.tree_hash)
                if hit is None:
                    todo.append(cand)
                    continue
                cand = replace(cand, evaluated=False, cached=True, feedback=hit.feedback,
                               extra={**cand.extra, "cached_from": hit.id})
            if cand.cached and cand.stage is Stage.PENDING:
                continue  # a duplicate within the batch: answered after the evaluations
            self._record(cand, generation)
            done[cand.id] = cand
        by_id = {c.id: c for c in todo}
        for fraction, group in _by_budget(todo).items():
            evaluator, steps = at_budget(self.evaluator, fraction)
            evaluator, weights = with_weights(evaluator, group, self.records, self.run_dir)
            jobs = [(c.id, self._tree(c), self.seed) for c in group]
            for job_id, feedback in self.executor.submit_many(evaluator, jobs, self.timeout_s):
                cand = by_id[job_id]
                spent = {} if fraction is None else {"budget_steps": steps,
                                                     "env_steps": feedback.cost.env_steps}
                spent.update(weights.get(job_id, {}))
                cand = replace(cand, feedback=feedback, extra={**cand.extra, **spent},
                               timings={**cand.timings, "eval_s": feedback.cost.seconds})
                self._record(cand, generation)
                done[cand.id] = cand
        for cand in prepared:
            if cand.id not in done:
                hit = self.cache[cand.tree_hash]
                cand = replace(cand, feedback=hit.feedback, gate=hit.gate,
                               extra={**cand.extra, "cached_from": hit.id})
                self._record(cand, generation)
                done[cand.id] = cand
        return [done[c.id] for c in sorted(prepared, key=lambda c: c.id)]

    # --- one candidate at a time (the steady-state loop) -------------------------------------
    def settle(self, cand: Candidate, generation: int) -> Candidate:
        """Record a candidate whose outcome is known (rejected, cached, evaluated); one already in
        the store (a resumed run) is reused, never recorded twice."""
        if cand.id in self.records:
            return self._recorded(cand)
        self._record(cand, generation)
        return cand

    def finish(self, cand: Candidate, feedback: Feedback, generation: int) -> Candidate:
        """Record the evaluation of `cand`, a candidate prepared for evaluation."""
        return self.settle(replace(cand, feedback=feedback,
                                   timings={**cand.timings, "eval_s": feedback.cost.seconds}), generation)

    def answer(self, cand: Candidate, generation: int) -> Candidate:
        """Record a duplicate from the result of the candidate it waited for (now in the cache)."""
        hit = self.cache[cand.tree_hash]
        return self.settle(replace(cand, feedback=hit.feedback, gate=hit.gate,
                                   extra={**cand.extra, "cached_from": hit.id}), generation)

    def job(self, cand: Candidate) -> tuple[int, Node, int]:
        """The executor job of a candidate to evaluate."""
        return (cand.id, self._tree(cand), self.seed)

    @staticmethod
    def waits(cand: Candidate) -> bool:
        """A duplicate of a candidate still being evaluated (answered from its result)."""
        return cand.cached and cand.stage is Stage.PENDING

    def _recorded(self, cand: Candidate) -> Candidate:
        """The stored record of a re-proposed candidate; it must be the same architecture."""
        old = self.records[cand.id]
        if cand.tree_hash and old.tree_hash and cand.tree_hash != old.tree_hash:
            raise RunStoreError(
                f"{getattr(self.store, 'path', 'the run store')}: candidate {cand.id} is recorded with tree "
                f"{old.tree_hash[:12]} but the resumed search proposes {cand.tree_hash[:12]} under that "
                "id; the candidate log belongs to another run (or space, or catalog) -- restore the run's "
                "own files, or start a new search")
        return old

    @staticmethod
    def _tree(cand: Candidate) -> Node:
        assert cand.tree is not None, f"candidate {cand.id} has no tree to evaluate"
        return cand.tree
