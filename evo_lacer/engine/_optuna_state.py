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


class _Prefix:
    """A study's longest run of finished trials from the first, converted: their records, and the
    shared distributions after them (a finished trial never changes, and trials only append, so a
    study checkpointed after every candidate converts each finished trial once)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.shared: dict[str, str] = {}


_PREFIX: weakref.WeakKeyDictionary[optuna.Study, _Prefix] = weakref.WeakKeyDictionary()


def _convert(trial: optuna.trial.FrozenTrial, shared: dict[str, str]) -> dict[str, Any]:
    own = {}
    for name, dist in trial.distributions.items():
        text = distribution_to_json(dist)
        if shared.setdefault(name, text) != text:
            own[name] = text
    record: dict[str, Any] = {"state": trial.state.name, "params": dict(trial.params), "value": trial.value}
    if own:
        record["distributions"] = own
    return record


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
    distribution of a parameter differs carries its own). The records are shared with later calls:
    read them, do not change them."""
    trials = study.get_trials(deepcopy=False)
    prefix = _PREFIX.setdefault(study, _Prefix())
    while len(prefix.records) < len(trials) and trials[len(prefix.records)].state.is_finished():
        prefix.records.append(_convert(trials[len(prefix.records)], prefix.shared))
    shared = dict(prefix.shared)
    tail = [_convert(t, shared) for t in trials[len(prefix.records):]]
    return {"distributions": shared, "trials": [*prefix.records, *tail]}


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
