"""What `resume` reads from a run folder before it continues: the recorded parts (rebuilt from
data, never unpickled) and a check that the candidate log agrees with the checkpoints.

Every refusal is a `RunStoreError` naming the file and what to do.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evo_lacer.errors import EvoLacerError, RunStoreError
from evo_lacer.runs._components import LEGACY_PICKLE, rebuild, space_from_dict
from evo_lacer.runs._store import CANDIDATES, MANIFEST, RunStore

PROMOTE = "promote"
"""Transformation of the full-fidelity re-evaluations recorded after the loop (ids past its own)."""


@dataclass(frozen=True)
class RecordedParts:
    """What a run needs to go on, rebuilt from its records or taken from `resume`'s arguments."""

    evaluator: Any
    full_evaluator: Any
    """The full-fidelity evaluator of a ``halving`` run (None otherwise, or when not rebuildable)."""
    seeds: tuple[Any, ...]
    """The seed trees the run started from (`Node`s)."""


def recorded_parts(
    store: RunStore,
    *,
    evaluator: Any,
    fitness: Any,
    observation_space: Any,
    full_evaluator: Any,
    catalog: Any,
    space: Any,
) -> RecordedParts:
    """The evaluator(s) and seed trees of a run, from the arguments or from the run's records."""
    from evo_lacer.evaluate import FunctionEvaluator

    manifest = store.path / MANIFEST
    parts = store.config.get("components")
    if not isinstance(parts, dict):
        parts = {}
    legacy = store.path / "artifacts" / LEGACY_PICKLE
    if evaluator is None and fitness is None and (legacy.exists() or not parts):
        why = (
            f"{legacy} holds pickled components from an older evo-lacer, which are never loaded "
            "(unpickling a file runs code from it)"
            if legacy.exists()
            else f"{manifest} does not record how to rebuild the evaluator"
        )
        raise RunStoreError(
            f"{why}; pass the evaluator again: resume(run_dir, evaluator=...) or "
            "resume(run_dir, fitness=..., observation_space=...); on the command line "
            "`evo-lacer resume DIR --fitness module:name`"
        )
    if parts.get("catalog") and catalog is None:
        raise RunStoreError(
            f"{manifest}: the run used a custom catalog, which is not stored in the run folder; "
            "pass it again: resume(run_dir, catalog=...)"
        )
    if catalog is not None and parts.get("catalog") and _digest(catalog) != parts["catalog"]:
        raise RunStoreError(
            f"{manifest}: the catalog passed differs from the one the run used (its JSON digest "
            "changed); pass the same catalog, or start a new search"
        )
    if parts.get("space") and space is None:
        raise RunStoreError(
            f"{manifest}: the run used a FlatSpace object, which is not stored in the run folder; "
            "pass it again: resume(run_dir, space=...)"
        )
    where = str(manifest)
    task = evaluator
    if task is None and fitness is not None:
        recorded = (parts.get("evaluator") or {}).get("observation_space")
        if observation_space is None and recorded is None:
            raise RunStoreError(
                f"{manifest} records no observation space; pass observation_space= with fitness="
            )
        obs = observation_space if observation_space is not None else space_from_dict(recorded, where)
        task = FunctionEvaluator(fitness, obs, catalog)
    if task is None:
        task = rebuild(parts.get("evaluator"), where, catalog)
    if task is None:
        why = (parts.get("evaluator") or {}).get("why", "it was not recorded")
        raise RunStoreError(
            f"{manifest}: the run's evaluator cannot be rebuilt from its record ({why}); pass it "
            "again: resume(run_dir, evaluator=...) or resume(run_dir, fitness=...)"
        )
    recorded_space = store.config.get("observation_space")
    if recorded_space is not None and str(task.observation_space) != recorded_space:
        raise RunStoreError(
            f"{manifest}: the run searched encoders for {recorded_space}, but the evaluator's "
            f"observation space is {task.observation_space}; pass the run's own evaluator, or "
            "start a new search"
        )
    full = (
        full_evaluator if full_evaluator is not None else rebuild(parts.get("full_evaluator"), where, catalog)
    )
    return RecordedParts(task, full, tuple(_seeds(store)))


def _digest(catalog: Any) -> str:
    return hashlib.sha256(catalog.to_json().encode()).hexdigest()


def _seeds(store: RunStore) -> list[Any]:
    from evo_lacer.tree import node_from_dict

    raw = store.config.get("seed_trees", [])
    if not isinstance(raw, list):
        raise RunStoreError(f"{store.path / MANIFEST}: seed_trees must be a list of trees")
    out = []
    for i, tree in enumerate(raw):
        try:
            out.append(node_from_dict(tree))
        except (EvoLacerError, ValueError, TypeError, KeyError, RecursionError) as exc:
            text = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise RunStoreError(
                f"{store.path / MANIFEST}: seed tree {i} is not a valid tree ({text}); the file "
                "was edited or damaged: restore it, or start a new search"
            ) from None
    return out


def _next_id(state: Any, name: str, store: RunStore) -> tuple[int, int]:
    """(generation, next id) of a loop state file."""
    try:
        return int(state["generation"]), int(state["harness"]["next_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunStoreError(
            f"{store.state_path(name)}: damaged loop state ({type(exc).__name__}: {exc}); "
            "restore it, or start a new search"
        ) from None


def _ids(records: Iterable[dict[str, Any]], store: RunStore) -> list[int]:
    out = []
    for line, record in enumerate(records, start=1):
        value = record.get("id")
        if isinstance(value, bool) or not isinstance(value, int):
            raise RunStoreError(f"{store.path / CANDIDATES}, record {line}: id {value!r} is not an integer")
        out.append(value)
    return out


def check_run(store: RunStore) -> None:
    """Refuse to resume when ``candidates.jsonl`` and the loop's checkpoints disagree (records
    missing, repeated, or unknown to the checkpoints); a cut last record of the latest generation
    is allowed -- the loop evaluates that candidate again under its own id."""
    records = store.candidates()
    ids = _ids(records, store)
    log = store.path / CANDIDATES
    dups = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dups:
        raise RunStoreError(
            f"{log}: candidate ids {dups[:10]} are recorded more than once (two processes wrote "
            "the run?); it cannot be resumed safely -- start a new search (`evo-lacer report` "
            "still reads this one)"
        )
    checkpoint = store.load_state("checkpoint")
    pending = store.load_state("pending")
    if ids and checkpoint is None and pending is None:
        raise RunStoreError(
            f"{log} holds {len(ids)} candidates but {store.path / 'state'} has no checkpoint; "
            "restore the state folder, or start a new search"
        )
    gen_done, done_next = _next_id(checkpoint, "checkpoint", store) if checkpoint is not None else (-1, 0)
    upper, redo = done_next, set()
    if checkpoint is not None and checkpoint.get("loop") == "steady":
        # candidates in flight (or waiting) at the checkpoint, and what its last step recorded
        try:
            redo = {int(c["id"]) for key in ("flying", "waiting", "ready", "last") for c in checkpoint[key]}
        except (KeyError, TypeError, ValueError) as exc:
            raise RunStoreError(
                f"{store.state_path('checkpoint')}: damaged loop state ({exc}); restore it, or "
                "start a new search"
            ) from None
    recorded = {int(r["id"]): str(r.get("tree_hash") or "") for r in records}
    if checkpoint is not None:
        _check_hashes(_checkpoint_hashes(checkpoint), recorded, log, store.state_path("checkpoint"))
    if pending is not None:
        gen_pending, pending_next = _next_id(pending, "pending", store)
        try:
            hashes = {int(c["id"]): str(c.get("tree_hash") or "") for c in pending["candidates"]}
            pending_ids = set(hashes)
        except (KeyError, TypeError, ValueError) as exc:
            raise RunStoreError(
                f"{store.state_path('pending')}: damaged loop state ({exc}); restore it, or "
                "start a new search"
            ) from None
        if gen_pending >= gen_done:
            upper = max(upper, pending_next)
        if gen_pending == gen_done:
            redo = pending_ids
        _check_hashes(hashes, recorded, log, store.state_path("pending"))
    present = set(ids)
    missing = [i for i in range(done_next) if i not in present and i not in redo]
    if missing:
        raise RunStoreError(
            f"{log} lacks {len(missing)} candidate records its checkpoint counts (ids "
            f"{missing[:10]}{'...' if len(missing) > 10 else ''}); the file was truncated or "
            "replaced -- restore it from a backup, or start a new search"
        )
    loop_ids = [i for i, r in zip(ids, records, strict=True) if r.get("transformation") != PROMOTE]
    unknown = sorted(i for i in loop_ids if i >= upper)
    if unknown:
        raise RunStoreError(
            f"{log} holds candidates the checkpoints do not know (ids {unknown[:10]}); it "
            "belongs to another run or the state folder was replaced -- restore the matching "
            "files, or start a new search"
        )


def _checkpoint_hashes(checkpoint: Mapping[str, Any]) -> dict[int, str]:
    """Candidate id -> tree hash, as far as a checkpoint names them: the steady loop's candidates
    in flight, waiting, ready and last observed, and the strategy's population."""
    out: dict[int, str] = {}
    strategy = checkpoint.get("strategy")
    members = strategy.get("population") if isinstance(strategy, Mapping) else None
    lists = [checkpoint.get(key) for key in ("flying", "waiting", "ready", "last")] + [members]
    for items in lists:
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping) and isinstance(item.get("id"), int):
                digest = item.get("tree_hash", item.get("hash"))
                if isinstance(digest, str) and digest:
                    out[item["id"]] = digest
    return out


def _check_hashes(hashes: Mapping[int, str], recorded: Mapping[int, str], log: Path, state: Path) -> None:
    differ = sorted(i for i, h in hashes.items() if h and recorded.get(i) and recorded[i] != h)
    if differ:
        raise RunStoreError(
            f"{log}: candidates {differ[:10]} are recorded with other trees than {state} names; the "
            "log belongs to another run -- restore the run's own files, or start a new search"
        )


__all__ = ["RecordedParts", "check_run", "recorded_parts"]
