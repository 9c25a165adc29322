"""Who makes the next child: a cost-aware Thompson sampler over the hybrid's arms.

Arms: ``edit:random`` (a planned edit filled at random), ``edit:llm`` (the same, filled by the
LLM), ``design:llm`` (the LLM proposes a whole design from the history, LACER's move) and, opt-in,
``design:tpe`` (Optuna's TPE proposes a whole design of the flat space from every flat design
evaluated so far: the tpe baseline as one arm). An arm *succeeds* when its child is evaluated and
beats the median fitness of the population it was made from, one yardstick for every arm. With the
hybrid's surrogate screen, an LLM arm's answer joins the screen beside the random fills (it never
displaces a screened child), and the arm succeeds only when the screen chose the LLM's own answer
(not a fallback) and that child beat the median: a model whose answers the screen passes over, or
that times out, is charged a failure. Each arm has a Beta(1 + successes, 1 + failures) posterior;
the arm chosen maximizes its sampled rate divided by 1 + w * (its mean proposal seconds beyond
``edit:random``'s / the mean evaluation seconds) for the LLM arms (the others' proposals take
milliseconds, and leaving their clock out keeps ``llm="none"`` deterministic; an LLM slot also
makes the screen's random fills, which ``edit:random`` pays for too, so only the model's own time
counts against it), so an LLM that is slow next to the evaluations must succeed more often to be
called, a model at chance ends up rarely called, and one that helps is called more. With one arm
nothing is drawn.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from evo_lacer.errors import ConfigError

EDIT_RANDOM, EDIT_LLM, DESIGN_LLM, DESIGN_TPE = "edit:random", "edit:llm", "design:llm", "design:tpe"
ARMS: tuple[str, ...] = (EDIT_RANDOM, EDIT_LLM, DESIGN_LLM, DESIGN_TPE)
DEFAULT_ARMS: tuple[str, ...] = (EDIT_RANDOM, EDIT_LLM, DESIGN_LLM)
"""The hybrid's arms unless `SearchConfig.arms` names others (``design:tpe`` is opt-in: on the
development seeds it did not help; see the README)."""
LLM_ARMS: tuple[str, ...] = (EDIT_LLM, DESIGN_LLM)
DESIGN_ARMS: tuple[str, ...] = (DESIGN_LLM, DESIGN_TPE)
"""Arms that make a whole design of the flat space (they need one)."""


@dataclass
class ArmStats:
    """Running figures of one arm (mutable; `to_dict` for the run summary and the report)."""

    chosen: int = 0
    """Children this arm made."""
    scored: int = 0
    """Of those, children whose outcome is known (evaluated, failed or rejected)."""
    improved: int = 0
    """Children that beat the population's median fitness (for an LLM arm with a screen: only those
    the LLM's own answer made)."""
    screen_won: int = 0
    """LLM arms with a screen: children whose LLM answer the screen chose over the random fills."""
    seconds: float = 0.0
    """Seconds spent proposing (planner, designer, LLM calls)."""

    @property
    def rate(self) -> float | None:
        return self.improved / self.scored if self.scored else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "improvement_rate": self.rate}


class ArmBandit:
    """Cost-aware Beta-Bernoulli Thompson sampling over arms (see module docstring)."""

    def __init__(self, arms: Sequence[str], *, seed: int, cost_weight: float = 1.0) -> None:
        unknown = [a for a in arms if a not in ARMS]
        if not arms or unknown:
            raise ConfigError(f"ArmBandit arms must be a non-empty subset of {ARMS}, got {list(arms)}")
        if cost_weight < 0:
            raise ConfigError(f"ArmBandit cost_weight must be >= 0, got {cost_weight}")
        self.arms = tuple(arms)
        self.cost_weight = cost_weight
        self.rng = np.random.default_rng([seed, 0xA125])
        self.stats = {a: ArmStats() for a in self.arms}
        self.eval_seconds = 0.0
        self.evaluations = 0

    def choose(self) -> str:
        if len(self.arms) == 1:
            return self.arms[0]
        mean_eval = self.eval_seconds / self.evaluations if self.evaluations else 0.0
        base = self.stats.get(EDIT_RANDOM)
        base_s = base.seconds / base.chosen if base is not None and base.chosen else 0.0
        best, best_score = self.arms[0], -1.0
        for arm in self.arms:
            st = self.stats[arm]
            draw = float(self.rng.beta(1 + st.improved, 1 + st.scored - st.improved))
            cost = 0.0
            if arm in LLM_ARMS and st.chosen and mean_eval > 0:  # the others take milliseconds
                cost = self.cost_weight * max(0.0, st.seconds / st.chosen - base_s) / mean_eval
            score = draw / (1.0 + cost)
            if score > best_score:
                best, best_score = arm, score
        return best

    def spent(self, arm: str, seconds: float) -> None:
        """A child made by `arm` after `seconds` of proposing."""
        st = self.stats[arm]
        st.chosen += 1
        st.seconds += max(0.0, seconds)

    def scored(self, arm: str, improved: bool, eval_seconds: float | None = None, *,
               won_screen: bool | None = None) -> None:
        """The outcome of one of `arm`'s children (``eval_seconds``: its evaluation, if it had one;
        ``won_screen``: for an LLM arm's screened child, whether the LLM's answer was chosen --
        when it was not, the child is not the arm's and counts as a failure)."""
        st = self.stats[arm]
        st.scored += 1
        st.improved += int(improved and won_screen is not False)
        st.screen_won += int(bool(won_screen))
        if eval_seconds is not None:
            self.eval_seconds += max(0.0, eval_seconds)
            self.evaluations += 1

    def to_dict(self) -> dict[str, Any]:
        return {a: s.to_dict() for a, s in self.stats.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"arms": list(self.arms), "rng": dict(self.rng.bit_generator.state),
                "stats": {a: asdict(s) for a, s in self.stats.items()},
                "eval_seconds": self.eval_seconds, "evaluations": self.evaluations}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the arms' statistics. A run resumed with other arms (another ``--llm``: a model's
        arms come and go with it) keeps the statistics of the arms both have, starts the new ones
        afresh, and says so: it is no longer the search its recorded settings make."""
        recorded = list(state.get("arms", []))
        if recorded != list(self.arms):
            warnings.warn(f"the run was recorded with arms {recorded}, resumed with {list(self.arms)} "
                          "(another --llm?): the arms both have keep what they learned, the others start "
                          "afresh, and the resumed search is not the one the recorded settings would make",
                          UserWarning, stacklevel=2)
        self.rng.bit_generator.state = dict(state["rng"])
        self.stats = {a: ArmStats(**state["stats"][a]) if a in state["stats"] else ArmStats()
                      for a in self.arms}
        self.eval_seconds = float(state["eval_seconds"])
        self.evaluations = int(state["evaluations"])
