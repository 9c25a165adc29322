"""SearchConfig: every setting of a search, frozen and documented per field (the CLI is generated
from it). Objects that are not settings -- the evaluator, an LLM backend object, a catalog --
are passed to `search()` separately."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from evo_lacer.engine._config_checks import check_config
from evo_lacer.engine._registry import STRATEGY_REGISTRY, StrategyName, StrategySpec
from evo_lacer.errors import ConfigError

STRATEGIES: tuple[str, ...] = tuple(STRATEGY_REGISTRY)
TREE_STRATEGIES: tuple[str, ...] = tuple(n for n, s in STRATEGY_REGISTRY.items() if s.tree_based)
"""Strategies that evolve trees with transformations (population + planner + designer)."""
FLAT_STRATEGIES: tuple[str, ...] = tuple(n for n, s in STRATEGY_REGISTRY.items() if not s.tree_based)
"""Strategies that pick whole configurations of the flat per-source space."""
LLM_STRATEGIES: tuple[str, ...] = tuple(n for n, s in STRATEGY_REGISTRY.items() if s.uses_llm)
"""Strategies that use an LLM (with ``llm="none"`` they design at random)."""
RENAMED_FIELDS: dict[str, str] = {"llm_signals": "llm_channels"}
"""Old `SearchConfig` field name -> its new name. The old one is still read -- a run.json written
before the rename, a ``search()`` keyword, the command line's ``--llm-signals`` -- with a
`DeprecationWarning`."""


def renamed(settings: Mapping[str, Any], where: str) -> dict[str, Any]:
    """`settings` with old field names (`RENAMED_FIELDS`) under their new ones; both at once is a
    `ConfigError` naming `where`."""
    out = dict(settings)
    for old, new in RENAMED_FIELDS.items():
        if old in out:
            if new in out:
                raise ConfigError(f"{where}: {old!r} is the old name of {new!r}; give only {new!r}")
            warnings.warn(f"{where}: {old!r} is now called {new!r}", DeprecationWarning, stacklevel=3)
            out[new] = out.pop(old)
    return out


@dataclass(frozen=True)
class SearchConfig:
    """Settings of one search run (stored in the run directory; `resume` reads them back)."""

    strategy: StrategyName = "hybrid"
    """hybrid (DEAP + Optuna planner + LLM designer + reflection), evolution (DEAP + random planner
    + random designer), random (random configurations of the flat space), tpe (Optuna TPE over the
    flat space), lacer (LLM proposes flat configurations from reward, metric and feature feedback),
    genius (as lacer, fitness-only feedback), llmastool (transformations + Thompson planner + LLM), pepnas
    (NSGA-II over flat configurations on (fitness, -params), progressive training budgets, an archive
    merged back every few generations; generational loop only), darts (RL-DARTS: a supernet of mixed ops
    trained with PPO, the argmax architecture trained from scratch), enas (a controller samples children of a
    weight-shared supernet, trained by REINFORCE; the best sampled finalists trained from scratch); darts and
    enas need the RL evaluator (the `evo_lacer.evaluate.PPOTrainer` hook) and spend budget - 1 (darts) or
    budget - 2 (enas) candidates' PPO steps on the supernet."""
    budget: int = 32
    """Number of evaluations (gate rejections and repeated architectures cost none)."""
    seed: int = 0
    """Seed of every random choice of the search (and of each evaluation)."""
    population_size: int | None = None
    """Individuals kept by the DEAP population (tree strategies); None: scaled with the budget
    (see `scaled_sizes`)."""
    batch_size: int | None = None
    """Candidates proposed per generation and evaluated in parallel; lacer/genius: proposals per
    round; None: scaled with the budget and the workers (see `scaled_sizes`)."""
    initial_designs: int | None = None
    """Tree strategies: size of the diverse start -- a Latin-hypercube sample of the flat per-source
    space, evaluated before any edit (the user's seed trees and, for hybrid with an LLM,
    `llm_initial_designs` whole LLM designs come on top); None: scaled with the budget."""
    llm_initial_designs: int | None = None
    """hybrid with an LLM: whole designs the LLM proposes from the task description, evaluated
    after the Latin start without a screen (LACER's move; they count against the budget like any
    evaluation). None: 2 without a screen (``screen_variants=1``), 0 with one -- there the
    ``design:llm`` arm brings the LLM's whole designs to the screen from the first generation, and
    one is evaluated only when the screen picks it. A count given is honoured either way."""
    max_edits: int = 3
    """Tree strategies: most edits in one child (compound moves; the planner chooses 1..max_edits)."""
    arms: tuple[str, ...] = ()
    """hybrid: the arms its bandit chooses among -- edit:random, edit:llm, design:llm, design:tpe (the
    LLM arms need an LLM, the design arms a flat space); empty: edit:random, edit:llm and
    design:llm where usable (design:tpe, TPE whole designs of the flat space, is opt-in: ``--arms
    edit:random design:tpe``). With the screen an LLM arm's answer is screened beside random fills;
    ``--arms edit:llm --screen-variants 1`` reproduces a hybrid whose LLM fills every edit."""
    arm_cost_weight: float = 1.0
    """hybrid: how much an arm's proposal seconds count against it. The arm bandit scores each arm
    by its sampled rate of children that beat the population median, divided by
    1 + w * (arm's mean proposal seconds / mean evaluation seconds): with cheap evaluations a slow
    LLM must improve more often to be called. 0: time is ignored."""
    llm_trust: Literal["auto", "screen", "learned"] = "screen"
    """hybrid with an LLM and the screen: when the model's answer is evaluated. screen: only when the
    screen picks it among the random fills (a model at chance then changes no tree, but a model that
    knows better than the screen is never heard); learned: a slot may take the answer unscreened,
    by Thompson sampling between the rate at which the model's evaluated answers beat the
    population's median and the rate of the screen's picks (`AnswerTrust`); auto: learned when the
    search's LLM check (``llm_check_probes``) finds the model above chance, else screen (with the
    default 6 probes SmolLM2 passes on some seeds: 1 of 5 ring seeds). The check measures whether
    a model follows the evidence its prompt shows, not whether it knows the task: on the stand-in
    task auto became screen for the model that knows on all 20 runs (two variants, 10 seeds each),
    and learned for the one that misleads on 1 of 20 (``benchmarks/helpful_model.py --trusts
    auto``). Measured on a task whose
    answers a stand-in model knows, and with SmolLM2: see the README's "Would the hybrid use a
    model that helps?"; screen stays the default until learned is measured on both tasks."""
    screen_variants: int | None = None
    """hybrid: children drawn per random-filled edit, of which a Gaussian process over tree features
    (trained on every evaluated tree) picks the one with the highest expected improvement; only that
    one is evaluated. 1: no screen; None: 8 for hybrid, 1 for the other strategies."""
    screen_pool: Literal["plan", "parents"] = "plan"
    """hybrid: where the screened children come from. plan: all from the one parent and plan the
    planner chose; parents: each from its own tournament parent, the plan mapped to the closest move
    legal there (a wider pool for the model to choose from)."""
    screen_designs: int | None = None
    """hybrid: whole designs of the flat space added to each screened slot's children, so the
    screen's model weighs a global move against the local edits (0: edits only; None: 8 for hybrid,
    0 otherwise -- adopted on development seeds, see the README's "Does the hybrid beat its
    baselines?")."""
    screen_design_source: Literal["random", "tpe"] = "tpe"
    """hybrid with ``screen_designs``: where those whole designs come from. tpe: suggestions of a TPE
    study over the flat space that learns every flat design's outcome (the screen's unchosen
    suggestions are discarded, not scored; each costs one TPE ask, ~10-30 ms); random: uniform draws."""
    screen_design_reuse: int = 1
    """hybrid with TPE's ``screen_designs``: how many screens a suggestion stays in while unchosen (1:
    discarded after its first screen; k: kept for up to k screens, so a screen asks TPE only for the
    designs the last ones used up or retired -- fewer asks, each ~10-30 ms; k=4 found worse encoders
    on the development task, see the README's "Global designs in the screen")."""
    screen_kernel: Literal["rbf", "additive"] = "rbf"
    """hybrid: the screen's Gaussian-process kernel. rbf: one RBF on all tree features; additive: the
    mean of one RBF per part of the encoder (each source's branch, the fusion)."""
    screen_noise: Literal["fixed", "fitted"] = "fixed"
    """hybrid: the screen's noise model. fixed: a noise share of 0.1 and improvement over the best
    score so far; fitted: the noise share chosen by marginal likelihood and improvement over the
    model's best mean at an evaluated tree (for tasks whose scores move from seed to seed)."""
    elitism: int = 1
    """Best individuals that always survive (single objective)."""
    tournament_size: int = 3
    """Tournament size for parent and survivor selection (single objective)."""
    objectives: tuple[str, ...] = ("fitness",)
    """Maximized objectives: 'fitness' first, then e.g. '-params', '-latency_ms', a task metric name
    or '-metric'; more than one selects survivors with NSGA-II. Commas separate names too (on the
    command line: --objectives=fitness,-params)."""
    llm: str = "auto"
    """LLM backend: auto | none | embedded | embedded:PATH | ollama:MODEL[@http://host:port]; none
    makes LLM strategies design at random (offline, deterministic)."""
    workers: int = 1
    """Parallel evaluations."""
    loop: Literal["auto", "generational", "steady"] = "auto"
    """How candidates flow. steady (asynchronous, steady-state): as soon as a worker is free the
    next candidate is proposed from the population as it stands and sent; each outcome is observed
    as it arrives (planner, screen and arm updates per candidate; survivors per `steady_survival`;
    LLM reflection every `batch_size` candidates), so LLM calls and planner updates run while other
    candidates evaluate. generational: a batch of `batch_size` is proposed, evaluated, then observed
    together (every worker waits for the batch's slowest candidate and for the LLM's proposals).
    auto (the default; see `resolve_loop`): steady wherever evaluations run beside the search --
    a process pool or a Dask cluster: RL evaluation, several workers, a time limit -- and
    generational where they run in the search's own process (one worker, a cheap fitness
    function), where nothing can overlap and the steady loop buys no time; pepnas, darts and enas
    always run generationally. A resumed run keeps the loop it started with. With one worker and
    llm='none' a steady run is deterministic; with several, the order outcomes arrived in is
    checkpointed and a resumed run (kill -9 included) continues from it with no evaluation lost or
    repeated. The run summary's "generations" then counts observed outcomes. Why auto is not steady
    everywhere: with one in-process worker the hybrid found slightly worse encoders on multisource
    with the steady loop (paired against generational at budget 48, seeds 5-14: -0.031
    [-0.062, -0.002] own best; fresh seeds 15-24 side by side: -0.006 [-0.020, +0.010]) and
    matched it on devtask (+0.002 [-0.012, +0.014], 20 seeds); with two workers it was not worse
    (multisource 15-24: +0.016 [-0.000, +0.033])."""
    steady_survival: Literal["each", "generation"] = "generation"
    """Tree strategies in the steady loop: when survivors are selected. generation: once
    `generation_size` children were observed since the last selection, as the generational loop
    does (parents come from the population of the last selection; the planner, the screen's model
    and the arms still learn from every outcome as it arrives); each: after every observed candidate
    (measured slightly worse for the hybrid: -0.005 [-0.020, +0.011])."""
    executor: Literal["auto", "inprocess", "process", "dask"] = "auto"
    """Where evaluations run; auto: a killable process pool for RL evaluation, several workers or a
    time limit, else in this process (cheap custom fitness functions); with `dask_address`: dask."""
    dask_address: str | None = None
    """executor dask: scheduler address of a running Dask cluster (e.g. tcp://host:8786) whose workers
    run the evaluations (`workers` then only sizes the generations, `worker_memory_mb` is the
    cluster's business); None: a local cluster of `workers` processes."""
    fidelity: Literal["full", "cheap", "halving"] = "full"
    """With env=: full (PPO per candidate), cheap (the `cheap_fidelity` per candidate) or halving
    (search on cheap, then promote the best `promote` fraction to full PPO; the result's best is
    the best full evaluation)."""
    cheap_fidelity: Literal["ppo-short", "imitation"] = "ppo-short"
    """What fidelity cheap/halving measures: ppo-short (PPO for `short_fraction` of the full steps,
    one seed; it needs no expert, and on BabyAI-GoToRedBallNoDists it ranked 27 encoders as the
    mean of several full PPO runs does at rho +0.71 [+0.49, +0.84]) or imitation (behaviour
    cloning of the env's scripted expert, ~10x cheaper there but rho +0.25 [-0.21, +0.64];
    `docs/fidelity.md`)."""
    short_fraction: float = 0.25
    """ppo-short: the fraction of the full PPO steps it trains (1/8 learned nothing on BabyAI)."""
    promote: float = 0.25
    """halving: fraction of the distinct cheap-evaluated architectures re-evaluated with PPO."""
    eval_timeout_s: float | None = None
    """Time limit of one evaluation in seconds (None: none); over it the candidate is TIMED_OUT."""
    max_params: int | None = None
    """Gate: reject encoders with more trainable parameters than this."""
    max_latency_ms: float | None = None
    """Gate: reject encoders whose forward pass takes longer than this (milliseconds)."""
    gate_threads: int = 1
    """Torch threads of the gate's dummy forward passes in the search process (restored after)."""
    seed_tree: str | None = None
    """Tree JSON file evaluated in the first generation of tree strategies, beside their diverse
    sample of the flat space (e.g. trees/ring_lacer_expert.json); default: the sample alone."""
    space: str | None = None
    """Flat search-space JSON file (flat strategies); default: the per-source space for the sources."""
    planner_sampler: Literal["tpe", "gp"] = "tpe"
    """Optuna sampler of the hybrid planner."""
    novelty_weight: float = 0.3
    """Weight w of the novelty bonus in the planner's score (improvement + w * novelty)."""
    feature_weight: float = 0.3
    """Weight of the feature signal in the hybrid planner's score: the child's probe quality (mean
    probe R² of its fused features) minus its parent's; 0 ignores it (feedback without probes adds 0)."""
    n_startup_trials: int = 10
    """Random trials before the Optuna samplers model the outcomes."""
    epsilon: float = 0.1
    """Exploration rate of the Thompson planner (llmastool)."""
    reflection: bool = True
    """Let the LLM reflect on each generation's feedback and keep insights for later prompts."""
    insight_memory: int = 8
    """Reflection insights kept (the oldest are dropped)."""
    history_in_prompt: int = 6
    """Recent candidates shown in each design prompt."""
    max_sites: int = 12
    """Most candidate sites offered to the LLM designer in one question."""
    initial_evaluations: int = 2
    """lacer/genius: random configurations evaluated on a round of their own before the LLM's first
    design, so its first prompt holds feedback (LACER's initial evaluation; 0: the LLM starts blind)."""
    llm_channels: tuple[str, ...] = ("reward", "metrics", "features")
    """Feedback the LLM's prompts show: reward (the fitness and episodic-reward metrics), metrics (the
    other task metrics), features (feature statistics). Selection always uses the fitness; genius
    shows only the reward whatever this says. LACER's ablations drop features, then reward."""
    llm_temperature: float = 0.2
    """Sampling temperature of LLM requests."""
    llm_timeout_s: float = 60.0
    """Time limit of one LLM request in seconds; past it the choice falls back to random."""
    llm_max_tokens: int = 96
    """Most tokens of one design answer."""
    llm_check_probes: int = 6
    """LLM strategies with a model: decision probes with known answers asked before the search starts
    (`evo-lacer llm-check`); the result goes to ``artifacts/llm_check.json`` and the report, and a model
    at chance gets a warning. 0: no check."""
    max_proposals_factor: int = 20
    """Stop early after budget * this many proposals (guards against a space with no new trees)."""
    worker_memory_mb: int | None = None
    """Memory (MB, beyond its imports) one evaluation worker process may allocate; over it the
    evaluation is FAILED, the machine lives on. None: 80% of this machine's memory shared among the
    workers; 0: no limit. Worker processes only (the in-process executor shares the search's memory)."""

    def __post_init__(self) -> None:
        for name, value in check_config(self).items():
            object.__setattr__(self, name, value)

    @property
    def population(self) -> int:
        """`population_size`, or the budget-scaled default."""
        return self.population_size or scaled_sizes(self.budget, self.workers)[0]

    @property
    def generation_size(self) -> int:
        """`batch_size`, or the budget-scaled default."""
        return self.batch_size or scaled_sizes(self.budget, self.workers)[1]

    @property
    def initial_count(self) -> int:
        """`initial_designs`, or the budget-scaled default."""
        if self.initial_designs is not None:
            return self.initial_designs
        return scaled_sizes(self.budget, self.workers)[2]

    @property
    def llm_initial_count(self) -> int:
        """`llm_initial_designs`, or its default: 2 without a screen, 0 with one (see the field)."""
        if self.llm_initial_designs is not None:
            return self.llm_initial_designs
        return 2 if self.screen_count <= 1 else 0

    @property
    def screen_count(self) -> int:
        """`screen_variants`, or its default: 8 for hybrid, 1 (no screen) otherwise."""
        if self.screen_variants is not None:
            return self.screen_variants
        return self.spec.screen_variants

    @property
    def screen_design_count(self) -> int:
        """`screen_designs`, or its default: 8 for hybrid, 0 otherwise."""
        if self.screen_designs is not None:
            return self.screen_designs
        return self.spec.screen_designs

    @property
    def spec(self) -> StrategySpec:
        """What `strategy` means: how it is built, what it uses (see `STRATEGY_REGISTRY`)."""
        return STRATEGY_REGISTRY[self.strategy]

    @property
    def tree_based(self) -> bool:
        return self.spec.tree_based

    @property
    def uses_llm(self) -> bool:
        return self.spec.uses_llm

    @property
    def loop_kind(self) -> Literal["generational", "steady"]:
        """The loop this search runs: `loop`, with ``auto`` resolved as for evaluations beside the
        search (steady, unless the strategy runs only generationally); a session resolves ``auto``
        with `resolve_loop` first, which knows where evaluations run."""
        return self.resolve_loop("process")

    def resolve_loop(self, executor: str, started: str | None = None) -> Literal["generational", "steady"]:
        """`loop` with ``auto`` resolved for a search whose evaluations run on `executor` (the
        executor kind after its own ``auto``: inprocess, process or dask), or, for a resumed run,
        as it `started` (the loop its checkpoint was written by)."""
        if self.loop != "auto":
            return self.loop
        if not STRATEGY_REGISTRY[self.strategy].steady:
            return "generational"
        if started is not None:
            return "steady" if started == "steady" else "generational"
        return "generational" if executor == "inprocess" else "steady"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["objectives"] = list(self.objectives)
        out["llm_channels"] = list(self.llm_channels)
        out["arms"] = list(self.arms)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchConfig:
        data = renamed(data, "SearchConfig.from_dict")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown SearchConfig fields {unknown}; known: {sorted(names)}")
        kwargs = dict(data)
        # runs stored before these fields existed used the generational loop, and (steady) each-survival
        kwargs.setdefault("loop", "generational")
        kwargs.setdefault("steady_survival", "each")
        for name in ("objectives", "llm_channels", "arms"):
            if name in kwargs:
                kwargs[name] = tuple(kwargs[name])
        return cls(**kwargs)


def scaled_sizes(budget: int, workers: int = 1) -> tuple[int, int, int]:
    """(population, generation size, initial designs) for a budget, so that ``--budget 12`` and
    ``--budget 200`` both behave:

    - initial designs = budget / 4, within [2, 24] (budget 6: 2, 12: 3, 24: 6, 48: 12, 200: 24);
    - population = the initial designs, within [4, 16];
    - generation = budget / 8, within [2, 8], and never fewer than the workers (12: 2, 24: 3,
      48: 6, 200: 8), so selection reacts often at small budgets and workers stay busy.
    """
    initial = min(24, max(2, round(budget / 4)))
    population = min(16, max(4, initial))
    generation = max(workers, min(8, max(2, budget // 8)))
    return population, generation, initial
