"""The result in the user's hands: the best encoder of a run as a tree file, and SB3
``policy_kwargs`` that train one's own agent with it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evo_lacer.errors import EvoLacerError, RunStoreError
from evo_lacer.runs._files import atomic_write
from evo_lacer.runs._store import is_run_dir
from evo_lacer.tree import Node, from_json, node_from_dict, to_json, tree_hash


@dataclass(frozen=True)
class Exported:
    """The tree a run found, and where it came from."""

    tree: Node
    candidate: Any
    """The candidate id (None when only ``artifacts/best_tree.json`` names it)."""
    fitness: float | None
    source: str
    """``artifacts/best_tree.json`` (the finished search's choice) or ``candidates.jsonl``."""


def best_of_run(run_dir: str | os.PathLike[str], candidate: Any = None) -> Exported:
    """The run's best tree: the finished search's ``artifacts/best_tree.json``; while the run is
    going (or when it found none), the best evaluation in ``candidates.jsonl`` at the run's
    highest fidelity. `candidate` picks another candidate by id."""
    from evo_lacer.runs._run_record import _fidelity_rank, _load

    path = Path(run_dir)
    run = _load(path, path.name)
    if candidate is not None:
        hits = [(r, f) for r, f in zip(run.records, run.feedbacks) if str(r.get("id")) == str(candidate)]
        if not hits:
            ids = [r.get("id") for r in run.records]
            raise RunStoreError(f"{path / 'candidates.jsonl'}: no candidate {candidate!r}; ids run from "
                                f"{ids[0] if ids else '-'} to {ids[-1] if ids else '-'}")
        record, fb = hits[-1]
        return Exported(_tree(record, path), record.get("id"), fb.fitness if fb else None, "candidates.jsonl")
    artifact = path / "artifacts" / "best_tree.json"
    if artifact.is_file():
        tree = from_json(artifact.read_text(encoding="utf-8"), source=str(artifact))
        wanted = tree_hash(tree)  # recorded hashes may be canonical under the catalog: recompute
        same = [(r, f) for r, f in run.evaluated() if f.ok and _hash(r) == wanted]
        record, fb = max(same, key=lambda rf: _fidelity_rank(rf[1].fidelity)) if same else ({}, None)
        return Exported(tree, record.get("id"), fb.fitness if fb else None, "artifacts/best_tree.json")
    best = run.best()
    if best is None:
        raise RunStoreError(f"{path}: no candidate was evaluated successfully yet, so there is no best "
                            "encoder to export; wait for the run (or resume it: `evo-lacer resume DIR`)")
    record, fb = best
    return Exported(_tree(record, path), record.get("id"), fb.fitness, "candidates.jsonl")


def _hash(record: Mapping[str, Any]) -> str | None:
    try:
        return tree_hash(node_from_dict(dict(record.get("tree") or {})))
    except EvoLacerError:
        return None


def _tree(record: Mapping[str, Any], path: Path) -> Node:
    data = record.get("tree")
    if isinstance(data, Mapping) and "format" in data:
        data = data.get("tree")
    if not isinstance(data, Mapping):
        raise RunStoreError(f"{path / 'candidates.jsonl'}: candidate {record.get('id')!r} holds no tree")
    return node_from_dict(dict(data))


def export_best(run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None,
                candidate: Any = None) -> tuple[Path, Exported]:
    """Write the run's best tree (or `candidate`'s) as a tree file; `out` defaults to
    ``RUN_DIR/best.json``, and an existing folder gets ``best.json`` inside it (as ``cp`` does).
    Returns the path written. Read it back with ``evo_lacer.load_tree`` or `sb3_policy_kwargs`."""
    found = best_of_run(run_dir, candidate)
    target = Path(out) if out is not None else Path(run_dir) / "best.json"
    if target.is_dir():
        target = target / "best.json"
    atomic_write(target, to_json(found.tree) + "\n")
    return target, found


def _run_kinds(run_dir: Path) -> dict[str, str] | None:
    """The ``kinds`` the run's evaluator forced (``--kinds``), so SB3 reads the sources alike."""
    from evo_lacer.runs._store import RunStore

    config = RunStore.open(run_dir).config
    recipe = (config.get("components") or {}).get("evaluator") or {}
    kinds = (recipe.get("options") or {}).get("kinds") if isinstance(recipe, Mapping) else None
    return dict(kinds) if isinstance(kinds, Mapping) and kinds else None


def sb3_policy_kwargs(tree_or_run_dir: Any, *, catalog: Any = None, kinds: Mapping[str, str] | None = None,
                      normalize_images: bool = True) -> dict[str, Any]:
    """``policy_kwargs`` for a Stable-Baselines3 policy whose features extractor is an encoder tree.

    `tree_or_run_dir` is a run folder (its best tree, and the source kinds the run forced), a tree
    file (``evo-lacer export``), a tree dict or a ``Node``. Pass `catalog` when the run searched
    modules of your own (``search(catalog=...)``)::

        model = PPO("MultiInputPolicy", env, policy_kwargs=evo_lacer.sb3_policy_kwargs("runs/x"))
    """
    from evo_lacer.compile import policy_kwargs_for

    tree = tree_or_run_dir
    if isinstance(tree_or_run_dir, str | os.PathLike) and is_run_dir(Path(tree_or_run_dir)):
        tree = best_of_run(tree_or_run_dir).tree
        if kinds is None:
            kinds = _run_kinds(Path(tree_or_run_dir))
    elif isinstance(tree_or_run_dir, str | os.PathLike) and Path(tree_or_run_dir).is_dir():
        raise RunStoreError(f"{tree_or_run_dir} is a folder but not an evo-lacer run (it has no run.json); "
                            "pass a run folder, a tree file written by `evo-lacer export`, or a tree")
    elif isinstance(tree_or_run_dir, os.PathLike):
        tree = os.fspath(tree_or_run_dir)
    return policy_kwargs_for(tree, catalog, kinds, normalize_images)
