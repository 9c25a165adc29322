"""Optuna studies as JSON: every trial's state, params, distributions and value, in order.

Searches keep their studies in memory and checkpoint them through these two functions (the run
store's state files), so a resumed search rebuilds the same study; the sampler is re-seeded from
the search's own rng before every ask, which makes the continuation exact.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, distribution_to_json, json_to_distribution
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import TrialState, create_trial


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence Optuna's per-trial INFO logs and experimental warnings for one call."""
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


_FINISHED: weakref.WeakKeyDictionary[optuna.Study, dict[int, dict[str, str]]] = weakref.WeakKeyDictionary()
"""Per study: the distributions of each finished trial as JSON (a finished trial never changes,
so a study checkpointed after every candidate serializes each trial's distributions once)."""


def _distribution_texts(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict[str, str]:
    cache = _FINISHED.setdefault(study, {}) if trial.state.is_finished() else None
    if cache is not None and trial.number in cache:
        return cache[trial.number]
    texts = {name: distribution_to_json(dist) for name, dist in trial.distributions.items()}
    if cache is not None:
        cache[trial.number] = texts
    return texts


class SharedSpaceTPE(optuna.samplers.TPESampler):
    """Multivariate TPE (with the constant liar) built afresh for every ask, seeded from the
    search's rng, that reads the study's intersection search space from `space`, one instance kept
    across asks and updated incrementally -- what a sampler kept for the whole study computes,
    without recomputing it over every trial at each ask (most of an ask's time at a hundred trials).
    A new study needs a new `space` (`IntersectionSearchSpace(include_pruned=True)`, as TPE's own)."""

    def __init__(self, space: IntersectionSearchSpace, *, seed: int, n_startup_trials: int) -> None:
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, multivariate=True, constant_liar=True)
        self.space = space

    def infer_relative_search_space(self, study: optuna.Study, trial: optuna.trial.FrozenTrial
                                    ) -> dict[str, BaseDistribution]:
        return {name: dist for name, dist in self.space.calculate(study, use_cache=True).items()
                if not dist.single()}


def study_to_state(study: optuna.Study) -> dict[str, Any]:
    """The trials as JSON: each parameter's distribution is written once (a trial whose
    distribution of a parameter differs carries its own)."""
    shared: dict[str, str] = {}
    trials = []
    for t in study.get_trials(deepcopy=False):
        own = {}
        for name, text in _distribution_texts(study, t).items():
            if shared.setdefault(name, text) != text:
                own[name] = text
        record: dict[str, Any] = {"state": t.state.name, "params": dict(t.params), "value": t.value}
        if own:
            record["distributions"] = own
        trials.append(record)
    return {"distributions": shared, "trials": trials}


def add_trials(study: optuna.Study, state: Mapping[str, Any]) -> None:
    """Re-create the trials of `study_to_state` in `study`, keeping their order and numbers."""
    shared = {name: json_to_distribution(text) for name, text in state["distributions"].items()}
    with quiet_optuna():
        for t in state["trials"]:
            trial_state = TrialState[t["state"]]
            own = {k: json_to_distribution(v) for k, v in t.get("distributions", {}).items()}
            dists = {k: own.get(k, shared.get(k)) for k in t["params"]}
            study.add_trial(create_trial(
                state=trial_state, params=dict(t["params"]), distributions=dists,  # type: ignore[arg-type]
                value=t["value"] if trial_state is TrialState.COMPLETE else None,
            ))
