"""Weight inheritance: a candidate's encoder starts from its parents' trained weights where the
shapes match (progressive evaluation with warm starts, e.g. the pepnas strategy).

A strategy asks for it by putting ``extra["inherit"]`` on a proposal: a mapping from parts of the
encoder (a source's branch, by the source's name; ``"fusion"``; ``"head"``) to the id of the
candidate whose trained weights that part starts from. Every candidate that carries the key, even
an empty mapping (an initial population), saves its own trained weights for its children. The
harness turns the requests of one batch into a `WeightPlan` (`evo_lacer.engine._weights`) and
evaluates the batch with ``evaluator.with_inheritance(plan)``.

Evaluators that train a compiled encoder (`RLEvaluator`, `ImitationEvaluator`) implement
`WeightInheriting`; the others (a user's fitness function) keep no weights: the request is recorded
as unavailable and ignored. A weight file (``<folder>/<tree_hash>.pt``) holds the ``state_dict`` of
the trained features extractor (`TreeFeaturesExtractor`: keys ``encoder.branches.<source>.…``,
``encoder.fusion.…``, ``encoder.head.…``), saved with `torch.save` after a training that ended OK
and read only with ``torch.load(weights_only=True, map_location="cpu")``: a run folder's files are
never executed. Before training, each asked part takes the parent's tensors whose key exists and
whose shape matches; the rest keeps its fresh initialization. A missing or unreadable parent file
means training from scratch for its parts, never a failure. What happened goes into the feedback's
metrics, whatever the evaluator's ``feedback=`` setting (bookkeeping, not a signal):
``inherited_tensors``, ``inherit_shape_mismatch`` and ``inherit_missing_keys`` (tensors of an asked
part left fresh), ``inherit_unreadable_files`` (parent files missing or unreadable),
``weights_saved`` (1 or 0). Only the encoder is inherited: the policy and value heads and the
optimizer state start fresh.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

import torch
from torch import nn

from evo_lacer.evaluate._base import Evaluator
from evo_lacer.evaluate._feedback import Feedback
from evo_lacer.tree import Node, tree_hash
from evo_lacer.zoo import Catalog

INHERIT = "inherit"
"""Key of a proposal's / candidate's ``extra``: encoder part -> parent candidate id (see above)."""
WEIGHTS_DIR = "weights"
"""The folder of a run that holds the weight files."""


def part_prefix(part: str) -> str:
    """The ``state_dict`` key prefix of an encoder part (a source's branch, ``"fusion"``, ``"head"``)
    in a `TreeFeaturesExtractor` (whose `TreeEncoder` is its ``encoder``)."""
    return f"encoder.{part}." if part in ("fusion", "head") else f"encoder.branches.{part}."


@dataclass(frozen=True)
class WeightPlan:
    """What the evaluations of one batch load and save, by tree (`tree_hash` without a catalog)."""

    folder: str
    """Where the weight files are (``<run>/weights``)."""
    trees: Mapping[str, tuple[tuple[str, str], ...]]
    """Tree hash -> (key prefix, parent tree hash) pairs to load; every tree listed saves its weights."""

    def for_tree(self, tree: Node) -> TreeWeights | None:
        """The weights of one evaluation of `tree` (None: the plan does not list it)."""
        h = tree_hash(tree)
        if h not in self.trees:
            return None
        folder = Path(self.folder)
        return TreeWeights(folder / f"{h}.pt", [(p, folder / f"{parent}.pt") for p, parent in self.trees[h]])


@runtime_checkable
class WeightInheriting(Protocol):
    """An evaluator that can start an encoder from its parents' weights and save the trained one."""

    def with_inheritance(self, plan: WeightPlan) -> Evaluator:
        """A copy that loads and saves weights as `plan` says (same settings otherwise)."""
        ...


E = TypeVar("E")


def inheriting_copy(evaluator: E, plan: WeightPlan) -> E:
    """A shallow copy of `evaluator` whose ``inheritance`` is `plan` (caches shared)."""
    inheriting: Any = copy.copy(evaluator)
    inheriting.inheritance = plan
    return cast(E, inheriting)


def read_weights(path: Path) -> dict[str, torch.Tensor] | None:
    """The tensors of a weight file; None when it is missing, unreadable or not a tensor mapping."""
    try:
        data = torch.load(path, weights_only=True, map_location="cpu")
    except Exception:  # missing, truncated, or not a plain tensor file: train from scratch
        return None
    if not isinstance(data, Mapping) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                for k, v in data.items()):
        return None
    return dict(data)


class TreeWeights:
    """One evaluation's weights: the parts to load before training, the file to save after; what
    happened is in `report`."""

    def __init__(self, save: Path, loads: Sequence[tuple[str, Path]]) -> None:
        self.save_path = save
        self.loads = list(loads)
        self.report: dict[str, float] = {}
        self.trained: nn.Module | None = None
        """The extractor that trains (the actor's), saved by `record_weights`."""

    def load_into(self, policy: Any) -> None:
        """Load the parents' matching tensors into the policy's features extractor(s): the actor's,
        and the critic's too when SB3 keeps a separate one (``share_features_extractor=False``: it
        then starts from the same tensors; counted once)."""
        actor = policy.pi_features_extractor
        own = actor.state_dict()
        matched: dict[str, torch.Tensor] = {}
        counts = dict.fromkeys(("inherit_shape_mismatch", "inherit_missing_keys", "inherit_unreadable_files"),
                               0)
        files: dict[Path, dict[str, torch.Tensor] | None] = {}
        for prefix, path in self.loads:
            if path not in files:
                files[path] = read_weights(path)
                counts["inherit_unreadable_files"] += files[path] is None
            parent = files[path]
            for key, tensor in own.items():
                if parent is None or not key.startswith(prefix) or key in matched:
                    continue
                if key not in parent:
                    counts["inherit_missing_keys"] += 1
                elif parent[key].shape != tensor.shape:
                    counts["inherit_shape_mismatch"] += 1
                else:
                    matched[key] = parent[key]
        critic = getattr(policy, "vf_features_extractor", actor)
        for extractor in {id(m): m for m in (actor, critic)}.values():
            extractor.load_state_dict(matched, strict=False)  # copies in place: optimizers keep their tensors
        self.trained = actor
        self.report = {"inherited_tensors": float(len(matched)), **{k: float(v) for k, v in counts.items()}}

    def save(self) -> bool:
        """Save the trained extractor's ``state_dict`` (atomically: a kill leaves the old file or the new)."""
        if self.trained is None:
            return False
        tmp = ""
        try:
            self.save_path.parent.mkdir(parents=True, exist_ok=True)
            state = {k: v.detach().to("cpu").clone() for k, v in self.trained.state_dict().items()}
            fd, tmp = tempfile.mkstemp(dir=self.save_path.parent, suffix=".tmp")
            os.close(fd)
            torch.save(state, tmp)
            os.replace(tmp, self.save_path)
            return True
        except Exception:  # a full disk or a read-only folder: the children train from scratch
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return False


class _Carrier:
    """SB3's ``features_extractor_class`` for one evaluation: builds `cls` and carries the
    evaluation's `TreeWeights` to `inherit_weights` (SB3 initializes the policy after building the
    extractor, so the parents' tensors are loaded once the policy is built)."""

    def __init__(self, cls: Any, weights: TreeWeights) -> None:
        self.cls, self.weights = cls, weights

    def __call__(self, observation_space: Any, **kwargs: Any) -> Any:
        return self.cls(observation_space, **kwargs)


def carry_weights(policy_kwargs: dict[str, Any], weights: TreeWeights | None) -> dict[str, Any]:
    """`policy_kwargs` whose extractor carries `weights` (unchanged when None)."""
    cls = policy_kwargs.get("features_extractor_class")
    if weights is None or cls is None:
        return policy_kwargs
    return {**policy_kwargs, "features_extractor_class": _Carrier(cls, weights)}


def inherit_weights(policy: Any) -> None:
    """Load the parents' tensors into a freshly built SB3 policy whose extractor carries weights
    (`carry_weights`); a no-op otherwise."""
    carrier = getattr(policy, "features_extractor_class", None)
    if isinstance(carrier, _Carrier):
        carrier.weights.load_into(policy)


def record_weights(feedback: Feedback, weights: TreeWeights | None) -> Feedback:
    """`feedback` with the inheritance report in its metrics, after saving the trained extractor
    when the evaluation ended OK (unchanged when `weights` is None)."""
    if weights is None:
        return feedback
    saved = feedback.ok and weights.save()
    report = {**weights.report, "weights_saved": float(saved)}
    return replace(feedback, metrics={**feedback.metrics, **report})


def tree_weights(plan: WeightPlan | None, tree: Node) -> TreeWeights | None:
    """The weights of one evaluation of `tree` under `plan` (None: no plan, or the tree is not in it)."""
    return None if plan is None else plan.for_tree(tree)


class TreeTraining(Protocol):
    """What `evaluate_tree` needs of an evaluator that trains a compiled tree (`RLEvaluator`,
    `ImitationEvaluator`)."""

    inheritance: WeightPlan | None
    catalog: Catalog | None

    def evaluate_policy(self, policy_kwargs: Callable[[], dict[str, Any]], seed: int) -> Feedback: ...


def evaluate_tree(evaluator: TreeTraining, tree: Node, seed: int) -> Feedback:
    """The evaluator's measurement of `tree` compiled as the policy's features extractor, starting
    from and saving weights as its ``inheritance`` says (the evaluators' ``evaluate``)."""
    weights = tree_weights(evaluator.inheritance, tree)

    def kwargs() -> dict[str, Any]:
        from evo_lacer.compile import policy_kwargs_for

        return carry_weights(dict(policy_kwargs_for(tree, evaluator.catalog)), weights)

    return record_weights(evaluator.evaluate_policy(kwargs, seed), weights)
