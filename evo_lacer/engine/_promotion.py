"""Promotion from the cheap fidelity to the full one (successive halving, one rung).

The search runs on the cheap evaluator (seconds per candidate); afterwards the best `keep`
fraction of the distinct architectures it evaluated is re-evaluated with the full evaluator
(PPO). Promotions are recorded in the run store as candidates of their own (transformation
``"promote"``, the cheap candidate as parent), so a resumed run skips those already done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from evo_lacer.engine._records import Candidate
from evo_lacer.evaluate import Evaluator
from evo_lacer.evaluate._fidelity import n_promoted, promote_record
from evo_lacer.execute import Executor
from evo_lacer.tree import node_from_dict

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
    jobs = [(next_id + i, node_from_dict(dict(c.tree)), seed) for i, c in enumerate(todo)]
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
