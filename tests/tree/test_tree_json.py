"""JSON round-trip of trees and the errors for malformed JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from tree_helpers import example_tree, trees

from evo_lacer.errors import TreeError
from evo_lacer.tree import Node, from_json, load_tree, node_from_dict, node_to_dict, save_tree, to_json


def test_round_trip_of_the_example(tmp_path: Path) -> None:
    tree = example_tree()
    assert from_json(to_json(tree)) == tree
    save_tree(tree, tmp_path / "t.json")
    assert load_tree(tmp_path / "t.json") == tree
    doc = json.loads(to_json(tree))
    assert doc["format"] == "evo-lacer/tree" and doc["version"] == 1
    conv = doc["tree"]["children"][2]["children"][0]
    assert conv["params"]["kernel"] == [3, 3]  # tuples are JSON lists
    assert from_json(json.dumps(doc["tree"])) == tree  # a bare node document is accepted


@settings(max_examples=60, deadline=None)
@given(trees())
def test_round_trip_of_random_trees(tree: Node) -> None:
    assert from_json(to_json(tree)) == tree
    assert node_from_dict(node_to_dict(tree)) == tree
    assert hash(from_json(to_json(tree, indent=None))) == hash(tree)


@pytest.mark.parametrize(("text", "needle"), [
    ("{", "not valid JSON"),
    ('{"format": "other", "tree": {}}', "format 'other'"),
    ('{"format": "evo-lacer/tree", "version": 9, "tree": {}}', "version 9"),
    ('{"kind": "forest"}', "unknown node kind 'forest'"),
    ('{"kind": "encoder", "color": 1}', "unknown node fields ['color']"),
    ('{"kind": "module", "op": "A", "params": [1]}', "`params` must be an object"),
    ('{"kind": "encoder", "children": {}}', "`children` must be a list"),
    ('{"kind": "encoder", "children": [{"kind": "branch", "name": "a", "children": [{"kind": "module"}]}]}',
     "encoder/a/0: a module node needs an `op`"),
    ('{"kind": "encoder", "children": [{"kind": "branch", "name": "a", "children": '
     '[{"kind": "module", "op": "A", "params": {"w": [[1]]}}]}]}', "nested sequences"),
    ('{"kind": "encoder", "children": [{"kind": "branch", "name": 3}]}', "`name` must be a string"),
    ('{"kind": "encoder", "children": [{"kind": "branch", "name": "a"}]}', "exactly one fusion"),
    ('[1, 2]', "expected a JSON object"),
])
def test_malformed_json_names_the_problem(text: str, needle: str) -> None:
    with pytest.raises(TreeError) as err:
        from_json(text, source="t.json")
    assert needle in str(err.value)
    assert "t.json" in str(err.value) or "encoder" in str(err.value)


def test_missing_file() -> None:
    with pytest.raises(TreeError, match="does not exist"):
        load_tree("/nonexistent/tree.json")


def test_a_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    with pytest.raises(TreeError, match=r"is a folder, not a tree file; pass a tree file"):
        load_tree(tmp_path)


def test_a_malformed_tree_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(TreeError, match=r"t\.json: encoder: expected a JSON object for a node, got list"):
        load_tree(tmp_path / "t.json")


def test_save_tree_takes_a_node_dict(tmp_path: Path) -> None:
    tree = example_tree()
    save_tree(node_to_dict(tree), tmp_path / "a.json")  # type: ignore[arg-type]
    save_tree(json.loads(to_json(tree)), tmp_path / "b.json")  # type: ignore[arg-type]
    assert load_tree(tmp_path / "a.json") == tree == load_tree(tmp_path / "b.json")


@pytest.mark.parametrize(("value", "needle"), [
    (42, "save_tree: got int 42, not a tree; pass a tree Node or a node dict"),
    ({"kind": "forest"}, "save_tree: the tree dict: unknown node kind 'forest'"),
])
def test_save_tree_names_what_it_cannot_save(tmp_path: Path, value: object, needle: str) -> None:
    with pytest.raises(TreeError) as err:
        save_tree(value, tmp_path / "t.json")  # type: ignore[arg-type]
    assert needle in str(err.value)
    assert not (tmp_path / "t.json").exists()
