"""`evo-lacer compare --env BabyAI-GoToLocal-v0`: the strategies on LACER's MiniGrid space, with
the BabyAI bot and SB3's CombinedExtractor as reference rows (smoke size)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evo_lacer.compare import CompareConfig, run_comparison


def test_babyai_comparison_smoke(tmp_path: Path) -> None:
    cfg = CompareConfig(env="BabyAI-GoToLocal-v0", smoke=True, strategies=("random", "evolution"),
                        cheap_fidelity="imitation",
                        out=str(tmp_path))
    result = run_comparison(cfg, log=lambda _: None)
    assert [r.strategy for r in result.rows] == ["random", "evolution"]
    assert all(len(r.curve) == 2 for r in result.rows)
    bot, combined = result.references
    assert bot.name == "BabyAI bot" and bot.reward[0] > 0.5 and bot.fitness == [1.0]
    assert combined.fitness and "['image'] flattened" in combined.note
    text = Path(result.paths["markdown"]).read_text(encoding="utf-8")
    assert "# Strategy comparison on BabyAI-GoToLocal-v0" in text and "*BabyAI bot*" in text
    run = json.loads((tmp_path / "runs" / "random-s0" / "run.json").read_text(encoding="utf-8"))
    config = run.get("config", run)
    assert config["space"].endswith("minigrid_space.json")
    assert "imitate a scripted expert" in config["task"]


@pytest.mark.slow
def test_a_level_without_an_expert_compares_at_full_fidelity_without_an_expert_row(tmp_path: Path) -> None:
    cfg = CompareConfig(env="MiniGrid-Empty-5x5-v0", fidelity="full", smoke=True, strategies=("random",),
                        out=str(tmp_path))
    result = run_comparison(cfg, log=lambda _: None)
    assert [ref.name for ref in result.references] == ["SB3 CombinedExtractor"]
    assert result.references[0].fitness and len(result.rows[0].curve) == 2
