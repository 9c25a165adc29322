"""A candidate's lifecycle as an enum (`Candidate.stage`), read from the record a real search wrote."""

from __future__ import annotations

import json

from search_helpers import param_fitness, small_space

from evo_lacer.api import search
from evo_lacer.engine import Candidate, Stage
from evo_lacer.engine._records import LEGACY_PENDING_ERROR
from evo_lacer.evaluate import Feedback, Status


def _cand(feedback: Feedback, **kw: object) -> Candidate:
    return Candidate(id=0, generation=0, tree=None, tree_hash="h", feedback=feedback, **kw)  # type: ignore[arg-type]


def test_each_record_has_exactly_one_stage() -> None:
    assert _cand(Feedback.pending(), evaluated=True).stage is Stage.PENDING
    assert _cand(Feedback.pending(), cached=True).stage is Stage.PENDING
    assert _cand(Feedback.failure(Status.FAILED, "pending"), evaluated=True).stage is Stage.FAILED
    assert _cand(Feedback(Status.OK, fitness=1.0), evaluated=True).stage is Stage.EVALUATED
    assert _cand(Feedback(Status.OK, fitness=1.0), cached=True).stage is Stage.CACHED
    assert _cand(Feedback.failure(Status.REJECTED, "too big")).stage is Stage.REJECTED
    assert _cand(Feedback.failure(Status.FAILED, "boom"), evaluated=True).stage is Stage.FAILED
    assert _cand(Feedback.failure(Status.TIMED_OUT, "slow"), evaluated=True).stage is Stage.TIMED_OUT


def test_a_finished_search_leaves_no_candidate_pending(tmp_path) -> None:
    result = search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=10,
                    llm="none", seed=1, run_dir=tmp_path / "run")
    stages = {c.stage for c in result.history}
    assert Stage.PENDING not in stages and Stage.EVALUATED in stages
    assert sum(c.stage in (Stage.EVALUATED, Stage.FAILED, Stage.TIMED_OUT) for c in result.history) == 10


def test_a_candidate_round_trips_its_tree_and_gate_as_typed_records() -> None:
    from evo_lacer.transform import GateResult
    from evo_lacer.tree import branch, encoder, fusion, module

    tree = encoder([branch("obs", module("MLPBlock", width=8))], fusion("ConcatMLP", width=8))
    gate = GateResult(True, params=120, latency_ms=0.5, child_hash="abc")
    cand = Candidate(id=3, generation=1, tree=tree, tree_hash="abc", gate=gate,
                     feedback=Feedback(Status.OK, fitness=0.5))
    back = Candidate.from_dict(json.loads(json.dumps(cand.to_dict())))
    assert back.tree == tree and back.gate == gate and back == cand
    stored = cand.to_dict()
    stored["gate"]["from_a_newer_version"] = 1  # unknown keys are dropped, not an error
    assert Candidate.from_dict(stored).gate == gate
    none = Candidate(id=4, generation=1, tree=None, tree_hash="", feedback=Feedback(Status.REJECTED))
    assert Candidate.from_dict(none.to_dict()) == none


def test_the_gate_gets_the_hash_the_harness_computed(tmp_path, monkeypatch) -> None:
    from evo_lacer.transform import Gate

    given: list[str | None] = []
    check = Gate.check

    def spy(self, parent, child, intended=None, child_hash=None):  # type: ignore[no-untyped-def]
        given.append(child_hash)
        return check(self, parent, child, intended, child_hash)

    monkeypatch.setattr(Gate, "check", spy)
    result = search(observation_space=small_space(), fitness=param_fitness, strategy="evolution", budget=6,
                    llm="none", seed=1, run_dir=tmp_path / "run")
    gated = [c for c in result.history if c.gate is not None and c.gate.check != "design" and not c.cached]
    assert given and None not in given and len(given) == len(gated)
    assert {c.gate.child_hash for c in gated if c.gate is not None} <= set(given)
    assert {c.tree_hash for c in gated} == set(given)


def test_a_pending_candidate_is_no_failure_and_an_older_pending_state_still_reads_as_pending() -> None:
    pending = _cand(Feedback.pending(), evaluated=True)
    assert pending.status is Status.PENDING and pending.fitness is None and not pending.feedback.ok
    assert Candidate.from_dict(pending.to_dict()) == pending
    older = pending.to_dict()  # how state/pending.json held it before Status.PENDING
    older["feedback"] = Feedback.failure(Status.FAILED, LEGACY_PENDING_ERROR).to_dict()
    assert Candidate.from_dict(older).stage is Stage.PENDING

