"""The gate: cheap checks every candidate passes before it costs an evaluation.

In order: the tree is well formed; it differs from its parent (canonical hash) and the
intended change really happened; it compiles; its parameter count is within bounds; a forward
pass on a dummy batch gives finite features; the forward latency is within bounds. A failed
check is a `GateResult` with `ok=False`, the check's name and a reason naming the path.

Latency is the fastest of several timed forward passes (the `timeit` convention: a slower pass
measures the other processes on the machine, not the encoder), and a tree over the bound is timed
again before it is rejected. On 2 busy cores the median of 3 passes it replaced rejected 15
proposals of two full-fidelity searches (10 ms bound, 2026-12-02); timed again under the same load,
this gate rejected 1 of the 15 (a tree of ~100 ms) in each of two re-timings, the median of 3
rejected 9 and 5 (`benchmarks/gate_latency_retime.py`).
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from evo_lacer.compile import compile_tree, parameter_count
from evo_lacer.errors import ConfigError, GateRejection, TreeError
from evo_lacer.transform._analysis import same_op, spec_of
from evo_lacer.transform._base import Choice, Site
from evo_lacer.transform._choices import current_value, same_value
from evo_lacer.tree import Node, canonical, check_structure, format_path, get, short_op, tree_hash, walk
from evo_lacer.zoo import Catalog

CHECKS = ("structure", "unchanged", "intent", "compile", "params", "forward", "latency")
Intent = tuple[str, Site, Choice]


@dataclass(frozen=True)
class GateResult:
    """The outcome of `Gate.check` (frozen record)."""

    ok: bool
    check: str | None = None
    """The failed check (one of `CHECKS`), None when ok."""
    reason: str = ""
    params: int | None = None
    latency_ms: float | None = None
    """Fastest timed forward pass of the dummy batch (ms), when the forward check was reached."""
    child_hash: str | None = None
    compile_ms: float | None = None
    forward_ms: float | None = None
    """Time of the first (checked) forward pass."""
    checks_ms: float | None = None
    """Time of the checks before building (structure, canonical hash, intent)."""


LATENCY_RUNS = 5
"""Forward passes the gate times by default when latency is bounded or optimised."""
CONFIRM_RUNS = 25
"""Forward passes a tree over the latency bound is timed again, at most, before it is rejected."""
CONFIRM_S = 1.0
"""Seconds those confirming passes may take in all (a tree far over the bound stops early)."""


def fastest_ms(forward: Callable[[], Any], runs: int, bound: float | None = None, *,
               confirm: int = CONFIRM_RUNS, confirm_s: float = CONFIRM_S,
               clock: Callable[[], float] = time.perf_counter) -> tuple[float, int]:
    """The fastest of `runs` timed calls of `forward` in ms, and how many calls were timed. When that
    is over `bound`, up to `confirm` more calls (for at most `confirm_s` seconds) are timed, stopping
    at the first under the bound: a tree is rejected only if no pass of it ran under the bound."""
    best, timed, until = float("inf"), 0, None
    while timed < runs or (bound is not None and best > bound and timed < runs + confirm):
        if timed == runs:
            until = clock() + confirm_s
        elif until is not None and clock() > until:
            break
        start = clock()
        forward()
        best = min(best, 1e3 * (clock() - start))
        timed += 1
    return best, timed


def dummy_batch(space: spaces.Space[Any], batch: int, seed: int = 0) -> Any:
    """`batch` samples of `space`, stacked per leaf as an environment's vector gives them (a Dict
    or Tuple keeps its nesting, each leaf with the batch dimension first): what the compiled
    encoder takes."""
    space = copy.deepcopy(space)
    space.seed(seed)
    return _stack(space, [space.sample() for _ in range(batch)])


def _stack(space: spaces.Space[Any], items: list[Any]) -> Any:
    if isinstance(space, spaces.Dict):
        return {k: _stack(sub, [s[k] for s in items]) for k, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(_stack(sub, [s[i] for s in items]) for i, sub in enumerate(space.spaces))
    if isinstance(items[0], str):
        return np.array(items, dtype=object)
    return np.stack([np.asarray(x) for x in items])


class Gate:
    """Screens a child tree against its parent and the intended (transformation, site, choice).

    `max_params` / `max_latency_ms` are optional bounds; latency is the fastest of
    `latency_runs` forward passes of a `batch_size` dummy batch (sampled once from the space
    with `seed`; CPU, no grad), confirmed by up to `CONFIRM_RUNS` more passes when it is over
    the bound (see `fastest_ms`); ``latency_runs=0`` records the checked forward's time instead
    (one forward pass per candidate: for searches that neither bound nor optimize latency).
    The intent check knows every built-in transformation; for others, and for
    ``repeat_previous`` (whose choice lives in the history), it only checks
    that the subtree at the site changed; for the full check pass the repeated transformation's
    name, the site and the repeated choice (see `RepeatPrevious.resolve`).
    """

    def __init__(self, observation_space: spaces.Space[Any], catalog: Catalog,
                 max_params: int | None = None, max_latency_ms: float | None = None,
                 batch_size: int = 8, latency_runs: int = LATENCY_RUNS, seed: int = 0) -> None:
        if batch_size < 1:
            raise ConfigError(f"Gate batch_size must be >= 1, got {batch_size}")
        if latency_runs < 0:
            raise ConfigError(f"Gate latency_runs must be >= 0, got {latency_runs}")
        if max_params is not None and max_params < 1:
            raise ConfigError(f"Gate max_params must be >= 1 or None, got {max_params}")
        if max_latency_ms is not None and max_latency_ms <= 0:
            raise ConfigError(f"Gate max_latency_ms must be > 0 or None, got {max_latency_ms}")
        self.observation_space = observation_space
        self.catalog = catalog
        self.max_params, self.max_latency_ms = max_params, max_latency_ms
        self.batch_size, self.latency_runs = batch_size, latency_runs
        self._batch = dummy_batch(observation_space, batch_size, seed)

    def check(self, parent: Node | None, child: Node, intended: Intent | None = None,
              child_hash: str | None = None) -> GateResult:
        """Run every check on `child`; `parent=None` (a seed) skips the unchanged/intent checks.
        `child_hash`: the child's `tree_hash` under this gate's catalog when the caller has it (the
        search's harness does), so it is not computed twice."""
        start = time.perf_counter()
        result = self._cheap_checks(parent, child, intended, child_hash)
        result = replace(result, checks_ms=1e3 * (time.perf_counter() - start))
        if result.check is not None:
            return result
        assert result.child_hash is not None
        return replace(self._build_and_run(child, result.child_hash), checks_ms=result.checks_ms)

    def _cheap_checks(self, parent: Node | None, child: Node, intended: Intent | None,
                      child_hash: str | None = None) -> GateResult:
        try:
            check_structure(child)
            for path, node in walk(child):
                if node.kind in ("module", "fusion"):
                    spec_of(node, self.catalog, path)
        except TreeError as exc:
            return GateResult(False, "structure", str(exc))
        child_hash = child_hash or tree_hash(child, self.catalog)
        if parent is not None:
            if tree_hash(parent, self.catalog) == child_hash:
                why = f"the child has the same canonical form (hash {child_hash}) as its parent"
                return GateResult(False, "unchanged", why, child_hash=child_hash)
            if intended is not None:
                why = self._intent(parent, child, intended)
                if why:
                    return GateResult(False, "intent", why, child_hash=child_hash)
        return GateResult(False, child_hash=child_hash)

    def raise_if_rejected(self, parent: Node | None, child: Node,
                          intended: Intent | None = None) -> GateResult:
        """`check`, raising `GateRejection` (naming the check) when the child fails."""
        result = self.check(parent, child, intended)
        if not result.ok:
            raise GateRejection(f"gate check {result.check!r} failed: {result.reason}")
        return result

    # --- build and run ----------------------------------------------------------------------
    def _build_and_run(self, child: Node, child_hash: str) -> GateResult:
        start = time.perf_counter()
        try:
            encoder = compile_tree(child, self.observation_space, self.catalog, check=False)
        except Exception as exc:
            return GateResult(False, "compile", f"{type(exc).__name__}: {exc}", child_hash=child_hash)
        compile_ms = 1e3 * (time.perf_counter() - start)
        params = parameter_count(encoder)
        base = GateResult(False, params=params, child_hash=child_hash, compile_ms=compile_ms)
        if self.max_params is not None and params > self.max_params:
            why = f"{params} parameters exceed the limit of {self.max_params}"
            return replace(base, check="params", reason=why)
        encoder.eval()
        start = time.perf_counter()
        try:
            with torch.no_grad():
                out = encoder(self._batch)
        except Exception as exc:
            return replace(base, check="forward", reason=f"forward pass failed: {type(exc).__name__}: {exc}")
        forward_ms = 1e3 * (time.perf_counter() - start)
        base = replace(base, forward_ms=forward_ms)
        expected = (self.batch_size, encoder.features_dim)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            return replace(base, check="forward", reason=f"features have shape {shape}, expected {expected}")
        if not bool(torch.isfinite(out).all()):
            bad = int((~torch.isfinite(out)).sum())
            why = f"{bad} of {out.numel()} features are NaN or infinite"
            return replace(base, check="forward", reason=why)
        latency, timed = forward_ms, 0
        if self.latency_runs:
            with torch.no_grad():
                latency, timed = fastest_ms(lambda: encoder(self._batch), self.latency_runs,
                                            self.max_latency_ms)
        base = replace(base, latency_ms=latency)
        if self.max_latency_ms is not None and latency > self.max_latency_ms:
            passes = f"the fastest of {timed} passes" if timed else "its first pass"
            return replace(base, check="latency", reason=(
                f"forward takes {latency:.2f} ms ({passes}) for a batch of {self.batch_size}, "
                f"over the limit of {self.max_latency_ms} ms"))
        return replace(base, ok=True)

    # --- intent -----------------------------------------------------------------------------
    def _intent(self, parent: Node, child: Node, intended: Intent) -> str:
        """Why the child does not show the intended change ("" when it does)."""
        name, site, choice = intended
        where = f"{name} at {site.describe()}"
        try:
            return _INTENT_CHECKS.get(name, _changed_at_site)(self, parent, child, site, choice, where)
        except (TreeError, IndexError, KeyError, ValueError) as exc:
            return f"{where}: the site cannot be found in the child ({exc})"

    def _has(self, node: Node, choice: Choice, where: str, params_only: bool = False) -> str:
        if not params_only and not same_op(node.op, str(choice.get("module")), self.catalog):
            return f"{where}: the node has op {short_op(node.op)}, not {choice.get('module')}"
        spec = self.catalog.lookup(str(node.op))
        for key, value in choice.items():
            if key == "module":
                continue
            have = current_value(node, spec, key)
            if not same_value(have, value):
                return f"{where}: {short_op(node.op)}.{key} is {have!r}, not the chosen {value!r}"
        return ""


def _change_parameter(gate: Gate, parent: Node, child: Node, site: Site, choice: Choice, where: str) -> str:
    node = get(child, site.path)
    return gate._has(node, {str(choice.get("param")): choice.get("value")}, where, params_only=True)


def _swap(gate: Gate, parent: Node, child: Node, site: Site, choice: Choice, where: str) -> str:
    return gate._has(get(child, site.path), choice, where)


def _insert(gate: Gate, parent: Node, child: Node, site: Site, choice: Choice, where: str) -> str:
    node = get(child, (*site.path, str(site.index)))
    if node.kind != "module":
        return f"{where}: the child has a {node.kind} node there, not the inserted module"
    return gate._has(node, choice, where)


def _ops(tree: Node) -> Counter[str]:
    return Counter(str(n.op) for _, n in walk(tree) if n.kind == "module")


def _delete(gate: Gate, parent: Node, child: Node, site: Site, choice: Choice, where: str) -> str:
    op = str(get(parent, site.path).op)
    before, after = _ops(parent)[op], _ops(child)[op]
    if after != before - 1:
        return f"{where}: the child has {after} {short_op(op)} modules, expected {before - 1}"
    return ""


def _composite(gate: Gate, parent: Node, child: Node, site: Site, choice: Choice, where: str) -> str:
    if site.index is None:
        return f"{where}: a composite site needs an index"
    node = get(child, (*site.path, str(site.index)))
    run = get(parent, site.path).children[site.index: site.index + site.span]
    if node.kind != choice.get("kind") or node.children != run:
        return f"{where}: the child has no {choice.get('kind')} around the {site.span} chosen node(s)"
    if node.kind == "repeat" and node.param_dict.get("times") != choice.get("times"):
        return f"{where}: the repeat runs {node.param_dict.get('times')} times, not {choice.get('times')}"
    return ""


def _crossover(gate: Gate, parent: Node, child: Node, site: Site, choice: Choice, where: str) -> str:
    return _changed_at_site(gate, parent, child, site, choice, where)


def _changed_at_site(gate: Gate, parent: Node, child: Node, site: Site, choice: Choice, where: str) -> str:
    """Fallback: the subtree at the site's path changed (or the site's node is gone)."""
    path = site.path if site.role != "gap" or site.path != ("head",) or parent.head is not None else ()
    try:
        before = canonical(get(parent, path), gate.catalog)
        after = canonical(get(child, path), gate.catalog)
    except TreeError:
        return ""
    if before == after:
        return f"{where}: nothing changed at {format_path(path)}"
    return ""


_INTENT_CHECKS: Mapping[str, Any] = {
    "change_parameter": _change_parameter,
    "swap_module": _swap,
    "change_fusion": _swap,
    "insert_module": _insert,
    "delete_module": _delete,
    "create_composite": _composite,
    "crossover": _crossover,
}
