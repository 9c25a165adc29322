"""Property: any random chain of transformations, redraw_branch included (random transformation,
site and slot values drawn from the listed options) from a seed tree yields trees that pass the
gate or a clear rejection (TreeError / ShapeError / GateRejection), never another exception; JSON round-trips
and canonical hashes stay stable along the way."""

from __future__ import annotations

from conftest import make_space, nested_tree, simple_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evo_lacer.errors import GateRejection, ShapeError, TreeError
from evo_lacer.flat import FlatSpace
from evo_lacer.transform import (
    ALL_TRANSFORMATIONS,
    CHECKS,
    Gate,
    RedrawBranch,
    Site,
    TransformContext,
    legal_moves,
)
from evo_lacer.tree import Node, check_structure, from_json, to_json, tree_hash

SEEDS = (simple_tree, nested_tree)
REGISTRY = {**ALL_TRANSFORMATIONS, "redraw_branch": RedrawBranch(FlatSpace.load().for_sources(make_space()))}
"""Every built-in transformation and the moves that travel (redraw_branch needs the flat space)."""


def _choose(data: st.DataObject, name: str, tree: Node, site, ctx: TransformContext) -> dict:
    t = REGISTRY[name]
    chosen: dict = {}
    skipped: set[str] = set()
    while True:
        open_slots = [s for s in t.slots(tree, site, ctx, chosen) if s.name not in skipped]
        if not open_slots:
            return chosen
        for slot in open_slots:
            assert slot.options, f"{name} at {site.describe()}: empty slot {slot.name}"
            if not slot.required and data.draw(st.booleans(), label=f"skip {slot.name}"):
                skipped.add(slot.name)
            else:
                chosen[slot.name] = data.draw(st.sampled_from(slot.options), label=slot.name)


def _step(data: st.DataObject, tree: Node, ctx: TransformContext, gate: Gate) -> tuple[Node, tuple | None]:
    try:
        moves = legal_moves(tree, ctx, REGISTRY)
        if not moves:
            return tree, None
        name = data.draw(st.sampled_from(sorted(moves)), label="transformation")
        site = data.draw(st.sampled_from(moves[name]), label="site")
        choice = _choose(data, name, tree, site, ctx)
        child = REGISTRY[name].apply(tree, site, choice, ctx)
    except (TreeError, ShapeError) as exc:
        assert str(exc)
        return tree, None
    result = gate.check(tree, child, (name, site, choice))
    if not result.ok:
        assert result.check in CHECKS and result.reason
        try:
            gate.raise_if_rejected(tree, child, (name, site, choice))
        except GateRejection as exc:
            assert result.check in str(exc)
        return tree, None
    assert result.child_hash == tree_hash(child, ctx.catalog)
    again = from_json(to_json(child))
    assert again == child
    assert tree_hash(again, ctx.catalog) == result.child_hash
    return child, (name, site, choice)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_chains_stay_valid(data: st.DataObject, ctx: TransformContext, gate: Gate) -> None:
    tree = data.draw(st.sampled_from(SEEDS), label="seed")()
    history: tuple = ()
    accepted = 0
    for _ in range(data.draw(st.integers(1, 8), label="steps")):
        step_ctx = TransformContext(ctx.catalog, ctx.inputs, history=history, donors=ctx.donors)
        tree, applied = _step(data, tree, step_ctx, gate)
        if applied is not None:
            history = (*history, applied)
            accepted += 1
    assert gate.check(None, tree).ok


_SEGMENTS = st.sampled_from(["sensors", "history", "camera", "text", "fusion", "head", "0", "1", "2", "7"])
_SITES = st.builds(
    Site,
    path=st.lists(_SEGMENTS, min_size=0, max_size=4).map(tuple),
    role=st.sampled_from(["module", "gap", "span", "fusion", "branch"]),
    source=st.none() | st.sampled_from(["sensors", "text"]),
    source_kind=st.sampled_from(["vector", "fused"]),
    index=st.none() | st.integers(-1, 5),
    span=st.integers(0, 4),
)
_KEYS = st.sampled_from(["param", "value", "module", "kind", "times", "donor", "width", "family", "depth"])
_VALUES = st.none() | st.booleans() | st.integers(-2, 300) | st.sampled_from(
    ["relu", "MeanPool", "repeat", "mlp", "gru", "concat"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(REGISTRY)), site=_SITES,
       choice=st.dictionaries(_KEYS, _VALUES, max_size=3),
       seed=st.sampled_from(SEEDS))
def test_arbitrary_sites_and_choices_fail_clearly(name: str, site: Site, choice: dict, seed,
                                                  ctx: TransformContext) -> None:
    tree = seed()
    t = REGISTRY[name]
    try:
        for slot in t.slots(tree, site, ctx, choice):
            assert isinstance(slot.options, tuple)
    except TreeError:
        pass
    try:
        child = t.apply(tree, site, choice, ctx)
    except TreeError as exc:
        assert str(exc)
    else:
        check_structure(child)
