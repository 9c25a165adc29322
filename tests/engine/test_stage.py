"""A candidate's lifecycle as an enum (`Candidate.stage`), read from the record a real search wrote."""

from __future__ import annotations

from search_helpers import param_fitness, small_space

from evo_lacer.api import search
from evo_lacer.engine import Candidate, Stage
from evo_lacer.engine._records import PENDING_ERROR
from evo_lacer.evaluate import Feedback, Status


def _cand(feedback: Feedback, **kw: object) -> Candidate:
    return Candidate(id=0, generation=0, tree={}, tree_hash="h", feedback=feedback, **kw)  # type: ignore[arg-type]


def test_each_record_has_exactly_one_stage() -> None:
    assert _cand(Feedback.failure(Status.FAILED, PENDING_ERROR), evaluated=True).stage is Stage.PENDING
    assert _cand(Feedback.failure(Status.FAILED, PENDING_ERROR), cached=True).stage is Stage.PENDING
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
