"""Optuna studies as JSON: every trial's state, params, distributions and value, in order.

Searches keep their studies in memory and checkpoint them through these two functions (the run
store's state files), so a resumed search rebuilds the same study; the sampler is re-seeded from
the search's own rng before every ask, which makes the continuation exact.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import optuna
from optuna.distributions import distribution_to_json, json_to_distribution
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


def study_to_state(study: optuna.Study) -> dict[str, Any]:
    """The trials as JSON: each parameter's distribution is written once (a trial whose
    distribution of a parameter differs carries its own)."""
    shared: dict[str, str] = {}
    as_json: dict[Any, str] = {}
    trials = []
    for t in study.get_trials(deepcopy=False):
        own = {}
        for name, dist in t.distributions.items():
            text = as_json.get(dist)
            if text is None:
                text = as_json[dist] = distribution_to_json(dist)
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
