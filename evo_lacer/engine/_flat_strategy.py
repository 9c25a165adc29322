"""Flat strategies (random, tpe, lacer, genius): whole configurations of the per-source space.

- random: ``space.sample(rng)``;
- tpe: an Optuna TPE study drives ``space.suggest(trial)``;
- lacer: the LLM proposes whole configurations (k per round: `batch_size` requests, each told
  what this round already proposed) from the history of designs with their reward, task metrics
  and feature statistics; genius: the same with fitness only.

LACER's initial evaluation: before the LLM's first design, `initial_evaluations` random
configurations (the random strategy's, candidate for candidate) are evaluated on their own round,
so the first prompt already holds feedback (in the steady-state loop, no LLM design is proposed
before every initial configuration was observed). `channels` names what the prompts show (the nested
ablation hides features, then the reward -- fitness included --, then skips the initial round).

The LLM's answer is held to the space's JSON schema (``space.json_schema()``) and validated by
``space.validate``; a failed or invalid answer is replaced by a random configuration (counted as
a fallback). With no LLM backend, lacer and genius propose random configurations.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._llm_client import ExchangeSink, LLMClient
from evo_lacer.engine._planner import rng_from_state, rng_state
from evo_lacer.engine._records import Candidate
from evo_lacer.engine._strategy import Strategy, candidate_rng
from evo_lacer.engine._tpe_designer import TPEDesigner
from evo_lacer.engine._whole_designer import FlatSpaceLike, WholeDesigner
from evo_lacer.evaluate import CHANNELS, Feedback, check_channels
from evo_lacer.llm import LLMBackend
from evo_lacer.tree import Node


class FirstChoiceTrial:
    """Stands in for an Optuna trial and always takes the first option (the space's minimal
    configuration when its choices are listed smallest first)."""

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return next(iter(choices))


def first_config(space: FlatSpaceLike) -> dict[str, Any]:
    return space.suggest(FirstChoiceTrial())


class FlatStrategy(Strategy):
    """random / tpe / lacer / genius over a flat space (see module docstring)."""

    def __init__(self, *, name: str, space: FlatSpaceLike, seed: int, task: str = "",
                 backend: LLMBackend | None = None, exchange_sink: ExchangeSink | None = None,
                 n_startup_trials: int = 10, history_shown: int = 6, temperature: float = 0.2,
                 timeout_s: float = 60.0, max_tokens: int = 320, initial_evaluations: int = 0,
                 channels: Sequence[str] | None = None, await_initial: bool = False) -> None:
        self.name = name
        self.await_initial = await_initial
        """Propose no LLM design before every initial configuration was observed (steady-state loop:
        observations come one at a time; the generational loop observes the initial round at once)."""
        self.initial_evaluations = initial_evaluations
        default = ("reward",) if name == "genius" else CHANNELS
        self.channels = check_channels(default if channels is None else channels,
                                       "FlatStrategy(channels=...)")
        self.initial_proposed = 0
        self.initial_observed = 0
        self.space = space
        self.seed = seed
        self.task = task
        self.n_startup_trials = n_startup_trials
        self.history_shown = history_shown
        self.max_tokens = max_tokens
        self.rng = np.random.default_rng([seed, 0xF1A7])
        self.client = None if backend is None else LLMClient(
            backend, exchange_sink=exchange_sink, temperature=temperature, timeout_s=timeout_s)
        self.designer = None if self.client is None else WholeDesigner(
            self.client, space, seed=seed, task=task, channels=self.channels, history_shown=history_shown,
            max_tokens=max_tokens)
        self.history: list[tuple[dict[str, Any], Feedback]] = []
        """Evaluated designs with their feedback, what the LLM designer is shown (kept only when there
        is one: the run's log holds every candidate, and a checkpoint need not repeat it)."""
        self.flying_configs: dict[int, dict[str, Any]] = {}
        """Configurations proposed and not yet observed (the steady loop's "this round")."""
        self.tpe = TPEDesigner(space, n_startup_trials=n_startup_trials) if name == "tpe" else None

    @property
    def llm_based(self) -> bool:
        return self.name in ("lacer", "genius")

    # --- propose -------------------------------------------------------------------------
    def propose(self, n: int, generation: int, first_id: int) -> list[Proposal]:
        out: list[Proposal] = []
        round_configs: list[dict[str, Any]] = list(self.flying_configs.values())
        initial = self.llm_based and self.initial_proposed < self.initial_evaluations
        if self.await_initial and self.llm_based and self.designer is not None and not initial \
                and self.initial_observed < self.initial_proposed:
            return []  # the first LLM prompt waits for the initial feedback
        if initial:  # LACER's initial evaluation: a round of its own, before any LLM design
            n = min(n, self.initial_evaluations - self.initial_proposed)
            self.initial_proposed += n
        for i in range(n):
            cid = first_id + i
            start = time.perf_counter()
            plan: dict[str, Any] = {}
            designer, fell_back = "random", False
            extra: dict[str, Any] = {}
            try:
                if self.tpe is not None:
                    config, trial = self.tpe.ask(self.rng)
                    plan, designer = {"trial": trial}, "tpe"
                elif self.llm_based and self.designer is not None and not initial:
                    config, fell_back, extra = self.designer.propose(cid, self.history, round_configs)
                    designer = "llm"
                else:
                    config = self.space.sample(candidate_rng(self.seed, cid))
                    designer = "initial" if initial else "random"
                round_configs.append(config)
                self.flying_configs[cid] = dict(config)
                tree: Node | None = self.space.to_tree(config)
                error = ""
            except Exception as exc:
                config = locals().get("config", {}) or {}
                tree, error = None, f"configuration could not be built: {type(exc).__name__}: {exc}"
            out.append(Proposal(tree=tree, transformation=self.name, choice=dict(config),
                                designer=designer, fell_back=fell_back, plan=plan, error=error,
                                propose_s=time.perf_counter() - start, extra=extra))
        return out

    # --- observe -------------------------------------------------------------------------
    def observe(self, candidates: Sequence[Candidate]) -> None:
        cands = sorted(candidates, key=lambda c: c.id)
        if self.tpe is not None:
            self.tpe.tell([(int(c.plan["trial"]), None if c.fitness is None else float(c.fitness))
                           for c in cands if c.plan.get("trial") is not None])
        for c in cands:
            self.flying_configs.pop(c.id, None)
            self.initial_observed += c.designer == "initial"
            if c.evaluated and self.designer is not None:
                self.history.append((dict(c.choice), c.feedback))

    # --- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.name, "rng": rng_state(self.rng),
            "history": [[cfg, fb.to_dict()] for cfg, fb in self.history],
            **({"study": None, "pending_trials": []} if self.tpe is None else self.tpe.state_dict()),
            "flying_configs": [[k, v] for k, v in self.flying_configs.items()],
            "counters": {**(self.designer.counters() if self.designer is not None else {}),
                         "initial_proposed": self.initial_proposed,
                         "initial_observed": self.initial_observed},
            "llm": None if self.client is None else self.client.accounting.to_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        from evo_lacer.engine._accounting import LLMAccounting

        self.rng = rng_from_state(state["rng"])
        self.history = [(dict(cfg), Feedback.from_dict(fb)) for cfg, fb in state["history"]]
        if self.tpe is not None:
            self.tpe.load_state_dict(state)
        self.flying_configs = {int(k): dict(v) for k, v in state.get("flying_configs", [])}
        counters = state.get("counters", {})
        if self.designer is not None:
            self.designer.load_counters(counters)
        self.initial_proposed = int(counters.get("initial_proposed", 0))
        self.initial_observed = int(counters.get("initial_observed", self.initial_proposed))
        if self.client is not None and state.get("llm"):
            self.client.accounting = LLMAccounting.from_dict(state["llm"])

    def accounting(self) -> dict[str, Any]:
        out: dict[str, Any] = {"designer": "llm" if self.client is not None else
                               ("tpe" if self.name == "tpe" else "random")}
        if self.client is not None and self.designer is not None:
            llm = self.client.accounting
            d = self.designer
            llm.decisions, llm.fallbacks, llm.differs_from_random, llm.repeats = (
                d.decisions, d.fallbacks, d.differs, d.repeats)
            out["llm"] = llm.to_dict()
        return out
