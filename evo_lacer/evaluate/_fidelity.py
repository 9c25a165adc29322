"""Multi-fidelity evaluation: score many candidates cheaply, promote the best to full PPO.

Design (why it works across worker processes): the evaluators stay stateless — a cheap one
keeps only a per-process dataset cache — and every *promotion decision* is taken in the
parent process, from Feedback records that came back. So any executor with ``submit`` (a
``concurrent.futures`` process pool, a dask client, or none) can run the evaluations, and no
state has to be shared between workers.

- ``successive_halving``: for a batch (a generation): everything cheap, the top ``keep``
  fraction full. One Feedback per candidate, from the highest fidelity it reached.
- ``Promoter``: for a steady-state loop that receives results one at a time: promote a cheap
  result when its fitness ranks in the top ``keep`` of the cheap results seen so far.

Fitnesses of different fidelities are on different scales (imitation skill vs. reward):
compare a candidate only with others of the same ``Feedback.fidelity``; best-so-far curves
use the full fidelity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate._base import Evaluator
from evo_lacer.evaluate._feedback import Feedback
from evo_lacer.tree import Node


class Submitter(Protocol):
    """What an executor needs: ``submit(fn, *args) -> future`` whose ``result()`` waits."""

    def submit(self, fn: Any, /, *args: Any) -> Any: ...


def _run_all(evaluator: Evaluator, trees: Sequence[Node], seeds: Sequence[int],
             executor: Submitter | None) -> list[Feedback]:
    if executor is None:
        return [evaluator.evaluate(t, s) for t, s in zip(trees, seeds, strict=True)]
    futures = [executor.submit(evaluator.evaluate, t, s) for t, s in zip(trees, seeds, strict=True)]
    return [f.result() for f in futures]


def n_promoted(n_ok: int, keep: float, min_keep: int = 1) -> int:
    """How many of ``n_ok`` successful cheap results go on to the full fidelity."""
    return min(n_ok, max(min_keep, math.ceil(keep * n_ok)))


def successive_halving(
    candidates: Sequence[Node],
    cheap: Evaluator,
    full: Evaluator,
    executor: Submitter | None = None,
    *,
    keep: float = 0.25,
    min_keep: int = 1,
    seeds: Sequence[int] | int = 0,
) -> list[Feedback]:
    """Evaluate every candidate with ``cheap``, the best ``keep`` fraction (at least
    ``min_keep`` of those that succeeded) with ``full``; return one Feedback per candidate in
    order. A promoted candidate's Feedback is the full one, with the cheap fitness kept in
    ``metrics["cheap_fitness"]``; the others keep their cheap Feedback."""
    if not 0.0 < keep <= 1.0:
        raise EvaluationError(f"successive_halving(keep={keep!r}): use a fraction in (0, 1]")
    trees = list(candidates)
    seed_list = [seeds + i for i in range(len(trees))] if isinstance(seeds, int) else list(seeds)
    if len(seed_list) != len(trees):
        raise EvaluationError(f"successive_halving: {len(seed_list)} seeds for {len(trees)} candidates")
    results = _run_all(cheap, trees, seed_list, executor)
    ranked = sorted((i for i, fb in enumerate(results) if fb.ok),
                    key=lambda i: (-(results[i].fitness or 0.0), i))
    chosen = ranked[: n_promoted(len(ranked), keep, min_keep)]
    promoted = _run_all(full, [trees[i] for i in chosen], [seed_list[i] for i in chosen], executor)
    for i, fb in zip(chosen, promoted, strict=True):
        results[i] = promote_record(results[i], fb)
    return results


def promote_record(cheap: Feedback, full: Feedback) -> Feedback:
    """The full Feedback, remembering the cheap fitness and adding the cheap cost."""
    metrics = dict(full.metrics)
    if cheap.fitness is not None:
        metrics["cheap_fitness"] = cheap.fitness
    return replace(full, metrics=metrics, cost=cheap.cost + full.cost)


class Promoter:
    """Parent-side promotion rule for results that arrive one at a time.

    ``tell(feedback) -> bool``: record a cheap result and say whether to evaluate its tree at
    the full fidelity: yes when it ranks in the top ``keep`` fraction of the OK cheap results
    seen so far (the first ``warmup`` results are always promoted, so the full fidelity has a
    baseline). Keep it in the process that collects results; it is a few floats.
    """

    def __init__(self, keep: float = 0.25, warmup: int = 1) -> None:
        if not 0.0 < keep <= 1.0:
            raise EvaluationError(f"Promoter(keep={keep!r}): use a fraction in (0, 1]")
        self.keep = keep
        self.warmup = warmup
        self.seen: list[float] = []

    def tell(self, feedback: Feedback) -> bool:
        if not feedback.ok or feedback.fitness is None:
            return False
        fitness = feedback.fitness
        self.seen.append(fitness)
        if len(self.seen) <= self.warmup:
            return True
        better = sum(1 for f in self.seen if f > fitness)
        return better < n_promoted(len(self.seen), self.keep)
