"""`apply` checks a choice against the slots it listed; errors name the slot and the options."""

from __future__ import annotations

import pytest
from conftest import nested_tree, simple_tree

from evo_lacer.errors import TreeError
from evo_lacer.transform import ALL_TRANSFORMATIONS, Site, TransformContext

T = ALL_TRANSFORMATIONS


def _first(name: str, tree, ctx: TransformContext, path: tuple[str, ...], index: int | None = None) -> Site:
    return next(s for s in T[name].sites(tree, ctx) if s.path == path and s.index == index)


@pytest.mark.parametrize(
    ("choice", "match"),
    [
        ({"param": "width", "value": 33}, r"value=33 is not legal; choose one of \[16, 64, 128, 256\]"),
        ({"param": "width", "value": 32}, r"value=32 is not legal"),  # the current value
        ({"param": "width", "value": True}, r"value=True is not legal"),  # a bool is not 1
        ({"param": "colour", "value": 1}, r"param='colour' is not legal; choose one of \["),
        ({"param": "width"}, r"slot 'value' is missing; choose one of \[16, 64"),
        ({}, r"slot 'param' is missing"),
        ({"param": "width", "value": 64, "extra": 1}, r"unknown slot\(s\) \['extra'\]"),
    ],
)
def test_change_parameter_rejects_bad_choices(ctx: TransformContext, choice: dict, match: str) -> None:
    tree = simple_tree()
    site = _first("change_parameter", tree, ctx, ("sensors", "0"))
    with pytest.raises(TreeError, match=match):
        T["change_parameter"].apply(tree, site, choice, ctx)


def test_illegal_site_lists_the_legal_ones(ctx: TransformContext) -> None:
    tree = simple_tree()
    bad = Site(("history", "1"), "module", "history", "sequence", "late")  # LastStep: no params
    with pytest.raises(TreeError, match=r"not a legal site; legal sites: \[encoder/sensors/0"):
        T["change_parameter"].apply(tree, bad, {"param": "x", "value": 1}, ctx)
    with pytest.raises(TreeError, match="not a legal site"):
        T["delete_module"].apply(tree, bad, {}, ctx)  # would leave the branch a sequence


def test_swap_rejects_a_module_of_the_wrong_kind(ctx: TransformContext) -> None:
    tree = simple_tree()
    site = _first("swap_module", tree, ctx, ("history", "0"))
    with pytest.raises(TreeError, match=r"module='MeanPool' is not legal; choose one of \[.*LSTMEncoder"):
        T["swap_module"].apply(tree, site, {"module": "MeanPool"}, ctx)
    with pytest.raises(TreeError, match=r"hidden=7 is not legal; choose one of \[16, 32, 64, 128\]"):
        T["swap_module"].apply(tree, site, {"module": "LSTMEncoder", "hidden": 7}, ctx)


def test_insert_rejects_a_module_that_breaks_the_chain(ctx: TransformContext) -> None:
    tree = simple_tree()
    site = _first("insert_module", tree, ctx, ("history",), 0)
    with pytest.raises(TreeError, match="module='LastStep' is not legal"):
        T["insert_module"].apply(tree, site, {"module": "LastStep"}, ctx)


def test_composite_rejects_repeat_where_the_shape_changes(ctx: TransformContext) -> None:
    tree = nested_tree()
    site = _first("create_composite", tree, ctx, ("sensors",), 0)  # MLPBlock: 6 -> 32
    with pytest.raises(TreeError, match=r"kind='repeat' is not legal; choose one of \['residual'\]"):
        T["create_composite"].apply(tree, site, {"kind": "repeat", "times": 2}, ctx)
    ok = next(s for s in T["create_composite"].sites(tree, ctx) if s.path == ("sensors",) and s.index == 1)
    with pytest.raises(TreeError, match=r"times=5 is not legal; choose one of \[2, 3\]"):
        T["create_composite"].apply(tree, ok, {"kind": "repeat", "times": 5}, ctx)


def test_crossover_and_repeat_previous_validate(ctx: TransformContext) -> None:
    tree = simple_tree()
    site = next(s for s in T["crossover"].sites(tree, ctx) if s.source == "camera")
    with pytest.raises(TreeError, match=r"donor=0 is not legal; choose one of \[1\]"):
        T["crossover"].apply(tree, site, {"donor": 0}, ctx)
    with pytest.raises(TreeError, match="history holds no operation"):
        T["repeat_previous"].apply(tree, site, {}, ctx)
    with pytest.raises(TreeError, match="takes no choices"):
        T["repeat_previous"].apply(tree, site, {"module": "x"}, ctx)


def test_json_lists_and_int_floats_match_listed_options(ctx: TransformContext) -> None:
    tree = simple_tree()
    site = _first("change_parameter", tree, ctx, ("camera", "0"))
    child = T["change_parameter"].apply(tree, site, {"param": "kernel", "value": 5.0}, ctx)
    value = child.branch("camera").children[0].param_dict["kernel"]
    assert value == 5 and isinstance(value, int)  # stored as the listed option
