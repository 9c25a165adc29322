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

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, distribution_to_json, json_to_distribution
from optuna.samplers._tpe.sampler import _split_trials, default_gamma, default_gamma_multiobjective
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState, create_trial


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence Optuna's per-trial INFO logs and experimental warnings for one call."""
    logger = logging.getLogger("optuna")
    level = logger.level
    quiet = level >= logging.WARNING  # already (an enclosing call): setLevel clears every logger's cache
    if not quiet:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if not quiet:
            logger.setLevel(level)


class _Prefix:
    """A study's longest run of finished trials from the first, converted: their records, and the
    shared distributions after them (a finished trial never changes, and trials only append, so a
    study checkpointed after every candidate converts each finished trial once)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.shared: dict[str, str] = {}


_PREFIX: weakref.WeakKeyDictionary[optuna.Study, _Prefix] = weakref.WeakKeyDictionary()


def _convert(trial: FrozenTrial, shared: dict[str, str]) -> dict[str, Any]:
    if trial.state is TrialState.FAIL:  # no sampler reads a failed trial: its number is all it keeps
        return {"state": "FAIL", "params": {}, "value": None}
    own = {}
    for name, dist in trial.distributions.items():
        text = distribution_to_json(dist)
        if shared.setdefault(name, text) != text:
            own[name] = text
    record: dict[str, Any] = {"state": trial.state.name, "params": dict(trial.params), "value": trial.value}
    if own:
        record["distributions"] = own
    return record


_BELOW: weakref.WeakKeyDictionary[optuna.Study, tuple[tuple[int, ...], dict[Any, Any]]] = (
    weakref.WeakKeyDictionary())
"""Per study, the good trials of its latest split and the Parzen estimators built on them, by search space."""

_SPLIT_ONCE = optuna.__version__.split(".")[0] == "5"
"""Whether `SharedSpaceTPE._sample` may split the trials once per ask: its body restates Optuna 5's
`TPESampler._sample`; other versions use their own (a test compares every ask with a plain sampler)."""


class SharedSpaceTPE(optuna.samplers.TPESampler):
    """Multivariate TPE (with the constant liar) built afresh for every ask, seeded from the
    search's rng, that reads the study's intersection search space from `space`, one instance kept
    across asks and updated incrementally -- what a sampler kept for the whole study computes,
    without recomputing it over every trial at each ask (most of an ask's time at a hundred trials).
    A new study needs a new `space` (`IntersectionSearchSpace(include_pruned=True)`, as TPE's own).

    It also splits the trials into good and bad once per ask rather than once per parameter (the
    split depends on the trials only; a conditional space samples most parameters one by one), and
    reads each trial's parameters once per ask (a running trial's are the constant liar's JSON)."""

    def __init__(self, space: IntersectionSearchSpace, *, seed: int, n_startup_trials: int) -> None:
        # warn_independent_sampling only logs (quiet_optuna hides it); off, it skips a pass over the trials
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, multivariate=True, constant_liar=True,
                         warn_independent_sampling=False)
        self.space = space
        self._split: tuple[int, list[FrozenTrial], list[FrozenTrial]] | None = None
        self._params: dict[int, list[dict[str, Any]]] = {}  # id of the split's list -> its trials' params
        self._finished: tuple[int, int] | None = None  # (trial number, complete and pruned trials)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial
                                    ) -> dict[str, BaseDistribution]:
        return {name: dist for name, dist in self.space.calculate(study, use_cache=True).items()
                if not dist.single()}

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        """TPESampler's, counting the finished trials once per ask rather than once per parameter."""
        if not _SPLIT_ONCE:
            return super().sample_independent(study, trial, param_name, param_distribution)
        if self._finished is None or self._finished[0] != trial.number:
            states = (TrialState.COMPLETE, TrialState.PRUNED)
            finished = study._get_trials(deepcopy=False, states=states, use_cache=True)
            self._finished = (trial.number, len(finished))
        if self._finished[1] < self._n_startup_trials:
            return self._random_sampler.sample_independent(study, trial, param_name, param_distribution)
        return self._sample(study, trial, {param_name: param_distribution})[param_name]

    def _build_parzen_estimator(self, study: optuna.Study, search_space: dict[str, BaseDistribution],
                                trials: list[FrozenTrial], handle_below: bool) -> Any:
        """TPESampler's; the good trials' estimator is kept for the study's next asks while the split
        leaves them unchanged (finished trials never change; the constant liar's running trials
        all go to the bad side), as every SharedSpaceTPE is built with the same estimator settings."""
        if not (_SPLIT_ONCE and handle_below and self._split is not None and trials is self._split[1]
                and not study._is_multi_objective()):
            return super()._build_parzen_estimator(study, search_space, trials, handle_below)
        below = tuple(t.number for t in trials)
        cache = _BELOW.get(study)
        if cache is None or cache[0] != below:
            cache = (below, {})
            _BELOW[study] = cache
        key = tuple(search_space.items())
        mpe = cache[1].get(key)
        if mpe is None:
            mpe = cache[1][key] = super()._build_parzen_estimator(study, search_space, trials, handle_below)
        return mpe

    def _get_internal_repr(self, trials: list[FrozenTrial], search_space: dict[str, BaseDistribution],
                           study: optuna.Study) -> dict[str, np.ndarray]:
        """TPESampler's, with the parameters of this ask's split read once (same values, same order)."""
        cached = self._params.get(id(trials))  # the split holds both lists: their ids stay theirs
        if cached is None:
            return super()._get_internal_repr(trials, search_space, study)  # type: ignore[no-any-return]
        values: dict[str, list[float]] = {name: [] for name in search_space}
        keys = search_space.keys()
        for params in cached:
            if keys <= params.keys():
                for name, dist in search_space.items():
                    values[name].append(dist.to_internal_repr(params[name]))
        return {k: np.asarray(v) for k, v in values.items()}

    def _sample(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
                ) -> dict[str, Any]:
        if not _SPLIT_ONCE:
            return super()._sample(study, trial, search_space)  # type: ignore[no-any-return]
        if self._split is None or self._split[0] != trial.number:
            states = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING]  # the constant liar's
            trials = [t for t in study._get_trials(deepcopy=False, states=states, use_cache=False)
                      if t.number != trial.number]
            if self._gamma is None:
                self._gamma = default_gamma if len(study.directions) <= 1 else default_gamma_multiobjective
            n = sum(t.state != TrialState.RUNNING for t in trials)  # running trials are not counted
            self._split = (trial.number, *_split_trials(study, trials, self._gamma(n)))
            self._params = {id(part): [self._get_params(t, study) for t in part] for part in self._split[1:]}
        _, below, above = self._split
        mpe_below = self._build_parzen_estimator(study, search_space, below, handle_below=True)
        mpe_above = self._build_parzen_estimator(study, search_space, above, handle_below=False)
        samples = mpe_below.sample(self._rng.rng, self._n_ei_candidates)
        ret = optuna.samplers.TPESampler._compare(
            samples, self._compute_acquisition_func(samples, mpe_below, mpe_above))
        return {name: dist.to_external_repr(ret[name]) for name, dist in search_space.items()}


def study_to_state(study: optuna.Study) -> dict[str, Any]:
    """The trials as JSON: each parameter's distribution is written once (a trial whose
    distribution of a parameter differs carries its own); a failed trial keeps only its place
    (TPE, the intersection search space and the constant liar read complete, pruned and running
    trials; the hybrid's screen fails every suggestion it does not choose). The records are shared
    with later calls: read them, do not change them."""
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
