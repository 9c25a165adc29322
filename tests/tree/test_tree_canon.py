"""Canonical form, hash stability and equality, and the subtree-hash distance."""

from __future__ import annotations

from hypothesis import given, settings
from tree_helpers import example_tree, trees

from evo_lacer.tree import (
    Node,
    branch,
    canonical,
    chain,
    distance,
    encoder,
    fingerprint,
    fusion,
    module,
    repeat,
    residual,
    tree_hash,
)
from evo_lacer.zoo import builtin_catalog


def _small(*ego: Node, fuse: Node | None = None, reverse: bool = False) -> Node:
    branches = [branch("ego", *ego), branch("bev", module("GlobalAvgPool"))]
    return encoder(branches[::-1] if reverse else branches, fuse or fusion("ConcatMLP", width=64))


def test_hash_is_stable_across_versions() -> None:
    """Pinned: a change here re-keys every stored run, so it must be deliberate."""
    assert tree_hash(example_tree()) == "96bc073dd316052e"
    assert len(tree_hash(example_tree())) == 16


def test_equal_architectures_hash_equal() -> None:
    base = _small(module("MLPBlock", width=32), module("LayerNormBlock"))
    variants = [
        _small(module("MLPBlock", width=32), module("LayerNormBlock"), reverse=True),
        _small(chain(module("MLPBlock", width=32), module("LayerNormBlock"))),
        _small(chain(chain(module("MLPBlock", width=32)), module("LayerNormBlock"))),
        _small(repeat(1, module("MLPBlock", width=32), module("LayerNormBlock"))),
        _small(module("MLPBlock", width=32), residual(), module("LayerNormBlock"), repeat(3), chain()),
        _small(residual(residual()), module("MLPBlock", width=32), module("LayerNormBlock")),
    ]
    for v in variants:
        assert tree_hash(v) == tree_hash(base), v


def test_different_architectures_hash_differently() -> None:
    base = _small(module("MLPBlock", width=32))
    for other in [
        _small(module("MLPBlock", width=64)),
        _small(module("LinearLayer", width=32)),
        _small(residual(module("MLPBlock", width=32))),
        _small(repeat(2, module("MLPBlock", width=32))),
        _small(module("MLPBlock", width=32), fuse=fusion("SumFusion", width=64)),
        encoder([branch("ego", module("MLPBlock", width=32)), branch("bev", module("GlobalAvgPool"))],
                fusion("ConcatMLP", width=64), head=chain(module("MLPBlock"))),
    ]:
        assert tree_hash(other) != tree_hash(base)


def test_defaults_make_explicit_and_omitted_params_equal() -> None:
    defaults = builtin_catalog().defaults
    implicit = _small(module("MLPBlock", width=32))
    explicit = _small(module("MLPBlock", width=32, ratio=1, depth=1, activation="relu"))
    assert tree_hash(implicit) != tree_hash(explicit)
    assert tree_hash(implicit, defaults) == tree_hash(explicit, defaults)
    assert tree_hash(_small(module("MLPBlock", width=64)), defaults) == tree_hash(_small(module("MLPBlock")),
                                                                                   defaults)


def test_empty_head_is_dropped() -> None:
    with_head = encoder([branch("a", module("MLPBlock"))], fusion("ConcatMLP"), head=chain())
    without = encoder([branch("a", module("MLPBlock"))], fusion("ConcatMLP"))
    assert tree_hash(with_head) == tree_hash(without)


@settings(max_examples=60, deadline=None)
@given(trees())
def test_canonical_is_idempotent_and_hash_invariant(tree: Node) -> None:
    once = canonical(tree)
    assert canonical(once) == once
    assert tree_hash(once) == tree_hash(tree)
    shuffled = encoder(list(reversed(tree.branches)), tree.fusion, tree.head)
    assert tree_hash(shuffled) == tree_hash(tree)
    assert distance(tree, shuffled) == 0.0


@settings(max_examples=40, deadline=None)
@given(trees(), trees())
def test_distance_is_a_bounded_symmetric_dissimilarity(a: Node, b: Node) -> None:
    d = distance(a, b)
    assert 0.0 <= d <= 1.0
    assert d == distance(b, a)
    assert distance(a, a) == 0.0
    if tree_hash(a) != tree_hash(b):
        assert d > 0.0


def test_distance_grows_with_the_change() -> None:
    base = example_tree()
    one_param = base.branch("ego").children[0].with_params(width=128)
    small = encoder([branch("ego", one_param, *base.branch("ego").children[1:]),
                     *[b for b in base.branches if b.name != "ego"]], base.fusion, base.head)
    big = _small(module("LinearLayer"))
    assert 0.0 < distance(base, small) < distance(base, big) <= 1.0
    assert sum(fingerprint(base).values()) == len(list(_walk(canonical(base))))


def _walk(node: Node) -> list[Node]:
    out = [node]
    for c in node.children:
        out.extend(_walk(c))
    return out


def test_a_catalog_makes_short_names_and_full_keys_hash_equal() -> None:
    catalog = builtin_catalog()
    short = _small(module("MLPBlock", width=32))
    full = _small(module("modules_zoo.vector.MLPBlock", width=32, depth=1))
    assert tree_hash(short) != tree_hash(full)
    assert tree_hash(short, catalog) == tree_hash(full, catalog)
