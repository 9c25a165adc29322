"""Paths, navigation, edits, structure checks and constructor errors."""

from __future__ import annotations

import pytest
from tree_helpers import example_tree

from evo_lacer.errors import TreeError
from evo_lacer.tree import (
    Node,
    branch,
    chain,
    check_structure,
    child_segment,
    encoder,
    format_path,
    fusion,
    get,
    insert_at,
    module,
    parse_path,
    repeat,
    replace_at,
    residual,
    source_of,
    walk,
)


def test_paths_address_nodes() -> None:
    tree = example_tree()
    assert get(tree, ("ego", "1", "0")).op == "MLPBlock"
    assert get(tree, ("fusion",)).op == "ConcatMLP"
    assert get(tree, ("head", "0")).param_dict == {"width": 32}
    assert get(tree, ()) is tree
    assert format_path(("ego", "1", "0")) == "encoder/ego/1/0"
    assert parse_path("encoder/ego/1/0") == parse_path("/ego/1/0/") == ("ego", "1", "0")
    assert parse_path("encoder") == ()
    assert child_segment(tree, 0) == "ego" and child_segment(tree.branch("ego"), 1) == "1"
    assert [source_of(p) for p in [("ego", "0"), ("fusion",), ("head", "0"), ()]] == ["ego", None, None, None]


def test_walk_visits_parents_first() -> None:
    pairs = list(walk(example_tree()))
    paths = [p for p, _ in pairs]
    assert paths[0] == ()
    assert paths.index(("ego",)) < paths.index(("ego", "1")) < paths.index(("ego", "1", "1"))
    assert all(get(example_tree(), p) == n for p, n in pairs)
    assert len(paths) == len(set(paths))


def test_edits_return_new_trees() -> None:
    tree = example_tree()
    new = module("LinearLayer", width=8)
    swapped = replace_at(tree, ("ego", "0"), new)
    assert get(swapped, ("ego", "0")) == new and get(tree, ("ego", "0")).op == "MLPBlock"
    removed = replace_at(tree, ("ego", "0"), None)
    assert len(removed.branch("ego").children) == 1
    inserted = insert_at(tree, ("history",), 1, new)
    assert [c.op for c in inserted.branch("history").children] == [None, "LinearLayer", "LastStep"]
    deep = insert_at(tree, ("ego", "1"), 2, new)
    assert get(deep, ("ego", "1", "2")) == new
    assert replace_at(tree, (), swapped) is swapped


@pytest.mark.parametrize(("action", "needle"), [
    (lambda t: get(t, ("nope",)), "encoder/nope: no child 'nope'"),
    (lambda t: get(t, ("ego", "7")), "encoder/ego/7: no child '7'"),
    (lambda t: get(t, ("ego", "x")), "no child 'x'"),
    (lambda t: insert_at(t, ("ego", "0"), 0, module("A")), "cannot insert into a module node"),
    (lambda t: insert_at(t, ("ego",), 5, module("A")), "insert position 5 out of 0..2"),
    (lambda t: replace_at(t, (), None), "cannot delete the root"),
])
def test_path_errors_name_the_path(action: object, needle: str) -> None:
    with pytest.raises(TreeError) as err:
        action(example_tree())  # type: ignore[operator]
    assert needle in str(err.value)


@pytest.mark.parametrize(("build", "needle"), [
    (lambda: Node("leaf"), "unknown node kind 'leaf'"),
    (lambda: Node("module"), "needs an `op`"),
    (lambda: Node("module", op="A", children=(module("B"),)), "cannot have children"),
    (lambda: repeat(0, module("A")), "repeat times must be an int >= 1"),
    (lambda: repeat(True, module("A")), "repeat times must be an int >= 1"),  # type: ignore[arg-type]
    (lambda: module("A", w=object()), "is not allowed"),
    (lambda: encoder([], fusion("F")), "needs at least one branch"),
    (lambda: encoder([branch("a"), branch("a")], fusion("F")), "duplicate or reserved branch name 'a'"),
    (lambda: encoder([branch("head")], fusion("F")), "reserved branch name 'head'"),
    (lambda: encoder([branch("a", branch("b"))], fusion("F")), "encoder/a/0: a branch node may only appear"),
    (lambda: encoder([branch("a", fusion("F"))], fusion("F")), "a fusion node may only appear"),
    (lambda: check_structure(branch("a")), "the root must be an encoder"),
    (lambda: check_structure(Node("encoder", children=(branch("a"), fusion("F"), fusion("G")))),
     "exactly one fusion node, found 2"),
    (lambda: check_structure(Node("encoder", children=(branch("a"), fusion("F"), residual()))),
     "unexpected child 'residual'"),
    (lambda: check_structure(Node("encoder", children=(branch("a", Node("repeat", params=(("times", 0),))),
                                                       fusion("F")))), "encoder/a/0: repeat times"),
])
def test_malformed_trees_are_tree_errors(build: object, needle: str) -> None:
    with pytest.raises(TreeError) as err:
        build()  # type: ignore[operator]
    assert needle in str(err.value)


def test_nodes_are_values() -> None:
    a = chain(module("A", w=[1, 2]), residual(module("B")))
    b = chain(module("A", w=(1, 2)), residual(module("B")))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert module("A", x=1, y=2).params == module("A", y=2, x=1).params
    assert module("A", w=1).with_params(w=2, z=3).param_dict == {"w": 2, "z": 3}
    head = encoder([branch("a")], fusion("F"), head=chain(module("A")))
    assert head.head is not None and head.head.name == "head" and head.fusion.op == "F"
    with pytest.raises(TreeError, match="no branch for source 'b'"):
        head.branch("b")
    with pytest.raises(TreeError, match="no fusion node"):
        _ = Node("encoder", children=(branch("a"),)).fusion
