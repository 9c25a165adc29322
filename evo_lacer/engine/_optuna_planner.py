"""The diversity-guided Bayesian planner: an Optuna study over (transformation, site class,
prompt category, number of edits), each outcome scored as improvement over the parent + w * novelty
+ w_f * the gain in probe quality over the parent (LACER's feature signal, when the feedback has
probes).

Legality: the study samples from a *fixed* vocabulary (every transformation, every class of
`SITE_CLASSES`, every prompt category), so its distributions never change. A sampled pair that
is illegal for the parent is mapped to the *closest legal* pair -- same transformation first,
then the class agreeing on the most of role > source kind > depth (ties: the planner's rng).
The trial is told the score of the move actually made; the sampled and the mapped move are both
recorded in `Plan.info`. No trial is wasted on an illegal proposal, and no parent-dependent
penalty enters the model.

The study lives in memory; its trials round-trip through `state_dict` (JSON), and a fresh
seeded sampler is built for every ask, so a resumed planner continues exactly.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any, Literal

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.search_space import IntersectionSearchSpace

from evo_lacer.engine._optuna_state import SharedSpaceTPE, add_trials, quiet_optuna, study_to_state
from evo_lacer.engine._planner import Planner, pick
from evo_lacer.engine._records import PROMPT_CATEGORIES, Outcome, Plan
from evo_lacer.errors import ConfigError
from evo_lacer.transform import SITE_CLASSES

DEFAULT_TRANSFORMATIONS: tuple[str, ...] = (
    "change_parameter", "swap_module", "insert_module", "delete_module",
    "create_composite", "repeat_previous", "change_fusion", "crossover", "redraw_branch",
)
FAILED_SCORE = -1.0
"""Score of a plan whose child failed, timed out or was rejected by the gate."""


def _parts(site_class: str) -> tuple[str, str, str]:
    kind, depth, role = site_class.split("/")
    return kind, depth, role


def closest_legal(
    transformation: str, site_class: str, legal: Mapping[str, tuple[str, ...]], rng: Any
) -> tuple[str, str]:
    """The legal (transformation, site class) nearest to the sampled one (see module doc)."""
    kind, depth, role = _parts(site_class)

    def score(t: str, c: str) -> int:
        k, d, r = _parts(c)
        return 8 * (t == transformation) + 4 * (r == role) + 2 * (k == kind) + (d == depth)

    pairs = sorted((t, c) for t, classes in legal.items() for c in classes)
    best = max(score(t, c) for t, c in pairs)
    return tuple(pick(rng, [p for p in pairs if score(*p) == best]))  # type: ignore[return-value]


class OptunaPlanner(Planner):
    """Bayesian (TPE or GP) planner with a novelty bonus (see module docstring)."""

    name = "optuna"

    def __init__(
        self, seed: int = 0, *, sampler: Literal["tpe", "gp"] = "tpe", novelty_weight: float = 0.3,
        feature_weight: float = 0.3, n_startup_trials: int = 10,
        transformations: tuple[str, ...] = DEFAULT_TRANSFORMATIONS,
        site_classes: tuple[str, ...] = SITE_CLASSES, categories: tuple[str, ...] = PROMPT_CATEGORIES,
        max_edits: int = 1,
    ) -> None:
        super().__init__(seed)
        if sampler not in ("tpe", "gp"):
            raise ConfigError(f"OptunaPlanner sampler must be 'tpe' or 'gp', got {sampler!r}")
        if sampler == "gp" and importlib.util.find_spec("scipy") is None:
            raise ConfigError("OptunaPlanner(sampler='gp') needs scipy (Optuna's GP sampler uses it); "
                              "install it with: pip install scipy -- or use sampler='tpe'")
        for name, weight in (("novelty_weight", novelty_weight), ("feature_weight", feature_weight)):
            if weight < 0:
                raise ConfigError(f"{name} must be >= 0, got {weight}")
        self.sampler = sampler
        self.novelty_weight = novelty_weight
        self.feature_weight = feature_weight
        self.n_startup_trials = n_startup_trials
        self.distributions = {
            "transformation": CategoricalDistribution(list(transformations)),
            "site_class": CategoricalDistribution(list(site_classes)),
            "prompt_category": CategoricalDistribution(list(categories)),
        }
        if max_edits > 1:  # compound moves: the study learns how many edits a child should get
            self.distributions["edits"] = CategoricalDistribution(list(range(1, max_edits + 1)))
        self.study = self._new_study()

    def _new_study(self) -> optuna.Study:
        self.space_cache = IntersectionSearchSpace(include_pruned=True)
        with quiet_optuna():
            return optuna.create_study(direction="maximize", sampler=self._sampler(self.seed))

    def _sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        with quiet_optuna():
            if self.sampler == "gp":
                return optuna.samplers.GPSampler(seed=seed, n_startup_trials=self.n_startup_trials)
            return SharedSpaceTPE(self.space_cache, seed=seed, n_startup_trials=self.n_startup_trials)

    def score(self, outcome: Outcome) -> float:
        """What the study maximizes: improvement + w * novelty + w_f * feature gain (the probe
        quality gained over the parent, when the feedback has probes); failures score `FAILED_SCORE`."""
        if outcome.status in ("failed", "timed_out", "rejected"):
            return FAILED_SCORE
        return ((outcome.improvement or 0.0) + self.novelty_weight * outcome.novelty
                + self.feature_weight * (outcome.feature_gain or 0.0))

    def _ask(self, legal: list[dict[str, tuple[str, ...]]]) -> list[Plan]:
        plans = []
        vocab = self.distributions["transformation"].choices
        for moves in legal:
            unknown = sorted(set(moves) - set(vocab))
            if unknown:
                raise ConfigError(f"OptunaPlanner: transformations {unknown} are not in its vocabulary "
                                  f"{list(vocab)}; pass them as `transformations=`")
            with quiet_optuna():
                self.study.sampler = self._sampler(int(self.rng.integers(0, 2**31 - 1)))
                trial = self.study.ask(dict(self.distributions))
            sampled = (str(trial.params["transformation"]), str(trial.params["site_class"]))
            mapped = closest_legal(*sampled, moves, self.rng)
            plans.append(Plan(
                mapped[0], mapped[1], str(trial.params["prompt_category"]),
                info={"trial": trial.number, "sampled": list(sampled), "mapped": mapped != sampled},
                edits=int(trial.params.get("edits", 1)),
            ))
        return plans

    def _tell(self, plans: list[Plan], outcomes: list[Outcome]) -> None:
        with quiet_optuna():
            for plan, outcome in zip(plans, outcomes, strict=True):
                self.study.tell(int(plan.info["trial"]), self.score(outcome))

    def _state(self) -> dict[str, Any]:
        return {"sampler": self.sampler, "novelty_weight": self.novelty_weight,
                "feature_weight": self.feature_weight,
                "n_startup_trials": self.n_startup_trials,
                "vocabulary": {k: list(d.choices) for k, d in self.distributions.items()},
                "study": study_to_state(self.study)}

    def _load(self, state: Mapping[str, Any]) -> None:
        self.sampler = state["sampler"]
        self.novelty_weight = float(state["novelty_weight"])
        self.feature_weight = float(state.get("feature_weight", 0.0))  # runs older than the knob
        self.n_startup_trials = int(state["n_startup_trials"])
        self.distributions = {k: CategoricalDistribution(list(v)) for k, v in state["vocabulary"].items()}
        self.study = self._new_study()
        add_trials(self.study, state["study"])
