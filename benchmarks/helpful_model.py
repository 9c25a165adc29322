"""Would the hybrid use a model that helps? A synthetic task whose answers a stand-in model knows.

No local model tried here is above chance (README: "Which model?"), so issue #8's "a model that
helps is called more" cannot be seen with a real one. This benchmark makes the question answerable:

- the **task** is the multisource observation space with a fitness known in closed form: every
  module and fusion node of the tree contributes its op name and each of its parameter values as
  tokens, each token has a fixed worth in [0, 1) (a hash of the token and ``--salt``), and the
  fitness is the mean worth of the tree's tokens (plus, with ``--noise``, a Gaussian draw seeded by
  the tree, so a tree always scores the same). No training: a candidate costs milliseconds.
- the **models** are stand-ins for an LLM service (``LLMBackend``), answering every
  schema-constrained question the hybrid asks: ``knows`` picks in each ``enum`` the option whose
  token is worth most (and, among whole-design families, the one whose best options are worth
  most), ``misleads`` the option worth least, ``chance`` a uniform one (seeded by the request, like
  a model at chance). Site and parameter-name questions have no worth of their own, so ``knows``
  is a partial oracle: it knows the values and modules, not where to edit.

Rows: ``hybrid`` with ``--llm none`` and with each stand-in under each ``--trusts`` mode
(``hybrid+knows`` is ``llm_trust="screen"``, the default: the answer only joins the screen;
``hybrid+knows+learned`` is ``llm_trust="learned"``: a slot may take it unscreened once the
model's answers have done better than the screen's picks), plus ``tpe`` for reference, on
``--seeds`` seeds (search seeds from ``--seed0``), budgets 24 and 48 (48's prefix). Per row: the
median best [bootstrap 90 %], the paired difference from ``hybrid`` [bootstrap 90 % of the mean,
seeds higher / n], and the arms: how often each LLM arm was chosen, how often the screen chose its
answer, and its improvement rate. Writes ``results.jsonl``, ``report.md`` and
``best_so_far_helpful.png`` into ``--out``; finished runs are skipped, so the grid can grow.

  python benchmarks/helpful_model.py --seeds 10 --out benchmarks/out/helpful
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import budget_report  # noqa: E402  (a sibling module: the grid's statistics and plot)
import hybrid_budgets  # noqa: E402  (a sibling script: its best-so-far curve)
import multisource  # noqa: E402

from evo_lacer.llm import LLMReply, LLMRequest  # noqa: E402
from evo_lacer.tree import Node, walk  # noqa: E402

MODELS = ("knows", "misleads", "chance")
BUDGETS = (24, 48)
TASK = "helpful"


def worth(token: str, salt: str) -> float:
    """A token's fixed worth in [0, 1): the first 8 bytes of sha256(salt, token)."""
    digest = hashlib.sha256(f"{salt}\x00{token}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def token(value: Any) -> str:
    """One op name, parameter value or answer option as the text both sides hash."""
    if isinstance(value, tuple | list):
        return json.dumps(list(value))
    return str(value)


def tree_tokens(tree: Node) -> list[str]:
    """The op names and parameter values of the tree's module and fusion nodes."""
    out: list[str] = []
    for _, node in walk(tree):
        if node.kind in ("module", "fusion") and node.op:
            out += [node.op, *(token(v) for _, v in node.params)]
    return out


class KnownFitness:
    """The task's fitness: the mean worth of a tree's tokens (+ noise seeded by the tree)."""

    def __init__(self, salt: str, noise: float = 0.0) -> None:
        self.salt, self.noise = salt, noise
        self.__name__ = "known_worth"

    def __call__(self, tree: Node, module: Any) -> float:
        tokens = tree_tokens(tree)
        value = float(np.mean([worth(t, self.salt) for t in tokens])) if tokens else 0.0
        if self.noise:
            seed = int.from_bytes(hashlib.sha256(json.dumps(sorted(tokens)).encode()).digest()[:8], "big")
            value += self.noise * float(np.random.default_rng(seed).normal())
        return value


class StandIn:
    """A stand-in LLM service answering every schema-constrained question (see the docstring)."""

    model = "stand-in"

    def __init__(self, kind: str, salt: str) -> None:
        if kind not in MODELS:
            raise SystemExit(f"unknown stand-in model {kind!r}; choose one of {MODELS}")
        self.name, self.kind, self.salt = kind, kind, salt
        self.calls = 0

    def complete(self, request: LLMRequest) -> LLMReply:
        self.calls += 1
        rng = np.random.default_rng(request.seed)
        value = self.answer(request.schema, rng)
        return LLMReply(value, json.dumps(value), 0, 0, 0.0, self.name, self.model)

    def score(self, option: Any) -> float:
        w = worth(token(option), self.salt)
        return -w if self.kind == "misleads" else w

    def answer(self, schema: dict[str, Any], rng: np.random.Generator) -> Any:
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            if self.kind == "chance":
                return options[int(rng.integers(0, len(options)))]
            return max(options, key=self.score)
        if "anyOf" in schema:
            branches = [self.answer(b, rng) for b in schema["anyOf"]]
            if self.kind == "chance":
                return branches[int(rng.integers(0, len(branches)))]
            return max(branches, key=lambda a: self.mean_score(a))
        kind = schema.get("type")
        if kind == "object":
            props = schema.get("properties", {})
            return {k: self.answer(props[k], rng) for k in schema.get("required", list(props))}
        if kind == "array":  # reflection: no insights (a stand-in has nothing to say)
            return []
        raise SystemExit(f"the stand-in cannot answer schema {json.dumps(schema)[:200]}")

    def mean_score(self, answer: Any) -> float:
        leaves = [v for k, v in answer.items() if k != "family"] if isinstance(answer, dict) else [answer]
        return float(np.mean([self.score(v) for v in leaves])) if leaves else 0.0


TRUSTS = ("screen", "learned", "auto")
"""``llm_trust`` of the rows with a stand-in."""


def run_one(label: str, seed: int, budget: int, salt: str, noise: float) -> dict[str, Any]:
    """One search of the grid; its result row."""
    import torch

    import evo_lacer

    torch.set_num_threads(1)
    strategy, _, rest = label.partition("+")
    model, _, trust = rest.partition("+")
    llm: Any = StandIn(model, salt) if model else "none"
    options: dict[str, Any] = {"llm_trust": trust or "screen"} if model else {}
    if trust == "auto":  # the search's own LLM check (6 probes, the default) decides
        options["llm_check_probes"] = 6
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the fitness is recorded by name only")
        result = evo_lacer.search(fitness=KnownFitness(salt, noise), observation_space=multisource.SPACE,
                                  strategy=strategy, budget=budget, seed=seed, llm=llm, workers=1,
                                  run_dir=Path(tmp) / "run", **{"llm_check_probes": 0, **options})
    return {"task": TASK, "label": label, "strategy": strategy, "llm": model or "none", "budget": budget,
            "seed": seed, "best": None if result.best_feedback is None else result.best_feedback.fitness,
            "curve": hybrid_budgets.best_so_far(result.history), "arms": result.accounting.get("arms"),
            "llm_calls": llm.calls if isinstance(llm, StandIn) else 0,
            "trusted": result.accounting.get("llm_trust", {}).get("trusted", 0),
            "trust_mode": result.accounting.get("llm_trust", {}).get("mode"),
            "wall_s": time.perf_counter() - start}


def arm_lines(rows: list[dict[str, Any]], labels: list[str]) -> list[str]:
    """Per row with an LLM: each LLM arm's children, answers the screen chose, and improvements."""
    lines = ["| row | arm | chosen (of all children) | its answer evaluated (unscreened) | improved "
             "| calls |", "|---|---|---|---|---|---|"]
    for lb in labels:
        mine = [r for r in rows if r["label"] == lb and r["arms"]]
        if "+" not in lb or not mine:
            continue
        total = sum(s["chosen"] for r in mine for s in r["arms"].values())
        for arm in ("edit:llm", "design:llm"):
            stats = [r["arms"][arm] for r in mine if arm in r["arms"]]
            chosen = sum(s["chosen"] for s in stats)
            won = sum(s["screen_won"] for s in stats)
            trusted = sum(r.get("trusted", 0) for r in mine)
            improved = sum(s["improved"] for s in stats)
            calls = sum(r["llm_calls"] for r in mine)
            lines.append(f"| {lb} | {arm} | {chosen} ({chosen / max(total, 1):.0%}) | {won} | {improved} | "
                         f"{calls if arm == 'edit:llm' else ''} |")
        modes = Counter(r.get("trust_mode") for r in mine)
        became = "; auto became " + ", ".join(f"{m} {n}x" for m, n in sorted(modes.items(), key=str))
        lines.append(f"| {lb} | both | | {trusted} unscreened{became if lb.endswith('+auto') else ''} | | |")
    return lines


def report(out: Path, labels: list[str], budget: int) -> str:
    budgets = sorted({b for b in BUDGETS if b < budget} | {budget})
    rows = budget_report.expand(budget_report.load(out / "results.jsonl"), budgets)
    rng = np.random.default_rng(0)
    lines = ["# Would the hybrid use a model that helps? (synthetic task, known fitness)", "",
             "Median best [bootstrap 90%], mean rank, n:", "",
             *budget_report.table(rows, TASK, budgets, labels, "best", rng), "",
             "Paired: mean (row - hybrid) over the same seeds [bootstrap 90%], seeds higher / n:", "",
             *budget_report.paired_table(rows, TASK, budgets, labels, "hybrid", rng), "",
             f"LLM arms over the budget-{max(budgets)} runs (all seeds):", "",
             *arm_lines([r for r in rows if r["budget"] == max(budgets)], labels)]
    if rows:
        budget_report.plot(out, TASK, [r for r in rows if r["budget"] == max(budgets)])
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--seed0", type=int, default=0)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--trusts", nargs="+", default=["screen", "learned"], choices=TRUSTS,
                   help="llm_trust modes of the rows with a stand-in (auto: the search's 6-probe LLM check "
                        "on the stand-in decides; the arms table says what it became)")
    p.add_argument("--salt", default="helpful-0", help="which tokens are worth what (a new task per salt)")
    p.add_argument("--noise", type=float, default=0.0, help="SD of the fitness noise (seeded by the tree)")
    p.add_argument("--budget", type=int, default=max(BUDGETS))
    p.add_argument("--out", default=str(HERE / "out" / "helpful"))
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    labels = ["hybrid", *(f"hybrid+{m}" + ("" if t == "screen" else f"+{t}") for t in args.trusts
                          for m in args.models), "tpe"]
    done = {(r["label"], r["seed"]) for r in budget_report.load(out / "results.jsonl")}
    if not args.report_only:
        for seed in range(args.seed0, args.seed0 + args.seeds):
            for lb in labels:
                if (lb, seed) in done:
                    continue
                row = run_one(lb, seed, args.budget, args.salt, args.noise)
                with (out / "results.jsonl").open("a") as sink:
                    sink.write(json.dumps(row) + "\n")
                print(f"{lb} seed {seed}: best {row['best']:.4f} ({row['wall_s']:.0f} s)", flush=True)
    print(report(out, labels, args.budget))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
