"""Promotion from the cheap fidelity to the full one (successive halving, one rung).

The search runs on the cheap evaluator (seconds per candidate); afterwards the best `keep`
fraction of the distinct architectures it evaluated is re-evaluated with the full evaluator
(PPO). Promotions are recorded in the run store as candidates of their own (transformation
``"promote"``, the cheap candidate as parent), so a resumed run skips those already done.
``promotion_summary`` says afterwards how well the cheap ranking chose (the hit rate).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from evo_lacer.engine._records import Candidate
from evo_lacer.evaluate import Evaluator
from evo_lacer.evaluate._fidelity import n_promoted, promote_record
from evo_lacer.execute import Executor

PROMOTE = "promote"


def promote(
    history: Sequence[Candidate],
    full: Evaluator,
    executor: Executor,
    *,
    keep: float,
    seed: int,
    record: Callable[[Candidate], None],
    timeout_s: float | None = None,
) -> list[Candidate]:
    """Evaluate the best `keep` fraction of `history`'s cheap results with `full`; return every
    promoted candidate (those recorded earlier included), best first."""
    done = {c.tree_hash: c for c in history if c.transformation == PROMOTE}
    cheap: dict[str, Candidate] = {}
    for c in history:
        if c.transformation != PROMOTE and c.evaluated and c.feedback.ok:
            best = cheap.get(c.tree_hash)
            if best is None or (c.fitness or 0.0) > (best.fitness or 0.0):
                cheap[c.tree_hash] = c
    ranked = sorted(cheap.values(), key=lambda c: (-(c.fitness or 0.0), c.id))
    chosen = ranked[: n_promoted(len(ranked), keep, 1)]
    todo = [c for c in chosen if c.tree_hash not in done]
    next_id = max((c.id for c in history), default=-1) + 1
    jobs = [(next_id + i, c.tree, seed) for i, c in enumerate(todo) if c.tree is not None]
    by_job = {job_id: c for (job_id, _, _), c in zip(jobs, todo, strict=True)}
    generation = max((c.generation for c in history), default=0) + 1
    for job_id, feedback in executor.submit_many(full, jobs, timeout_s):
        parent = by_job[job_id]
        cand = replace(
            parent, id=job_id, generation=generation, parents=(parent.id,), transformation=PROMOTE,
            site="", site_class="", choice={}, prompt_category="", designer="", fell_back=False, plan={},
            feedback=promote_record(parent.feedback, feedback), evaluated=True, cached=False,
            timings={"evaluate_s": feedback.cost.seconds}, extra={"promoted_from": parent.id},
        )
        record(cand)
        done[cand.tree_hash] = cand
    promoted = [done[c.tree_hash] for c in chosen if c.tree_hash in done]
    return sorted(promoted, key=lambda c: (not c.feedback.ok, -(c.fitness or 0.0), c.id))


def promotion_summary(history: Sequence[Candidate]) -> dict[str, Any]:
    """How well the cheap fidelity chose, judged by the full fidelity on what it promoted.

    Only promoted candidates have a full score, so this is measured among them (k with an OK
    full score): ``hits`` of the ``top`` = ceil(k/2) best by the cheap fitness are also among the
    ``top`` best at the full fidelity (``hit_rate`` = hits / top; about 0.5 when the cheap order
    says nothing about the full one, 1 when it agrees); ``best_hit``: the cheap fidelity's best is
    the full fidelity's best; ``full_rank_of_cheap_best`` (1 = best); ``spearman`` between the two
    fitnesses over the promoted (None under 3). Ties break by candidate id, as in ``promote``.
    """
    done = [c for c in history if c.transformation == PROMOTE]
    ok = [c for c in done if c.feedback.ok and c.fitness is not None
          and c.feedback.metrics.get("cheap_fitness") is not None]
    out: dict[str, Any] = {"promoted": len(done), "promoted_ok": len(ok), "top": 0, "hits": 0,
                           "hit_rate": None, "best_hit": None, "full_rank_of_cheap_best": None,
                           "spearman": None}
    if not ok:
        return out
    by_cheap = sorted(ok, key=lambda c: (-float(c.feedback.metrics["cheap_fitness"]), c.id))
    by_full = sorted(ok, key=lambda c: (-float(c.fitness or 0.0), c.id))
    top = math.ceil(len(ok) / 2)
    hits = len({c.id for c in by_cheap[:top]} & {c.id for c in by_full[:top]})
    rank = next(i for i, c in enumerate(by_full, 1) if c.id == by_cheap[0].id)
    out.update(top=top, hits=hits, hit_rate=hits / top, best_hit=rank == 1, full_rank_of_cheap_best=rank)
    if len(ok) >= 3:
        cheap_rank = {c.id: i for i, c in enumerate(by_cheap)}
        full_rank = {c.id: i for i, c in enumerate(by_full)}
        n = len(ok)
        d2 = sum((cheap_rank[c.id] - full_rank[c.id]) ** 2 for c in ok)
        out["spearman"] = 1.0 - 6.0 * d2 / (n * (n * n - 1))
    return out
