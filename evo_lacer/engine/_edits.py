"""Tree edits as records: sites and edits to and from JSON, and how a planned child fared
(the `Outcome` a planner is told)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from evo_lacer.engine._arms import ArmBandit
from evo_lacer.engine._population import MISSING_OBJECTIVE, Individual
from evo_lacer.engine._records import Candidate, Outcome
from evo_lacer.engine._trust import AnswerTrust
from evo_lacer.evaluate import Status, probe_quality
from evo_lacer.transform import Site
from evo_lacer.tree import distance

Edit = tuple[str, Site, Mapping[str, Any]]


_SITE_FIELDS = tuple(f.name for f in fields(Site))


def site_to_dict(site: Site) -> dict[str, Any]:
    """`dataclasses.asdict` of a site (its fields hold plain values) without its deep copy: a
    checkpoint writes every edit of the lineage."""
    out = {name: getattr(site, name) for name in _SITE_FIELDS}
    out["path"] = list(site.path)
    return out


def site_from_dict(data: Mapping[str, Any]) -> Site:
    return Site(**{**data, "path": tuple(data["path"])})


def edit_to_dict(edit: Edit) -> dict[str, Any]:
    name, site, choice = edit
    return {"transformation": name, "site": site_to_dict(site),
            "choice": {k: list(v) if isinstance(v, tuple) else v for k, v in choice.items()}}


def edit_from_dict(data: Mapping[str, Any]) -> Edit:
    choice = {k: tuple(v) if isinstance(v, list) else v for k, v in data["choice"].items()}
    return (str(data["transformation"]), site_from_dict(data["site"]), choice)


def outcome_of(cand: Candidate, population: Sequence[Individual]) -> Outcome:
    """How a planned candidate fared: improvement over its parent (scaled by the population's
    fitness spread, clipped to [-1, 1]), novelty (tree distance to the nearest member) and the
    gain in probe quality over its parent (when both have feature probes)."""
    status = {Status.REJECTED: "rejected", Status.FAILED: "failed", Status.TIMED_OUT: "timed_out"}.get(
        cand.status, "duplicate" if cand.cached else "ok")
    novelty = 0.0
    if cand.tree is not None and population:
        novelty = min(distance(cand.tree, ind.tree) for ind in population)
    improvement = None
    parent = cand.extra.get("parent_fitness")
    if cand.fitness is not None and status in ("ok", "duplicate"):
        improvement = 0.0
        if isinstance(parent, int | float):
            scores = [ind.score for ind in population if ind.score > MISSING_OBJECTIVE]
            spread = (max(scores) - min(scores)) if scores else 0.0
            spread = max(spread, 1e-3 * max(1.0, abs(parent)))
            improvement = float(np.clip((cand.fitness - parent) / spread, -1.0, 1.0))
    gain = None
    parent_quality, quality = cand.extra.get("parent_quality"), probe_quality(cand.feedback.features)
    if status in ("ok", "duplicate") and isinstance(parent_quality, int | float) and quality is not None:
        gain = float(np.clip(quality - parent_quality, -1.0, 1.0))
    return Outcome(status, improvement, novelty, gain)


def median_score(population: Sequence[Individual]) -> float | None:
    """The median fitness of the population's scored members (None when none is scored): the one
    yardstick every arm's children are measured against."""
    scores = [ind.score for ind in population if ind.score > MISSING_OBJECTIVE]
    return float(np.median(scores)) if scores else None


def beats(cand: Candidate, reference: float | None) -> bool:
    """Whether an evaluated (or cached) OK candidate beats `reference` (anything OK beats None)."""
    if cand.fitness is None or cand.status in (Status.REJECTED, Status.FAILED, Status.TIMED_OUT):
        return False
    return reference is None or cand.fitness > reference


def credit_arms(cands: Sequence[Candidate], population: Sequence[Individual], arms: ArmBandit,
                trust: AnswerTrust) -> None:
    """Tell each child's arm whether it beat the population's median (and `trust`, whether the
    screen's pick or the model's chosen answer did)."""
    median = median_score(population)
    for c in cands:
        arm = c.extra.get("arm")
        if isinstance(arm, str) and arm in arms.arms:
            won, better = c.extra.get("llm_won"), beats(c, median)
            arms.scored(arm, better, c.feedback.cost.seconds if c.evaluated else None,
                        won_screen=won if isinstance(won, bool) else None)
            if won is True:
                trust.answer_scored(arm, better)
            elif "screen" in c.extra:
                trust.pick_scored(better)
