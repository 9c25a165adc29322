"""Where does a hybrid run with an LLM part from the same run without one, and why?

Since 2026-12-02 (session 25) an LLM arm's answer is one more child in the screen, after the random
fills the `edit:random` arm would screen, and an answer that fell back is left out; so a run with a
model should make the very trees of the `--llm none` run (same task, seed and budget) until the
screen chooses the model's own answer. This script checks that on finished or cut runs: for each
pair of run folders it compares the trees candidate by candidate and prints where they first
differ, and whether the run with the model had just chosen its model's answer there (an
*explained* parting) or not (a parting the model's presence caused without its answer winning).
It also counts the LLM arms' children and what became of their answers.

Reads each folder's `candidates.jsonl` (trees by hash; nothing in the folders is executed):

    python benchmarks/llm_parting.py benchmarks/out/rn_none/runs/S benchmarks/out/rn_smol/runs/S [...]

Arguments come in pairs: the run without an LLM, then the run with one.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from evo_lacer.runs import read_jsonl

LLM_ARMS = ("edit:llm", "design:llm")


def candidates(run: Path) -> list[dict[str, Any]]:
    """The run's candidates in id order."""
    path = run / "candidates.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path}: no such file (pass run folders, each holding candidates.jsonl)")
    return sorted(read_jsonl(path), key=lambda r: int(r["id"]))


def parting(plain: list[dict[str, Any]], guided: list[dict[str, Any]]) -> dict[str, Any]:
    """Where `guided` (with an LLM) first makes a tree `plain` (without) did not, and why."""
    n = min(len(plain), len(guided))
    at = next((i for i in range(n) if plain[i]["tree_hash"] != guided[i]["tree_hash"]), None)
    asked = [r for r in guided if (r.get("extra") or {}).get("arm") in LLM_ARMS]
    answers = Counter(str((r.get("extra") or {}).get("llm_answer") or "before session 25") for r in asked)
    won = [int(r["id"]) for r in asked if (r.get("extra") or {}).get("llm_won")]
    row: dict[str, Any] = {"compared": n, "parted_at": None, "explained": None, "asked": len(asked),
                           "answers": dict(answers), "won": won}
    if at is not None:
        extra = guided[at].get("extra") or {}
        row["parted_at"] = int(guided[at]["id"])
        row["arm"] = extra.get("arm", guided[at].get("transformation"))
        row["explained"] = bool(extra.get("llm_won"))
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="pairs of run folders: without an LLM, with one")
    args = p.parse_args()
    if len(args.runs) % 2:
        raise SystemExit(f"runs come in pairs (without an LLM, with one); got {len(args.runs)} folders")
    print("| run with the LLM | compared | parted at | arm there | explained (its answer chosen) "
          "| LLM arm children | their answers | chosen at |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    unexplained = 0
    for plain_dir, guided_dir in zip(args.runs[::2], args.runs[1::2], strict=True):
        row = parting(candidates(plain_dir), candidates(guided_dir))
        answers = ", ".join(f"{k} {v}" for k, v in sorted(row["answers"].items())) or "-"
        if row["parted_at"] is None:
            where, arm, why = "same trees", "-", "-"
        else:
            where, arm, why = str(row["parted_at"]), str(row["arm"]), "yes" if row["explained"] else "**no**"
            unexplained += int(not row["explained"])
        print(f"| {guided_dir} | {row['compared']} | {where} | {arm} | {why} | {row['asked']} | {answers} "
              f"| {', '.join(map(str, row['won'])) or '-'} |")
    print(f"\n{unexplained} of {len(args.runs) // 2} runs parted where the model's answer was not chosen")


if __name__ == "__main__":
    main()
