"""Whole designs from Optuna's TPE over the flat per-source space: the tpe strategy's sampler, and
the hybrid's ``design:tpe`` arm.

The study holds every flat configuration whose outcome is known: the ones it proposed (told by
trial number) and, for the hybrid, the designs others made (its diverse start, the LLM's whole
designs), added as finished trials. A failed or rejected design is told the worst value seen so far
minus the range (or FAIL when nothing is known yet), so TPE learns to avoid it. The sampler is
re-seeded from the caller's rng before every ask, which makes a resumed study continue exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.search_space import IntersectionSearchSpace

from evo_lacer.engine._optuna_state import SharedSpaceTPE, add_trials, quiet_optuna, study_to_state
from evo_lacer.engine._whole_designer import FlatSpaceLike


class _Replay:
    """Stands in for an Optuna trial: answers `space.suggest` from a known configuration and
    records each parameter's name, value and choices."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, CategoricalDistribution] = {}

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        entry = max((e for e in self.config if name.startswith(f"{e}.")), key=len)
        value = self.config[entry][name.rsplit(".", 1)[-1]]
        self.params[name] = value
        self.distributions[name] = CategoricalDistribution(list(choices))
        return value


class TPEDesigner:
    """An Optuna TPE study over a flat space (see module docstring)."""

    def __init__(self, space: FlatSpaceLike, *, n_startup_trials: int = 10) -> None:
        self.space = space
        self.n_startup_trials = n_startup_trials
        self.study = self._new_study()
        self.pending: list[int] = []
        """Trials asked and not yet told."""

    def _new_study(self) -> optuna.Study:
        self.space_cache = IntersectionSearchSpace(include_pruned=True)
        with quiet_optuna():
            return optuna.create_study(direction="maximize")

    def ask(self, rng: np.random.Generator) -> tuple[dict[str, Any], int]:
        """A configuration and its trial number (tell its outcome with `tell`)."""
        with quiet_optuna():
            self.study.sampler = SharedSpaceTPE(self.space_cache, seed=int(rng.integers(0, 2**31 - 1)),
                                                n_startup_trials=self.n_startup_trials)
            trial = self.study.ask()
            self.pending.append(trial.number)
            config = self.space.suggest(trial)
        return dict(config), trial.number

    def _failed_value(self) -> float | None:
        values = [t.value for t in self.study.get_trials(deepcopy=False) if t.value is not None]
        if not values:
            return None
        lo, hi = min(values), max(values)
        return lo - max(hi - lo, 1e-6)

    def tell(self, outcomes: Sequence[tuple[int, float | None]]) -> None:
        """Outcomes of asked trials: (trial number, fitness or None when it failed or was rejected);
        a failure is told the worst value known before these outcomes, minus the range."""
        failed = self._failed_value()
        with quiet_optuna():
            for trial, fitness in outcomes:
                if fitness is not None:
                    self.study.tell(trial, float(fitness))
                elif failed is not None:
                    self.study.tell(trial, failed)
                else:
                    self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        told = {t for t, _ in outcomes}
        self.pending = [t for t in self.pending if t not in told]

    def discard(self, trials: Sequence[int]) -> None:
        """Asked trials that will not be evaluated (a screen chose another design): told FAIL, which
        TPE's model leaves out, so they count neither for nor against their region."""
        with quiet_optuna():
            for trial in trials:
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        gone = set(trials)
        self.pending = [t for t in self.pending if t not in gone]

    def add(self, config: Mapping[str, Any], fitness: float | None) -> None:
        """A design made elsewhere, with its outcome (None: it failed or was rejected)."""
        replay = _Replay(config)
        try:
            self.space.suggest(replay)
        except (KeyError, TypeError, ValueError):  # max() of no entry is a ValueError
            return  # not a configuration of this space: nothing to learn from
        value = float(fitness) if fitness is not None else self._failed_value()
        if value is None:
            return
        with quiet_optuna():
            self.study.add_trial(optuna.trial.create_trial(
                params=replay.params, distributions=replay.distributions, value=value))  # type: ignore[arg-type]

    def state_dict(self) -> dict[str, Any]:
        return {"study": study_to_state(self.study), "pending_trials": list(self.pending)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.study = self._new_study()
        if state.get("study") is not None:
            add_trials(self.study, state["study"])
        self.pending = [int(t) for t in state.get("pending_trials", [])]
