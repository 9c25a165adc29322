"""promotion_summary: the hit rate of fidelity="halving"'s promotion, from the run's history."""

from __future__ import annotations

import pytest

from evo_lacer.engine._promotion import PROMOTE, promote, promotion_summary
from evo_lacer.engine._records import Candidate
from evo_lacer.evaluate import Feedback, Status
from evo_lacer.execute import make_executor
from evo_lacer.tree import branch, encoder, fusion, module


def _promoted(cid: int, cheap: float, full: float | None) -> Candidate:
    fb = Feedback.failure(Status.FAILED, "boom")
    if full is not None:
        fb = Feedback(Status.OK, fitness=full, metrics={"cheap_fitness": cheap}, fidelity="full")
    return Candidate(id=cid, generation=1, tree=None, tree_hash=f"h{cid}", feedback=fb, parents=(cid - 100,),
                     transformation=PROMOTE, evaluated=True)


def test_agreeing_orders_hit_every_time() -> None:
    history = [_promoted(i, cheap=1.0 - 0.1 * i, full=10.0 - i) for i in range(4)]
    s = promotion_summary(history)
    assert s == {"promoted": 4, "promoted_ok": 4, "top": 2, "hits": 2, "hit_rate": 1.0, "best_hit": True,
                 "full_rank_of_cheap_best": 1, "spearman": pytest.approx(1.0)}


def test_reversed_orders_miss_and_failures_are_left_out() -> None:
    history = [_promoted(i, cheap=1.0 - 0.1 * i, full=float(i)) for i in range(4)]
    history.append(_promoted(9, cheap=2.0, full=None))  # best cheap, failed at full: not counted
    s = promotion_summary(history)
    assert s["promoted"] == 5 and s["promoted_ok"] == 4
    assert s["hits"] == 0 and s["hit_rate"] == 0.0 and s["best_hit"] is False
    assert s["full_rank_of_cheap_best"] == 4 and s["spearman"] == pytest.approx(-1.0)


def test_no_or_few_promotions() -> None:
    assert promotion_summary([])["hit_rate"] is None
    one = promotion_summary([_promoted(0, cheap=0.5, full=3.0)])
    assert one["hit_rate"] == 1.0 and one["best_hit"] is True and one["spearman"] is None


class _ByWidth:
    """A full fidelity that prefers narrow encoders: the opposite of the cheap scores below."""

    def evaluate(self, tree, seed):  # type: ignore[no-untyped-def]
        width = tree.children[0].children[0].param_dict["width"]
        return Feedback(Status.OK, fitness=-float(width), fidelity="full")


def test_summary_of_what_promote_recorded() -> None:
    history = []
    for i, width in enumerate((8, 16, 32, 64)):
        tree = encoder([branch("x", module("LinearLayer", width=width))],
                       fusion("ConcatMLP", width=8, depth=1))
        history.append(Candidate(id=i, generation=0, tree=tree, tree_hash=f"w{width}",
                                 feedback=Feedback(Status.OK, fitness=float(width), fidelity="imitation"),
                                 evaluated=True))
    recorded: list[Candidate] = []
    executor = make_executor(0, "inprocess")
    try:
        promote(history, _ByWidth(), executor, keep=1.0, seed=0, record=recorded.append)  # type: ignore[arg-type]
    finally:
        executor.close()
    s = promotion_summary([*history, *recorded])
    assert s["promoted_ok"] == 4 and s["hit_rate"] == 0.0 and s["full_rank_of_cheap_best"] == 4
