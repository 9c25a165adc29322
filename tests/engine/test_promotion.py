"""search(fidelity="halving"): cheap imitation screening, then the best promoted to PPO."""

from __future__ import annotations

from pathlib import Path

import pytest

import evo_lacer
from evo_lacer.runs import RunStore


@pytest.mark.slow
def test_halving_promotes_the_best_cheap_candidates_to_full_ppo(tmp_path: Path) -> None:
    result = evo_lacer.search(
        env="evo_lacer/RingTraffic-v0", budget=3, strategy="evolution", llm="none", seed=0,
        fidelity="halving", cheap_fidelity="imitation", promote=0.5, population_size=3, batch_size=3,
        workers=1, executor="inprocess",
        rl_options={"steps": 128, "eval_episodes": 1, "env_kwargs": {"backend": "numpy", "horizon": 30},
                    "dataset_steps": 200, "grad_steps": 10},
        run_dir=tmp_path / "run",
    )
    assert result.history[0].feedback.cost.env_steps < 3000  # the cheap evaluator took dataset_steps
    cheap = [c for c in result.history if c.transformation != "promote" and c.evaluated]
    promoted = [c for c in result.history if c.transformation == "promote"]
    assert cheap and all(c.feedback.fidelity != "full" for c in cheap)
    assert len(promoted) == 2  # ceil(0.5 * distinct ok cheap results), at least one
    best_cheap = max((c for c in cheap if c.feedback.ok), key=lambda c: c.fitness or 0.0)
    assert best_cheap.id in {p.parents[0] for p in promoted}
    assert all(p.feedback.fidelity == "full" and "cheap_fitness" in p.feedback.metrics for p in promoted)
    assert result.best_feedback is not None and result.best_feedback.fidelity == "full"
    assert result.best_id in {p.id for p in promoted}
    stored = [r for r in RunStore.open(tmp_path / "run").candidates() if r["transformation"] == "promote"]
    assert len(stored) == 2
    summary = result.accounting["promotion"]  # the hit rate goes into the run's summary
    assert summary == evo_lacer.engine._promotion.promotion_summary(result.history)
    assert summary["promoted"] == 2 and 0.0 <= summary["hit_rate"] <= 1.0
