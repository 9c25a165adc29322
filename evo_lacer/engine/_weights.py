"""The harness's side of weight inheritance (`evo_lacer.evaluate._inherit`): a batch's requests
(``extra["inherit"]``: encoder part -> parent id) become one `WeightPlan` over the run folder's
``weights/`` files, named by the tree hash of the candidate that was evaluated (a parent answered
from the cache points at the candidate it was answered from).

A candidate that asks is recorded with ``extra["weights"]``: the file its trained weights go to
(``weights/<tree_hash>.pt``, relative to the run folder), or ``"unavailable: <why>"`` (the
evaluator keeps no weights, or the run has no folder) -- then it trains from scratch, like a
budget fraction the evaluator cannot scale. Evaluations share the files through the filesystem:
in-process and process-pool workers do; a Dask cluster on other machines may not, and its
evaluations then find no parent file and train from scratch (their metrics say so:
``inherit_unreadable_files``, ``inherited_tensors`` 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evo_lacer.engine._records import Candidate
from evo_lacer.evaluate import Evaluator
from evo_lacer.evaluate._inherit import INHERIT, WEIGHTS_DIR, WeightInheriting, WeightPlan, part_prefix
from evo_lacer.tree import tree_hash


def _file_hash(records: Mapping[int, Candidate], cid: int) -> str | None:
    """The tree hash naming the weight file of candidate `cid` (None: an unknown id)."""
    cand = records.get(cid)
    if cand is None:
        return None
    source = records.get(int(cand.extra.get("cached_from", cid)), cand)
    return tree_hash(source.tree) if source.tree is not None else None


def with_weights(evaluator: Evaluator, group: Sequence[Candidate], records: Mapping[int, Candidate],
                 run_dir: Path | None) -> tuple[Evaluator, dict[int, dict[str, Any]]]:
    """The evaluator for `group` (its weight plan when some candidates ask and it can keep
    weights), and what to add to each asking candidate's ``extra``. Parts whose parent id is
    unknown are left fresh."""
    asking = [c for c in group if INHERIT in c.extra]
    if not asking:
        return evaluator, {}
    why = ("the run has no folder" if run_dir is None else
           "" if isinstance(evaluator, WeightInheriting) else "the evaluator keeps no weights")
    if why:
        return evaluator, {c.id: {"weights": f"unavailable: {why}"} for c in asking}
    assert isinstance(evaluator, WeightInheriting) and run_dir is not None
    trees: dict[str, tuple[tuple[str, str], ...]] = {}
    notes: dict[int, dict[str, Any]] = {}
    for cand in asking:
        assert cand.tree is not None  # asked for evaluation: it has a tree
        h = tree_hash(cand.tree)
        parents = {part: _file_hash(records, int(pid)) for part, pid in dict(cand.extra[INHERIT]).items()}
        trees[h] = tuple((part_prefix(part), ph) for part, ph in sorted(parents.items()) if ph is not None)
        notes[cand.id] = {"weights": f"{WEIGHTS_DIR}/{h}.pt"}
    plan = WeightPlan(str(run_dir / WEIGHTS_DIR), trees)
    return evaluator.with_inheritance(plan), notes
