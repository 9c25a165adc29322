"""redraw_branch: sites, dependent slots from the flat space, and a child whose branch is exactly
the family design chosen -- the move that travels."""

from __future__ import annotations

import pytest
from conftest import make_space, simple_tree

from evo_lacer.errors import TreeError
from evo_lacer.flat import FlatSpace
from evo_lacer.transform import Gate, RedrawBranch, TransformContext
from evo_lacer.tree import tree_hash


@pytest.fixture(scope="module")
def flat() -> FlatSpace:
    return FlatSpace.load().for_sources(make_space())


def _fill(t: RedrawBranch, tree, site, ctx, pick) -> dict:
    chosen: dict = {}
    while slots := t.slots(tree, site, ctx, chosen):
        assert len(slots) == 1 and slots[0].options
        chosen[slots[0].name] = pick(slots[0])
    return chosen


def test_sites_are_every_source_and_the_fusion(flat: FlatSpace, ctx: TransformContext) -> None:
    t = RedrawBranch(flat)
    sites = t.sites(simple_tree(), ctx)
    assert sorted(s.source or "fusion" for s in sites) == sorted([*make_space().spaces, "fusion"])
    assert {s.role for s in sites} == {"branch", "fusion"}


def test_slots_are_the_family_then_its_parameters(flat: FlatSpace, ctx: TransformContext) -> None:
    t = RedrawBranch(flat)
    tree = simple_tree()
    site = next(s for s in t.sites(tree, ctx) if s.source == "history")
    first = t.slots(tree, site, ctx, {})
    assert [s.name for s in first] == ["family"]
    assert set(first[0].options) == set(flat.per_source["history"])
    family = first[0].options[-1]
    params = t.slots(tree, site, ctx, {"family": family})
    expected = list(flat.per_source["history"][str(family)].domains)
    assert params and params[0].name == expected[0]


@pytest.mark.parametrize("which", [0, -1])
def test_the_child_has_exactly_the_chosen_design(flat: FlatSpace, ctx: TransformContext, gate: Gate,
                                                 which: int) -> None:
    t = RedrawBranch(flat)
    tree = simple_tree()
    for site in t.sites(tree, ctx):
        choice = _fill(t, tree, site, ctx, lambda slot: slot.options[which])
        entry = site.source or "fusion"
        expected = flat.entry_tree(entry, {k: choice[k] for k in choice}, ctx.catalog)
        try:
            child = t.apply(tree, site, choice, ctx)
        except TreeError as exc:  # only when the design drawn equals the current one
            assert "equals the current one" in str(exc)
            continue
        got = child.fusion if entry == "fusion" else child.branch(entry)
        assert tree_hash(got, ctx.catalog) == tree_hash(expected, ctx.catalog)
        others = [b.name for b in tree.branches if b.name != entry]
        assert all(child.branch(str(o)) == tree.branch(str(o)) for o in others)
        assert gate.check(tree, child, (t.name, site, choice)).ok


def test_choices_outside_the_space_fail_clearly(flat: FlatSpace, ctx: TransformContext) -> None:
    t = RedrawBranch(flat)
    tree = simple_tree()
    site = next(s for s in t.sites(tree, ctx) if s.source == "sensors")
    with pytest.raises(TreeError, match="not one of"):
        t.apply(tree, site, {"family": "no-such-family"}, ctx)
    with pytest.raises(TreeError, match="no value for"):
        t.apply(tree, site, {"family": next(iter(flat.per_source["sensors"]))}, ctx)
