"""What darts and enas share: a supernet phase, then a few derived architectures evaluated like any
candidate (see ``docs/baselines.md``).

Budget: a run of budget N spends N candidates' worth. The supernet phase trains for ``(N - finals)``
candidates' steps (`candidate_equivalents`): PPO env steps with the RL evaluator (its `steps` each,
the `PPOTrainer` hook), behaviour-cloning gradient steps with the cheap fidelity (its `grad_steps`
each, the `CloneTrainer` hook: `evo_lacer.evaluate._clone_hook`); then
`finals` derived architectures are proposed as ordinary candidates (trees of the flat space), and
the strategy ends the search. The phase runs inside the first `propose`, so its result (JSON: arch
weights or controller probabilities, the derived configurations) is in the strategy state the
loop saves right after: a resume after a kill does not redo it. A kill during the phase saves
nothing, and the resumed run redoes it from the same seed (deterministic: seeded torch, single
thread).
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, cast

from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._pepnas_ops import EntrySpace
from evo_lacer.engine._records import Candidate
from evo_lacer.engine._strategy import Strategy
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate._clone_hook import CloneTrainer
from evo_lacer.evaluate._ppo_hook import PPOTrainer
from evo_lacer.zoo import Catalog

HOOK = "train_ppo(policy_kwargs, seed, steps, callback), make_env(), train_seed(seed), steps, eval_max_steps"
"""What `PPOTrainer` asks of an evaluator, as the refusal message names it."""
Trainer = PPOTrainer | CloneTrainer
"""The evaluator's supernet hook: PPO (the RL evaluator) or behaviour cloning (the cheap fidelity)."""

Finalist = tuple[dict[str, Any], dict[str, Any]]
"""A derived configuration and what its candidate's ``extra`` records."""


class OneShotStrategy(Strategy):
    """A supernet phase (`search_phase`), then its finalists as candidates (module docstring)."""

    def __init__(self, *, name: str, space: EntrySpace, trainer: Trainer, catalog: Catalog | None,
                 seed: int, budget: int, finals: int) -> None:
        self.name = name
        self.space = space
        self.trainer = trainer
        self.catalog = catalog
        self.seed = seed
        self.finals = finals
        self.equivalents = budget - finals
        """Candidate equivalents the supernet phase trains for."""
        self.result: dict[str, Any] | None = None
        """The supernet phase's result (JSON), once it ran."""
        self.queue: list[list[dict[str, Any]]] = []
        """Finalists not proposed yet: [config, extra]."""
        self.proposed = 0
        self.env_steps = 0
        """Env steps of the evaluations observed (training and scoring; cache answers cost none)."""

    @property
    def clones(self) -> bool:
        """The supernet is trained by behaviour cloning (the cheap fidelity), not PPO."""
        return not isinstance(self.trainer, PPOTrainer)

    @property
    def supernet_unit(self) -> str:
        """What the supernet's steps count (its result's ``supernet_unit``)."""
        return "grad_steps" if self.clones else "env_steps"

    @property
    def unit_steps(self) -> int:
        """One candidate's training steps: PPO env steps, or cloning gradient steps."""
        trainer = self.trainer
        return trainer.steps if isinstance(trainer, PPOTrainer) else trainer.grad_steps

    @abstractmethod
    def search_phase(self) -> tuple[dict[str, Any], list[Finalist]]:
        """Train the supernet for `equivalents` candidates' steps; (its JSON result, which must hold
        ``supernet_steps``; the finalists, best first)."""

    # --- the role --------------------------------------------------------------------------
    def propose(self, n: int, generation: int, first_id: int) -> list[Proposal]:
        phase_s = 0.0
        if self.result is None:
            start = time.perf_counter()
            self.result, finalists = self.search_phase()
            self.result["phase_s"] = phase_s = time.perf_counter() - start
            self.queue = [[dict(config), dict(extra)] for config, extra in finalists]
        out: list[Proposal] = []
        while self.queue and len(out) < n:
            config, extra = self.queue.pop(0)
            try:
                tree, error = self.space.to_tree(config), ""
            except Exception as exc:  # a space bug rejects the candidate, never stops the search
                tree, error = None, f"configuration could not be built: {type(exc).__name__}: {exc}"
            out.append(Proposal(tree=tree, transformation=self.name, choice=config, designer=self.name,
                                error=error, plan={"generation": generation, "finalist": self.proposed},
                                propose_s=phase_s if not out else 0.0, extra={self.name: extra}))
            self.proposed += 1
        return out

    def observe(self, candidates: Sequence[Candidate]) -> None:
        for c in candidates:
            if c.evaluated and not c.cached:
                self.env_steps += int(c.feedback.cost.env_steps)

    # --- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"strategy": self.name, "equivalents": self.equivalents, "result": self.result,
                "queue": [list(item) for item in self.queue], "proposed": self.proposed,
                "env_steps": self.env_steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        result = state["result"]
        self.result = None if result is None else dict(result)
        self.queue = [[dict(config), dict(extra)] for config, extra in state["queue"]]
        self.proposed = int(state["proposed"])
        self.env_steps = int(state["env_steps"])

    def accounting(self) -> dict[str, Any]:
        result = self.result or {}
        supernet = int(result.get("supernet_steps", 0)) + int(result.get("score_steps", 0))
        if result.get("supernet_unit") == "grad_steps":
            supernet = 0  # cloning steps: no env steps beyond the dataset every candidate shares
        return {"designer": self.name, "env_steps": self.env_steps + supernet,
                self.name: {"candidate_equivalents": self.equivalents, "finals": self.finals,
                            "supernet_steps": int(result.get("supernet_steps", 0)),
                            "score_steps": int(result.get("score_steps", 0)),
                            "phase_s": float(result.get("phase_s", 0.0)), "proposed": self.proposed}}


def one_shot_parts(name: str, config: Any, parts: Any, finals: int) -> tuple[EntrySpace, Trainer]:
    """The flat space and the evaluator's supernet hook for darts / enas; a `ConfigError` naming the
    problem and the fix before any budget is spent."""
    space = parts.space
    if space is None or not all(hasattr(space, a) for a in ("entries", "suggest_entry")):
        raise ConfigError(f"strategy {name!r} needs a flat space with entries() and suggest_entry()")
    if config.loop_kind != "generational":
        raise ConfigError(f"strategy {name!r} trains a supernet, then proposes its finalists; "
                          f"loop={config.loop!r} is not supported: "
                          "use loop='auto' (the default) or 'generational'")
    if config.budget < finals + 1:
        raise ConfigError(f"strategy {name!r} needs budget >= {finals + 1} (one candidate's worth of "
                          f"supernet training, {finals} final evaluation(s)); got budget={config.budget}")
    evaluator = parts.evaluator
    if isinstance(evaluator, CloneTrainer) and getattr(evaluator, "expert", "auto") is None:
        raise ConfigError(
            f"strategy {name!r} trains its supernet by cloning an expert at the cheap fidelity, but this "
            "imitation evaluator has expert=None (the probe fidelity, nothing to clone); pass an expert, "
            "use fidelity='full', or use --strategy pepnas or tpe instead")
    if not isinstance(evaluator, PPOTrainer | CloneTrainer):
        what = "no evaluator" if evaluator is None else type(evaluator).__name__
        raise ConfigError(
            f"strategy {name!r} trains a weight-sharing supernet, so it needs the RL evaluator "
            f"(search(env=...), --env, fidelity='full') or the imitation evaluator (the cheap fidelity), "
            f"or an evaluator exposing a supernet hook: {HOOK} (evo_lacer.evaluate.PPOTrainer) or "
            "train_clone(policy_kwargs, seed, steps, hook), grad_steps (evo_lacer.evaluate.CloneTrainer); "
            f"got {what}. With a fitness function use --strategy pepnas or tpe instead")
    return cast(EntrySpace, space), cast(Trainer, evaluator)
