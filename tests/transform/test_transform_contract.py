"""Contract suite: every transformation, on seed trees covering all four signal kinds, lists
sites of known classes, finite non-empty slots, and applies to a tree that passes the gate."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from transform_helpers import fill, seeded_picker

from evo_lacer.transform import (
    ALL_TRANSFORMATIONS,
    SITE_CLASSES,
    Gate,
    Site,
    TransformContext,
    legal_moves,
    random_move,
)
from evo_lacer.tree import Node, check_structure, tree_hash

ROLES = {
    "change_parameter": {"module", "fusion"},
    "swap_module": {"module"},
    "insert_module": {"gap"},
    "delete_module": {"module"},
    "create_composite": {"span"},
    "change_fusion": {"fusion"},
    "crossover": {"branch"},
    "repeat_previous": {"gap"},
}
NO_SLOTS = {"delete_module", "repeat_previous"}
MAX_SITES = 14


def _ctx(ctx: TransformContext, name: str) -> TransformContext:
    if name != "repeat_previous":
        return ctx
    last = Site(("sensors",), "gap", "sensors", "vector", "early", index=0)
    history = (("insert_module", last, {"module": "Activation"}),)
    return TransformContext(ctx.catalog, ctx.inputs, history=history,
                            donors=ctx.donors)


def _spread(sites: list[Site]) -> list[Site]:
    """At most MAX_SITES sites, spread over the list (all kinds of places, bounded time)."""
    step = max(1, len(sites) // MAX_SITES)
    return sites[::step][:MAX_SITES]


@pytest.mark.parametrize("name", sorted(ALL_TRANSFORMATIONS))
def test_sites_slots_apply(name: str, seed: Node, ctx: TransformContext, gate: Gate) -> None:
    t = ALL_TRANSFORMATIONS[name]
    ctx = _ctx(ctx, name)
    sites = t.sites(seed, ctx)
    assert sites, f"{name} lists no site on the seed"
    kinds = set()
    for site in sites:
        assert site.klass in SITE_CLASSES
        assert site.role in ROLES[name]
        kinds.add(site.source_kind)
    for i, site in enumerate(_spread(sites)):
        slots = t.slots(seed, site, ctx)
        if name in NO_SLOTS:
            assert slots == []
        else:
            assert slots, f"{name} at {site.describe()}: no slot"
        for slot in slots:
            assert isinstance(slot.options, tuple) and slot.options
            json.dumps(list(slot.options))  # options are plain data a designer can echo
        choice = fill(t, seed, site, ctx, seeded_picker(i))
        child = t.apply(seed, site, choice, ctx)
        check_structure(child)
        assert tree_hash(child) != tree_hash(seed)
        result = gate.check(seed, child, (name, site, choice))
        assert result.ok, f"{name} at {site.describe()} with {choice}: {result.check}: {result.reason}"


def test_sites_cover_every_signal_kind(ctx: TransformContext) -> None:
    from conftest import nested_tree

    tree = nested_tree()
    for name in ("change_parameter", "swap_module", "insert_module", "create_composite"):
        kinds = {s.source_kind for s in ALL_TRANSFORMATIONS[name].sites(tree, ctx)}
        assert {"vector", "sequence", "image", "tokens"} <= kinds, (name, kinds)


def test_legal_moves(seed: Node, ctx: TransformContext) -> None:
    moves = legal_moves(seed, ctx)
    assert set(moves) <= set(ALL_TRANSFORMATIONS)
    assert "repeat_previous" not in moves  # no history yet
    assert {"change_parameter", "swap_module", "insert_module", "crossover"} <= set(moves)
    assert all(moves.values())


def test_apply_leaves_the_parent_alone(ctx: TransformContext) -> None:
    from conftest import nested_tree

    tree = nested_tree()
    before = json.dumps(tree_hash(tree))
    for name, t in ALL_TRANSFORMATIONS.items():
        for site in t.sites(tree, ctx)[:3]:
            t.apply(tree, site, fill(t, tree, site, ctx, seeded_picker(0)), ctx)
        assert json.dumps(tree_hash(tree)) == before, name
    assert tree == nested_tree()


def test_random_move_is_uniform_over_transformations_with_a_site(seed: Node, ctx: TransformContext) -> None:
    """A compound move's later edit: each transformation with a legal site is drawn about equally
    often, one without a site never, and the sites returned are its full list."""
    table = {n: t for n, t in ALL_TRANSFORMATIONS.items() if n != "repeat_previous"}
    legal = legal_moves(seed, ctx, table)
    assert "change_fusion" in table and len(legal) >= 4
    rng = np.random.default_rng(0)
    counts: Counter[str] = Counter()
    for _ in range(400):
        picked = random_move(seed, ctx, rng, table)
        assert picked is not None
        name, sites = picked
        assert sites == legal[name]
        counts[name] += 1
    assert set(counts) == set(legal)
    assert min(counts.values()) > 400 / len(legal) / 2
    no_site = {"repeat_previous": ALL_TRANSFORMATIONS["repeat_previous"]}  # no history: no site
    assert random_move(seed, ctx, rng, no_site) is None
