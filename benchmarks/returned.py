"""Which evaluated tree should a search return? The highest score, or the highest model mean.

Every search returns the tree with the highest score it measured (rule ``best``). Where one
tree's score moves from seed to seed about as much as scores differ between trees, that maximum
rewards luck (see `reeval.py`). Rule ``model`` fits the hybrid screen's Gaussian process
(`evo_lacer.engine._screen`: the same tree features, an RBF kernel, its noise variance chosen by
marginal likelihood) on every scored tree among a run's first `b` evaluations and returns the
evaluated tree with the highest posterior mean: a tree whose neighbours scored well too, rather
than a lone lucky one. It costs no evaluation, and it does not change the search, so both rules
read the same runs.

This script reads the run folders of a `hybrid_budgets.py` grid (``results.jsonl`` and each
run's ``candidates.jsonl``, as JSON; nothing in them is executed), picks a tree by each rule after
every budget, re-scores every picked tree on the held-out seeds `reeval.py` uses (one re-score per
tree: where both rules pick the same tree it serves both), appends the re-scores to
``returned.jsonl`` (a later call skips trees done) and prints per run the picks and their
held-out means, and per label and budget the paired difference ``model`` - ``best``:

    python benchmarks/returned.py --out benchmarks/out/dev37 --budgets 24 48 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from budget_report import expand, load  # noqa: E402  (sibling modules)
from hybrid_budgets import run_folder  # noqa: E402
from reeval import best_within, read_candidates, rescore, scored  # noqa: E402

from evo_lacer.engine._screen import GPModel, tree_features  # noqa: E402
from evo_lacer.tree import node_from_dict  # noqa: E402

RULES = ("best", "model")


def model_means(candidates: Sequence[dict[str, Any]]) -> tuple[np.ndarray, float]:
    """The posterior mean of the screen's GP at each of `candidates`, fitted on them, and the noise
    variance (on standardized scores) it chose: near 0 it interpolates, and ``model`` picks what
    ``best`` picks."""
    rows = [tree_features(node_from_dict(c["tree"])) for c in candidates]
    y = [float(c["feedback"]["fitness"]) for c in candidates]
    gp = GPModel(rows, y, noise=None)
    mean, _ = gp.predict(rows)
    return mean, gp.noise


def model_within(candidates: Sequence[dict[str, Any]], budget: int) -> dict[str, Any] | None:
    """Rule ``model``: the scored candidate among the first `budget` evaluations with the highest
    posterior mean (ties: the higher score, then the lower id); with fewer than 3 scored trees a
    model knows nothing, and the rule is ``best``'s."""
    return _model_pick(scored(list(candidates), budget))[0]


def _model_pick(ok: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, float | None]:
    """Rule ``model``'s pick among the scored candidates `ok` and the model's noise (None: under 3
    scores, no model; the pick is ``best``'s)."""
    if len(ok) < 3:
        return (max(ok, key=lambda c: float(c["feedback"]["fitness"])) if ok else None), None
    mean, noise = model_means(ok)
    score = [float(c["feedback"]["fitness"]) for c in ok]
    order = sorted(range(len(ok)), key=lambda i: (-mean[i], -score[i], int(ok[i]["id"])))
    return ok[order[0]], noise


def pick(rule: str, candidates: Sequence[dict[str, Any]], budget: int) -> dict[str, Any] | None:
    if rule == "best":
        return best_within(list(candidates), budget)
    if rule == "model":
        return model_within(candidates, budget)
    raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")


def picks(out: Path, budgets: list[int]) -> list[dict[str, Any]]:
    """One row per (task, label, budget, seed) of the grid whose run folder exists: each rule's pick
    (candidate id, its search score, its tree) and the run folder."""
    rows = []
    for r in expand(load(out / "results.jsonl"), budgets):
        if r["budget"] not in budgets:
            continue
        folder = run_folder(out, r["task"], r["label"], r["run_budget"], r["seed"])
        if not (folder / "candidates.jsonl").is_file():
            continue
        cands = read_candidates(folder)
        row: dict[str, Any] = {k: r[k] for k in ("task", "label", "budget", "seed")}
        row["run_dir"] = str(folder)
        chosen: dict[str, dict[str, Any] | None] = {"best": best_within(cands, r["budget"])}
        chosen["model"], row["noise"] = _model_pick(scored(cands, r["budget"]))
        for rule, c in chosen.items():
            row[rule] = None if c is None else {
                "id": int(c["id"]), "fitness": float(c["feedback"]["fitness"]), "tree": c["tree"]}
        rows.append(row)
    return rows


def _rescore_job(job: dict[str, Any]) -> dict[str, Any]:
    values = rescore(job["task"], node_from_dict(job["tree"]), int(job["k"]), job.get("device", "cpu"))
    return {k: job[k] for k in ("task", "run_dir", "candidate")} | {"values": values}


def rescore_pass(out: Path, rows: list[dict[str, Any]], k: int, jobs: int, device: str = "cpu") -> int:
    """Re-score every picked tree not in ``returned.jsonl`` yet; returns the number that failed."""
    done = {(r["run_dir"], r["candidate"]) for r in load(out / "returned.jsonl")}
    todo: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        for rule in RULES:
            c = row[rule]
            if c is not None and (row["run_dir"], c["id"]) not in done:
                todo[(row["run_dir"], c["id"])] = {"task": row["task"], "run_dir": row["run_dir"],
                                                   "candidate": c["id"], "tree": c["tree"], "k": k,
                                                   "device": device}
    print(f"{len(todo)} picked trees to re-score on {k} held-out seeds", flush=True)
    failed = 0
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool, (out / "returned.jsonl").open("a") as sink:
        futures = {pool.submit(_rescore_job, job): job for job in todo.values()}
        for future in as_completed(futures):
            try:
                sink.write(json.dumps(future.result()) + "\n")
                sink.flush()
            except Exception as exc:
                failed += 1
                job = futures[future]
                print(f"FAILED re-score of candidate {job['candidate']} in {job['run_dir']}: "
                      f"{type(exc).__name__}: {exc}", flush=True)
    return failed


def held_out(out: Path) -> dict[tuple[str, int], float | None]:
    """(run folder, candidate id) -> the mean of its held-out re-scores (None: all failed)."""
    found = {}
    for r in load(out / "returned.jsonl"):
        vals = [v for v in r["values"] if v is not None]
        found[(r["run_dir"], int(r["candidate"]))] = float(np.mean(vals)) if vals else None
    return found


def _held(row: dict[str, Any], rule: str, scores: dict[tuple[str, int], float | None]) -> float | None:
    c = row[rule]
    return None if c is None else scores.get((row["run_dir"], c["id"]))


def _cell(row: dict[str, Any], rule: str, held: float | None) -> str:
    c = row[rule]
    if c is None:
        return "-"
    return f"{c['id']}, {c['fitness']:.3f}, " + ("-" if held is None else f"{held:.3f}")


def report(rows: list[dict[str, Any]], scores: dict[tuple[str, int], float | None], seed: int = 0) -> str:
    """Per run the two picks (id, search score, held-out mean); per (task, label, budget) the paired
    mean difference model - best [bootstrap 90% of the mean], the runs where ``model`` is higher
    and those where both rules picked the same tree."""
    rng = np.random.default_rng(seed)
    lines = ["| task | label | budget | seed | model's noise | best: id, score, held-out "
             "| model: id, score, held-out | model - best |", "|---|---|---|---|---|---|---|---|"]
    diffs: dict[tuple[str, str, int], list[float]] = {}
    same: dict[tuple[str, str, int], int] = {}
    for row in sorted(rows, key=lambda r: (r["task"], r["label"], r["budget"], r["seed"])):
        key = (row["task"], row["label"], row["budget"])
        best, model = _held(row, "best", scores), _held(row, "model", scores)
        d = None if best is None or model is None else model - best
        if d is not None:
            diffs.setdefault(key, []).append(d)
            same[key] = same.get(key, 0) + int(row["best"]["id"] == row["model"]["id"])
        noise = "-" if row.get("noise") is None else f"{row['noise']:g}"
        lines.append(f"| {row['task']} | {row['label']} | {row['budget']} | {row['seed']} | {noise} | "
                     f"{_cell(row, 'best', best)} | {_cell(row, 'model', model)} | "
                     + ("-" if d is None else f"{d:+.3f}") + " |")
    lines += ["", "| task | label | budget | model - best, mean [bootstrap 90%] | model higher | same tree |",
              "|---|---|---|---|---|---|"]
    for (task, label, budget), ds in sorted(diffs.items()):
        arr = np.array(ds)
        boot = arr[rng.integers(0, len(arr), size=(2000, len(arr)))].mean(axis=1)
        lo, hi = np.percentile(boot, [5, 95])
        lines.append(f"| {task} | {label} | {budget} | {arr.mean():+.3f} [{lo:+.3f}, {hi:+.3f}] | "
                     f"{int((arr > 0).sum())}/{len(arr)} | {same[(task, label, budget)]}/{len(arr)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="a hybrid_budgets.py output folder (results.jsonl, runs/)")
    p.add_argument("--budgets", nargs="+", type=int, default=[24, 48])
    p.add_argument("--k", type=int, default=3, help="held-out seeds per picked tree (reeval.py's)")
    p.add_argument("--jobs", type=int, default=2, help="re-scores run side by side")
    p.add_argument("--report-only", action="store_true", help="re-score nothing; print what is stored")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    out = Path(args.out)
    if not (out / "results.jsonl").is_file():
        raise SystemExit(f"--out {out}: no results.jsonl there; give the folder hybrid_budgets.py wrote "
                         "(its --out)")
    rows = picks(out, args.budgets)
    if not rows:
        raise SystemExit(f"--out {out}: no run folder for budgets {args.budgets}; check --budgets against "
                         "the runs' (hybrid_budgets.py --status --out ...)")
    failed = 0 if args.report_only else rescore_pass(out, rows, args.k, args.jobs, args.device)
    text = report(rows, held_out(out))
    print(text)
    (out / "returned.md").write_text(text + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
