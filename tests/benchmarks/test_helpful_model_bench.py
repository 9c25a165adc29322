"""benchmarks/helpful_model.py: the known fitness, the stand-in models' answers, and a tiny grid."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import multisource  # noqa: E402
from helpful_model import KnownFitness, StandIn, main, token, tree_tokens, worth  # noqa: E402

from evo_lacer.flat import FlatSpace  # noqa: E402
from evo_lacer.llm import LLMRequest, choice_schema, validate  # noqa: E402

SPACE = FlatSpace.load().for_sources(multisource.SPACE)


def ask(model: StandIn, schema: dict) -> object:
    return model.complete(LLMRequest(system="", prompt="", schema=schema, seed=3)).value


def test_the_fitness_is_the_mean_worth_of_the_trees_tokens() -> None:
    tree = SPACE.to_tree(SPACE.sample(np.random.default_rng(0)))
    tokens = tree_tokens(tree)
    assert tokens and all(isinstance(t, str) for t in tokens)
    fit = KnownFitness("s")
    assert fit(tree, None) == np.mean([worth(t, "s") for t in tokens])
    noisy = KnownFitness("s", noise=0.1)
    assert noisy(tree, None) == noisy(tree, None) != fit(tree, None)  # seeded by the tree
    assert KnownFitness("other")(tree, None) != fit(tree, None)  # another salt, another task


def test_the_stand_ins_answer_validly_and_as_their_kind_says() -> None:
    options = [8, 16, 32, 64, "relu", "gelu"]
    schema = choice_schema({"width": options})
    worths = {o: worth(token(o), "s") for o in options}
    assert ask(StandIn("knows", "s"), schema) == {"width": max(worths, key=worths.__getitem__)}
    assert ask(StandIn("misleads", "s"), schema) == {"width": min(worths, key=worths.__getitem__)}
    design = SPACE.json_schema()
    for kind in ("knows", "misleads", "chance"):
        answer = ask(StandIn(kind, "s"), design)
        validate(answer, design)
        SPACE.to_tree(SPACE.validate(answer))
    knows, misleads = (KnownFitness("s")(SPACE.to_tree(ask(StandIn(k, "s"), design)), None)
                       for k in ("knows", "misleads"))
    assert knows > misleads


@pytest.mark.slow  # a benchmark script's run: the default run stays short, CI runs it
def test_a_tiny_grid_writes_rows_arms_and_a_report(tmp_path: Path) -> None:
    assert main(["--seeds", "1", "--budget", "20", "--models", "knows", "--trusts", "learned",
                 "--out", str(tmp_path)]) == 0
    rows = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [r["label"] for r in rows] == ["hybrid", "hybrid+knows+learned", "tpe"]
    assert all(len(r["curve"]) == 20 for r in rows)
    assert "edit:llm" in rows[1]["arms"] and rows[0]["llm_calls"] == 0
    report = (tmp_path / "report.md").read_text()
    assert "| hybrid+knows+learned | design:llm |" in report
    assert (tmp_path / "best_so_far_helpful.png").is_file()
    assert main(["--seeds", "1", "--budget", "20", "--models", "knows", "--trusts", "learned",
                 "--out", str(tmp_path)]) == 0  # nothing left to run: no row twice
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 3


@pytest.mark.slow  # a benchmark script's run: the default run stays short, CI runs it
def test_an_auto_row_runs_the_search_s_check_on_the_stand_in_and_says_what_it_became(tmp_path: Path) -> None:
    assert main(["--seeds", "1", "--budget", "12", "--models", "knows", "--trusts", "auto",
                 "--out", str(tmp_path)]) == 0
    rows = {r["label"]: r for r in map(json.loads, (tmp_path / "results.jsonl").read_text().splitlines())}
    auto = rows["hybrid+knows+auto"]
    assert auto["trust_mode"] in ("screen", "learned")
    assert auto["llm_calls"] >= 6  # the check's probes went to the stand-in
    assert f"auto became {auto['trust_mode']} 1x" in (tmp_path / "report.md").read_text()
