"""Strategies x seeds x budget on the ring road, one harness: the comparison behind
``benchmarks/compare.py`` and ``evo-lacer compare`` (the setting is documented there).

Every strategy gets the same evaluator, budget and seeds. LACER's nested feedback ablation is
three extra strategy names, each removing one more thing from what the LLM is given:
``lacer-nofeatures`` (no feature statistics), ``lacer-noreward`` (no features and no reward:
neither the fitness nor the episodic reward reaches the prompts, and the history is shown most
recent first instead of best first), ``lacer-noinit`` (as lacer-noreward, and no initial
evaluation: the LLM designs from the first candidate on). Selection always uses the fitness.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from evo_lacer.compare._tasks import (
    RING_ID,
    RING_TASK,
    confirm_evaluator,
    default_space,
    is_ring,
    references,
    task_evaluator,
)
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import Evaluator, Feedback

__all__ = ["RING_ID", "RING_TASK", "CompareConfig", "confirm_evaluator", "references", "run_comparison",
           "task_evaluator"]

ABLATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "lacer-nofeatures": ("lacer", {"llm_channels": ("reward", "metrics")}),
    "lacer-noreward": ("lacer", {"llm_channels": ("metrics",)}),
    "lacer-noinit": ("lacer", {"llm_channels": ("metrics",), "initial_evaluations": 0}),
}
"""Ablation name -> (search strategy, SearchConfig options); nested: each drops one more thing."""

DEFAULT_STRATEGIES = ("random", "evolution", "tpe", "hybrid", "lacer", "genius", "llmastool",
                      "lacer-nofeatures", "lacer-noreward", "lacer-noinit")
SMOKE_STRATEGIES = ("random", "evolution", "lacer", "lacer-nofeatures")


@dataclass(frozen=True)
class CompareConfig:
    """The comparison's settings (the CLI options are generated from these fields)."""

    env: str = RING_ID
    """The task: the ring road (default), or a MiniGrid / BabyAI id (e.g. BabyAI-GoToLocal-v0: the
    BabyAI bot is the cheap fidelity's expert, LACER's MiniGrid space is searched)."""
    space: str | None = None
    """Flat space file of the flat strategies (default: trees/minigrid_space.json for MiniGrid /
    BabyAI ids, LACER's per-source space otherwise)."""
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    """Search strategies and LACER ablations (lacer-nofeatures, lacer-noreward, lacer-noinit)."""
    seeds: int = 2
    """Independent runs per strategy (search seeds 0..seeds-1)."""
    budget: int = 6
    """Evaluations per run."""
    backend: Literal["numpy", "sumo"] = "numpy"
    """Ring simulator: numpy (fast, same dynamics) or sumo (Eclipse SUMO through libsumo)."""
    fidelity: Literal["cheap", "full"] = "cheap"
    """cheap: the `cheap_fidelity`; full: PPO for `steps` env steps (`ppo_seeds` agents averaged)."""
    cheap_fidelity: Literal["ppo-short", "imitation"] = "ppo-short"
    """ppo-short: one PPO agent for `short_fraction` of `steps` (the only fidelity that ranked BabyAI
    encoders as full PPO does, docs/fidelity.md); imitation: behaviour cloning of the expert
    (ImitationEvaluator; needs a scripted expert)."""
    short_fraction: float = 0.25
    """ppo-short: the fraction of `steps` it trains."""
    steps: int = 2048
    """PPO env steps per evaluation at the full fidelity (and for --confirm-steps 0 < N)."""
    ppo_seeds: int = 1
    """PPO agents per candidate at the full fidelity, their held-out rewards averaged."""
    n_envs: int = 1
    """PPO training envs (subprocesses for SUMO)."""
    horizon: int = 100
    """Control steps per ring episode (the env's default is 300)."""
    eval_episodes: int = 2
    """Held-out episodes per full evaluation (and for the expert's score)."""
    dataset_steps: int = 1000
    """Expert transitions collected once for the cheap fidelity."""
    grad_steps: int = 100
    """Behaviour-cloning gradient steps per cheap evaluation."""
    max_eval_s: float | None = None
    """Training time limit of one evaluation, then TIMED_OUT (None: 60 s cheap, 300 s full)."""
    max_latency_ms: float | None = 10.0
    """Gate: encoders whose forward pass on the gate's batch of 8 takes longer are rejected before
    costing an evaluation (typical ring encoders: 1-3 ms; a 64-channel stride-1 conv stack on the
    40x40 image: ~40 ms, and its PPO training ~30x slower). None: no bound."""
    confirm_steps: int = 0
    """If > 0, re-evaluate every run's best tree and the CombinedExtractor with PPO for this many steps."""
    llm: str = "auto"
    """LLM backend spec for the LLM strategies (auto | none | embedded | ollama:MODEL)."""
    llm_timeout_s: float = 60.0
    """Time limit of one LLM request (then the choice falls back to random); a search's default.
    (It was 30 s until session 25: on 2 busy cores SmolLM2 reads a whole-design prompt of ~2,000
    tokens in 30-40 s, and every design:llm answer of the full-fidelity ring row timed out.)"""
    workers: int = 1
    """Parallel evaluations inside each run."""
    threshold: float | None = None
    """Fitness to reach for the 'evaluations to threshold' column (default: the median final best)."""
    out: str = "benchmarks/out/compare"
    """Output folder: compare.md, compare.png, compare.json and runs/."""
    smoke: bool = False
    """A tiny setting for tests (< 1 min): 4 strategies, 1 seed, budget 2, no LLM."""
    resume: bool = False
    """Keep the run folders already in `out`: finished runs are read back, killed ones continue
    (nothing evaluated is repeated); without it every run starts afresh."""

    def resolved(self) -> CompareConfig:
        """The smoke preset applied, and the names checked."""
        cfg = self
        if self.smoke:
            strategies = SMOKE_STRATEGIES if self.strategies == DEFAULT_STRATEGIES else self.strategies
            cfg = dataclasses.replace(
                self, strategies=strategies, seeds=1, budget=2, horizon=30, eval_episodes=1,
                dataset_steps=200, grad_steps=10, steps=min(self.steps, 128), llm="none",
                max_latency_ms=None)  # a loaded test machine must not reject the smoke's encoders
        from evo_lacer.engine import STRATEGIES

        bad = [s for s in cfg.strategies if s not in STRATEGIES and s not in ABLATIONS]
        if bad:
            raise ConfigError(f"unknown strategies {bad}; choose from {(*STRATEGIES, *ABLATIONS)}")
        if cfg.cheap_fidelity not in ("ppo-short", "imitation") or not 0.0 < cfg.short_fraction <= 1.0:
            raise ConfigError(f"cheap_fidelity={cfg.cheap_fidelity!r}, short_fraction="
                              f"{cfg.short_fraction!r}: use ppo-short or imitation, and a fraction in "
                              "(0, 1] such as 0.25")
        if cfg.seeds < 1 or cfg.budget < 1:
            raise ConfigError(f"seeds={cfg.seeds} and budget={cfg.budget} must be >= 1")
        return cfg

    @property
    def imitation(self) -> bool:
        """The search's fitness is imitation skill (behaviour cloning of the expert)."""
        return self.fidelity == "cheap" and self.cheap_fidelity == "imitation"

    @property
    def env_kwargs(self) -> dict[str, Any]:
        return {"backend": self.backend, "horizon": self.horizon} if is_ring(self.env) else {}

    @property
    def flat_space(self) -> str | None:
        return self.space if self.space is not None else default_space(self.env)


@dataclass
class RunRow:
    """One (strategy, seed) run."""

    strategy: str
    seed: int
    curve: list[float] = field(default_factory=list)
    """Best fitness so far after each evaluation (NaN before the first success)."""
    best: float = math.nan
    best_reward: float = math.nan
    """``metrics["reward"]`` of the best candidate (the cloned policy's, at the cheap fidelity)."""
    confirm: float = math.nan
    """PPO reward of the best tree when --confirm-steps > 0."""
    llm: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    env_steps: float = 0.0
    """Env steps the run spent: every evaluation's, plus a supernet's (darts, enas)."""


@dataclass
class Reference:
    """A reference row: the expert controller or SB3's default extractor."""

    name: str
    fitness: list[float] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)
    confirm: list[float] = field(default_factory=list)
    note: str = ""


@dataclass
class CompareResult:
    config: CompareConfig
    rows: list[RunRow]
    references: list[Reference]
    threshold: float
    paths: dict[str, str] = field(default_factory=dict)


def best_so_far(feedbacks: list[Feedback]) -> list[float]:
    best, out = -math.inf, []
    for fb in feedbacks:
        if fb.ok and fb.fitness is not None:
            best = max(best, fb.fitness)
        out.append(best if best > -math.inf else math.nan)
    return out


def search_options(strategy: str) -> tuple[str, dict[str, Any]]:
    """The search strategy and extra `SearchConfig` options of a comparison row's name."""
    return ABLATIONS.get(strategy, (strategy, {}))


def check_same_task(folder: Path, evaluator: Evaluator) -> None:
    """Refuse to resume a run made for another task or fidelity (its scores would mix with these)."""
    try:
        data = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        recorded = data.get("config", data).get("task")
    except (OSError, ValueError, AttributeError):
        return  # resume() itself reports a damaged run folder
    if recorded is not None and recorded != evaluator.describe():
        raise ConfigError(
            f"--resume: {folder} was searched on another task or fidelity than these settings give "
            f"(recorded: {str(recorded)[-160:]!r}; now: {evaluator.describe()[-160:]!r}). Use the "
            "settings it was made with (e.g. --cheap-fidelity imitation for runs made before ppo-short "
            "was the default), another --out, or leave out --resume to start afresh")


def run_one(cfg: CompareConfig, strategy: str, seed: int, evaluator: Evaluator, folder: Path) -> RunRow:
    """One search run of the comparison."""
    from evo_lacer.api import resume, search

    row = RunRow(strategy, seed)
    base, options = search_options(strategy)
    if cfg.resume and (folder / "run.json").exists():
        check_same_task(folder, evaluator)
        result = resume(folder, evaluator=evaluator, llm=cfg.llm, workers=cfg.workers)
    else:
        if folder.exists():
            shutil.rmtree(folder)  # a search needs a new run folder
        result = search(evaluator=evaluator, budget=cfg.budget, strategy=base, llm=cfg.llm, seed=seed,
                        workers=cfg.workers, run_dir=folder, llm_timeout_s=cfg.llm_timeout_s,
                        max_latency_ms=cfg.max_latency_ms, space=cfg.flat_space, **options)
    row.wall_s = float(result.accounting.get("wall_s") or 0.0)  # summed over sessions of a resumed run
    evaluated = [c.feedback for c in result.history if c.evaluated]
    acc = result.accounting
    row.env_steps = float(acc.get("env_steps") or sum(fb.cost.env_steps for fb in evaluated))
    # a supernet's training counts as candidates: the derived architectures come after those
    oneshot = acc.get(base)
    ahead = int(oneshot.get("candidate_equivalents", 0)) if isinstance(oneshot, dict) else 0
    row.curve = [math.nan] * ahead + best_so_far(evaluated)
    if result.best_feedback is not None and result.best_feedback.fitness is not None:
        row.best = float(result.best_feedback.fitness)
        row.best_reward = float(result.best_feedback.metrics.get("reward", math.nan))
    llm = dict(result.accounting.get("llm") or {})
    row.llm = {k: float(llm.get(k, 0) or 0) for k in ("calls", "tokens", "seconds", "fallbacks")}
    if cfg.confirm_steps > 0 and result.best_tree is not None:
        fb = confirm_evaluator(cfg).evaluate(result.best_tree, seed)
        row.confirm = float(fb.fitness) if fb.ok and fb.fitness is not None else math.nan
    return row


def run_comparison(config: CompareConfig, log: Callable[[str], None] = print) -> CompareResult:
    """Run every (strategy, seed), then write the table, the plot and the raw numbers."""
    from evo_lacer.compare._report import write_outputs

    cfg = config.resolved()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    evaluator = task_evaluator(cfg)
    refs = references(cfg, evaluator, log)
    rows: list[RunRow] = []
    for strategy in cfg.strategies:
        for seed in range(cfg.seeds):
            folder = out / "runs" / f"{strategy}-s{seed}"
            row = run_one(cfg, strategy, seed, evaluator, folder)
            rows.append(row)
            log(f"{strategy} seed {seed}: best {row.best:.4g} in {row.wall_s:.1f}s")
    finals = [r.best for r in rows if math.isfinite(r.best)]
    threshold = cfg.threshold if cfg.threshold is not None else (
        float(np.median(finals)) if finals else math.inf)
    result = CompareResult(cfg, rows, refs, threshold)
    result.paths = write_outputs(result, out)
    return result


def result_to_json(result: CompareResult) -> dict[str, Any]:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return v

    return clean({
        "config": dataclasses.asdict(result.config), "threshold": result.threshold,
        "rows": [dataclasses.asdict(r) for r in result.rows],
        "references": [dataclasses.asdict(r) for r in result.references],
    })


def dump_json(result: CompareResult, path: Path) -> None:
    path.write_text(json.dumps(result_to_json(result), indent=2), encoding="utf-8")
