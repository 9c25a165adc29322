"""What each transformation offers, site by site: legal options only, sensible defaults."""

from __future__ import annotations

from conftest import nested_tree, simple_tree

from evo_lacer.transform import (
    ALL_TRANSFORMATIONS,
    ChangeParameter,
    CreateComposite,
    Site,
    TransformContext,
)
from evo_lacer.transform._analysis import kind_flow, node_signals
from evo_lacer.tree import branch, encoder, fusion, get, module, residual
from evo_lacer.zoo import Catalog

T = ALL_TRANSFORMATIONS


def _site(name: str, tree, ctx: TransformContext, path: tuple[str, ...], index: int | None = None,
          span: int = 1) -> Site:
    for s in T[name].sites(tree, ctx):
        if s.path == path and s.index == index and (index is None or s.span == span):
            return s
    raise AssertionError(f"{name}: no site at {path} {index}")


def _emits(catalog: Catalog, op: object, kind: str) -> str:
    spec = catalog.lookup(str(op))
    return spec.emits or kind


# --- change_parameter --------------------------------------------------------------------
def test_change_parameter_excludes_the_current_value(ctx: TransformContext) -> None:
    tree = simple_tree()
    site = _site("change_parameter", tree, ctx, ("sensors", "0"))
    assert site.klass == "vector/early/module"
    [param] = T["change_parameter"].slots(tree, site, ctx)
    assert {"width", "activation"} <= set(param.options)
    [width] = T["change_parameter"].slots(tree, site, ctx, {"param": "width"})
    assert 32 not in width.options and 64 in width.options
    [act] = T["change_parameter"].slots(tree, site, ctx, {"param": "activation"})
    assert "relu" not in act.options  # the default counts as the current value
    child = T["change_parameter"].apply(tree, site, {"param": "width", "value": 128}, ctx)
    assert get(child, ("sensors", "0")).param_dict["width"] == 128


def test_sources_domain_expands_to_the_tree_sources(ctx: TransformContext) -> None:
    tree = encoder(simple_tree().branches, fusion("FiLMFusion", condition_source="text"))
    site = _site("change_parameter", tree, ctx, ("fusion",))
    assert site.role == "fusion" and site.source_kind == "fused"
    slots = T["change_parameter"].slots(tree, site, ctx, {"param": "condition_source"})
    assert set(slots[0].options) == {"sensors", "history", "camera"}


def test_parameterless_modules_are_no_change_parameter_site(ctx: TransformContext) -> None:
    paths = {s.path for s in ChangeParameter().sites(simple_tree(), ctx)}
    assert ("history", "1") not in paths and ("camera", "1") not in paths  # LastStep, GlobalAvgPool


# --- swap_module ------------------------------------------------------------------------
def test_swap_keeps_the_kinds_the_branch_needs(ctx: TransformContext) -> None:
    tree = simple_tree()
    cat = ctx.catalog
    [slot] = T["swap_module"].slots(tree, _site("swap_module", tree, ctx, ("history", "0")), ctx)
    assert slot.options and "GRUEncoder" not in slot.options
    assert all(_emits(cat, op, "sequence") == "sequence" for op in slot.options)  # LastStep follows
    [pool] = T["swap_module"].slots(tree, _site("swap_module", tree, ctx, ("history", "1")), ctx)
    assert {"MeanPool", "AttentionPool"} <= set(pool.options)
    assert all(_emits(cat, op, "sequence") == "vector" for op in pool.options)


def test_swap_offers_params_then_carries_or_defaults(ctx: TransformContext) -> None:
    tree = simple_tree()
    site = _site("swap_module", tree, ctx, ("sensors", "0"))
    slots = T["swap_module"].slots(tree, site, ctx, {"module": "LinearLayer"})
    assert [s.name for s in slots] == ["width"] and not slots[0].required
    child = T["swap_module"].apply(tree, site, {"module": "LinearLayer"}, ctx)
    node = get(child, ("sensors", "0"))
    assert node.op == "LinearLayer" and node.param_dict == {"width": 32}  # carried from MLPBlock
    child = T["swap_module"].apply(tree, site, {"module": "LinearLayer", "width": 16}, ctx)
    assert get(child, ("sensors", "0")).param_dict == {"width": 16}


def test_swap_skips_modules_too_big_for_the_image(ctx: TransformContext) -> None:
    tree = simple_tree()
    [slot] = T["swap_module"].slots(tree, _site("swap_module", tree, ctx, ("camera", "1")), ctx)
    assert "GlobalMaxPool" in slot.options and "NatureCNN" not in slot.options  # 8x8 < 36x36


# --- insert_module ----------------------------------------------------------------------
def test_insert_places_poolings_only_where_the_rest_type_checks(ctx: TransformContext) -> None:
    tree = simple_tree()
    cat = ctx.catalog
    for index in (0, 1):  # before GRUEncoder, before LastStep: the sequence must go on
        [slot] = T["insert_module"].slots(tree, _site("insert_module", tree, ctx, ("history",), index), ctx)
        assert all(_emits(cat, op, "sequence") == "sequence" for op in slot.options)
    [slot] = T["insert_module"].slots(tree, _site("insert_module", tree, ctx, ("history",), 2), ctx)
    assert all(cat.lookup(str(op)).accepts == ("vector",) for op in slot.options)
    gaps = {(s.path, s.index) for s in T["insert_module"].sites(tree, ctx)}
    assert (("text",), 0) not in gaps  # nothing maps tokens to tokens
    assert (("head",), 0) in gaps  # a head is created on demand


def test_insert_into_a_missing_head_creates_it(ctx: TransformContext) -> None:
    tree = simple_tree()
    site = _site("insert_module", tree, ctx, ("head",), 0)
    assert site.source_kind == "fused" and site.klass.endswith("/gap")
    child = T["insert_module"].apply(tree, site, {"module": "LayerNormBlock"}, ctx)
    assert child.head is not None and child.head.children[0].op == "LayerNormBlock"


# --- delete_module ----------------------------------------------------------------------
def test_delete_never_removes_a_needed_pooling(ctx: TransformContext) -> None:
    paths = {s.path for s in T["delete_module"].sites(simple_tree(), ctx)}
    assert ("sensors", "0") in paths and ("history", "0") in paths
    assert ("history", "1") not in paths and ("camera", "1") not in paths and ("text", "0") not in paths


def test_delete_the_last_child_of_a_composite_removes_it(ctx: TransformContext) -> None:
    tree = encoder([branch("sensors", residual(module("LayerNormBlock")), module("Activation"))],
                   fusion("ConcatMLP"))
    small = TransformContext(ctx.catalog, {"sensors": ctx.inputs["sensors"]})
    child = T["delete_module"].apply(tree, Site(("sensors", "0", "0"), "module", "sensors", "vector"), {},
                                     small)
    assert [n.kind for n in child.branch("sensors").children] == ["module"]


# --- create_composite -------------------------------------------------------------------
def test_composites_respect_signals(ctx: TransformContext) -> None:
    tree = nested_tree()
    signals = node_signals(tree, ctx)
    t = CreateComposite()
    for site in t.sites(tree, ctx):
        assert site.index is not None
        first = signals[(*site.path, str(site.index))][0]
        last = signals[(*site.path, str(site.index + site.span - 1))][1]
        [kind] = t.slots(tree, site, ctx)
        assert ("repeat" in kind.options) == (first == last)
        assert first.kind == last.kind
    spans = {(s.path, s.index, s.span) for s in t.sites(tree, ctx)}
    assert (("camera",), 0, 1) not in spans  # the strided ConvStack shrinks the image
    assert (("sensors",), 1, 1) in spans


def test_repeat_asks_times(ctx: TransformContext) -> None:
    tree = nested_tree()
    site = _site("create_composite", tree, ctx, ("sensors",), 1, 1)
    slots = T["create_composite"].slots(tree, site, ctx, {"kind": "repeat"})
    assert [s.name for s in slots] == ["times"] and slots[0].options == (2, 3)
    child = T["create_composite"].apply(tree, site, {"kind": "repeat", "times": 3}, ctx)
    node = get(child, ("sensors", "1"))
    assert node.kind == "repeat" and node.param_dict["times"] == 3 and node.children[0].kind == "residual"


# --- change_fusion, crossover, repeat_previous ------------------------------------------
def test_change_fusion_options_and_carry(ctx: TransformContext) -> None:
    tree = nested_tree()  # SumFusion(width=32)
    site = _site("change_fusion", tree, ctx, ("fusion",))
    [slot] = T["change_fusion"].slots(tree, site, ctx)
    assert "SumFusion" not in slot.options and "ConcatMLP" in slot.options
    assert all(ctx.catalog.lookup(str(op)).role == "fusion" for op in slot.options)
    child = T["change_fusion"].apply(tree, site, {"module": "GatedSum"}, ctx)
    assert child.fusion.op == "GatedSum" and child.fusion.param_dict == {"width": 32}
    assert child.fusion.name == "fusion"


def test_crossover_takes_the_donor_branch(ctx: TransformContext) -> None:
    tree = simple_tree()
    sites = T["crossover"].sites(tree, ctx)
    assert {s.source for s in sites} == {"sensors", "history", "camera", "text"}
    site = next(s for s in sites if s.source == "camera")
    [slot] = T["crossover"].slots(tree, site, ctx)
    assert slot.options == (1,)  # donor 0 is the same tree
    child = T["crossover"].apply(tree, site, {"donor": 1}, ctx)
    assert child.branch("camera") == nested_tree().branch("camera")
    assert child.branch("text") == tree.branch("text")
    alone = TransformContext(ctx.catalog, ctx.inputs)
    assert T["crossover"].sites(tree, alone) == []


def test_repeat_previous_reapplies_elsewhere(ctx: TransformContext) -> None:
    tree = nested_tree()
    t = T["change_parameter"]
    site = _site("change_parameter", tree, ctx, ("sensors", "0"))
    choice = {"param": "activation", "value": "tanh"}
    child = t.apply(tree, site, choice, ctx)
    again = TransformContext(ctx.catalog, ctx.inputs, history=(("change_parameter", site, choice),))
    sites = T["repeat_previous"].sites(child, again)
    paths = {s.path for s in sites}
    assert ("sensors", "0") not in paths and ("sensors", "1", "0") in paths and ("head", "0") in paths
    assert all(s.role == "module" for s in sites)
    assert T["repeat_previous"].slots(child, sites[0], again) == []
    target = next(s for s in sites if s.path == ("head", "0"))
    grand = T["repeat_previous"].apply(child, target, {}, again)
    assert get(grand, ("head", "0")).param_dict["activation"] == "tanh"
    assert T["repeat_previous"].sites(child, ctx) == []  # no history


def test_site_depth_and_kind(ctx: TransformContext) -> None:
    tree = nested_tree()
    by_path = {s.path: s for s in T["swap_module"].sites(tree, ctx)}
    assert by_path[("sensors", "0")].depth == "early"
    assert by_path[("sensors", "1", "0")].depth == "early"
    assert by_path[("sensors", "2")].depth == "late"
    assert by_path[("text", "1")].source_kind == "tokens"
    assert by_path[("head", "0")].source_kind == "fused" and by_path[("head", "0")].depth == "late"
    flow = kind_flow(tree, ctx.inputs, ctx.catalog)
    assert flow[("text", "1")] == ("sequence", "sequence")
