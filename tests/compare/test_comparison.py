"""The comparison's bookkeeping (curves, thresholds, table) and its CLI, without running searches."""

from __future__ import annotations

import math

import pytest

from evo_lacer.cli import build_parser
from evo_lacer.compare import CompareConfig, CompareResult, Reference, RunRow
from evo_lacer.compare._comparison import best_so_far, search_options
from evo_lacer.compare._report import evals_to_threshold, markdown
from evo_lacer.engine import SearchConfig
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import Feedback, Status


def test_best_so_far_and_threshold() -> None:
    fbs = [Feedback.failure(Status.FAILED, "x"), Feedback(Status.OK, fitness=0.2),
           Feedback(Status.OK, fitness=0.1), Feedback(Status.OK, fitness=0.5)]
    curve = best_so_far(fbs)
    assert math.isnan(curve[0]) and curve[1:] == [0.2, 0.2, 0.5]
    assert evals_to_threshold(curve, 0.3) == 4
    assert evals_to_threshold(curve, 0.9) is None


def test_markdown_table_has_strategies_and_references() -> None:
    cfg = CompareConfig(strategies=("random", "lacer-noinit"), seeds=2, budget=2)
    rows = [RunRow("random", 0, [0.1, 0.3], best=0.3, best_reward=5.0, llm={"calls": 0}),
            RunRow("random", 1, [0.2, 0.2], best=0.2, best_reward=4.0),
            RunRow("lacer-noinit", 0, [0.4, 0.4], best=0.4, best_reward=6.0,
                   llm={"calls": 2, "fallbacks": 1}, env_steps=2000)]
    refs = [Reference("expert controller", [1.0], [9.0]), Reference("SB3 CombinedExtractor", [0.25, 0.27])]
    text = markdown(CompareResult(cfg, rows, refs, threshold=0.26), "compare.png")
    assert "| random | 2 | 0.25 ± 0.0707 | 4.5 ± 0.707 | 2.0 (1/2) |" in text
    assert "| lacer-noinit | 1 | 0.4 | 6 | 1.0 (1/1) | 2000 | 2 | 0 | 0 | 1 |" in text
    assert "*SB3 CombinedExtractor*" in text


def test_ablations_are_nested() -> None:
    """Each LACER ablation hides one more thing from the LLM than the one before."""
    given = [search_options(name) for name in ("lacer", "lacer-nofeatures", "lacer-noreward", "lacer-noinit")]
    assert {base for base, _ in given} == {"lacer"}
    configs = [SearchConfig(strategy="lacer", **options) for _, options in given]
    signals = [set(c.llm_channels) for c in configs]
    inits = [c.initial_evaluations for c in configs]
    assert signals[0] > signals[1] > signals[2] == signals[3] and signals[2] == {"metrics"}
    assert inits[0] == inits[1] == inits[2] > 0 == inits[3]


def test_config_checks_and_smoke_preset() -> None:
    with pytest.raises(ConfigError, match="unknown strategies"):
        CompareConfig(strategies=("nasnet",)).resolved()
    assert CompareConfig(strategies=("random", "darts")).resolved().strategies  # cheap: cloned supernet
    assert CompareConfig(strategies=("random", "darts"), fidelity="full").resolved().strategies
    smoke = CompareConfig(smoke=True).resolved()
    assert smoke.seeds == 1 and smoke.budget == 2 and smoke.llm == "none"
    assert CompareConfig().llm_timeout_s == SearchConfig().llm_timeout_s  # the searches' default


def test_cli_options_come_from_the_config() -> None:
    args = build_parser().parse_args(["compare", "--smoke", "--strategies", "random", "tpe", "--budget", "3"])
    assert args.smoke is True and args.strategies == ["random", "tpe"] and args.budget == 3
    assert args.fidelity == "cheap" and args.backend == "numpy"


@pytest.mark.slow  # PPO through the full supernet and the expert and SB3 reference rows: ~30 s
def test_a_supernet_strategy_counts_its_supernet_as_candidates_and_its_env_steps(tmp_path) -> None:
    from evo_lacer.compare import run_comparison

    cfg = CompareConfig(fidelity="full", strategies=("darts",), budget=3, seeds=1, horizon=30,
                        eval_episodes=1, steps=128, llm="none", max_latency_ms=None, out=str(tmp_path))
    result = run_comparison(cfg, log=lambda _: None)
    (darts,) = result.rows
    # 2 candidates' worth of supernet training, then its derived architecture
    assert len(darts.curve) == 3 and all(math.isnan(v) for v in darts.curve[:2])
    assert math.isfinite(darts.curve[2])
    assert darts.env_steps >= 2 * result.config.resolved().steps
    text = (tmp_path / "compare.md").read_text()
    assert "env steps / run" in text and f"| {darts.env_steps:.0f} |" in text


def test_resume_refuses_a_run_made_at_another_fidelity(tmp_path) -> None:
    """Runs made before ppo-short became the cheap default must not continue under it."""
    import dataclasses

    from evo_lacer.compare._comparison import check_same_task
    from evo_lacer.compare._tasks import task_evaluator
    from evo_lacer.runs import RunStore

    cfg = dataclasses.replace(CompareConfig(smoke=True), strategies=("random",)).resolved()
    short = task_evaluator(cfg)
    imitation = task_evaluator(dataclasses.replace(cfg, cheap_fidelity="imitation"))
    RunStore.create(tmp_path / "run", {"task": imitation.describe()})
    check_same_task(tmp_path / "run", imitation)  # the same settings resume
    with pytest.raises(ConfigError, match=r"another task or fidelity.*--cheap-fidelity imitation"):
        check_same_task(tmp_path / "run", short)


def test_the_compare_evaluators_follow_fidelity_and_ppo_seeds() -> None:
    import dataclasses

    from evo_lacer.compare._tasks import task_evaluator
    from evo_lacer.evaluate import SHORT_PPO, ImitationEvaluator, RLEvaluator

    cfg = CompareConfig(horizon=30, steps=512, ppo_seeds=3)
    full = task_evaluator(dataclasses.replace(cfg, fidelity="full"))
    short = task_evaluator(cfg)  # the default: cheap, ppo-short
    assert isinstance(full, RLEvaluator) and (full.steps, full.ppo_seeds, full.fidelity) == (512, 3, "full")
    assert isinstance(short, RLEvaluator)
    assert (short.steps, short.ppo_seeds, short.fidelity) == (128, 1, SHORT_PPO)
    imitation = task_evaluator(dataclasses.replace(cfg, cheap_fidelity="imitation"))
    assert isinstance(imitation, ImitationEvaluator)
    with pytest.raises(ConfigError, match="short_fraction=0"):
        CompareConfig(short_fraction=0).resolved()
