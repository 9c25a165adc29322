"""Choices: parameter domains, matching an answer to the listed options, validating a whole
choice slot by slot against what a transformation listed, and the shared `module` + params
slots of swap, insert and change fusion."""

from __future__ import annotations

from collections.abc import Mapping

from evo_lacer.errors import TreeError
from evo_lacer.transform._analysis import op_name
from evo_lacer.transform._base import Choice, Site, Slot, Transformation, TransformContext
from evo_lacer.tree import Node, ParamValue, freeze_params
from evo_lacer.zoo import SOURCES_MARKER, ModuleSpec, ParamSpec


# --- parameters -----------------------------------------------------------------------------
def domain(param: ParamSpec, tree: Node) -> tuple[ParamValue, ...]:
    """The finite options of a searchable parameter (``@sources`` expands to the tree's sources)."""
    if param.domain == SOURCES_MARKER:
        return tuple(str(b.name) for b in tree.branches)
    if isinstance(param.domain, tuple):
        return param.domain
    return ()


def searchable(spec: ModuleSpec) -> tuple[ParamSpec, ...]:
    return tuple(p for p in spec.searchable if p.domain)


def current_value(node: Node, spec: ModuleSpec, name: str) -> ParamValue:
    """The value a node's parameter has: set explicitly, else the spec's literal default."""
    params = node.param_dict
    if name in params:
        return params[name]
    return spec.defaults().get(name)


def same_value(a: object, b: object) -> bool:
    """Equality that tells booleans from numbers (``True != 1`` here) and compares lists as tuples."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return False
    return bool(a == b)


def match_option(value: object, options: tuple[ParamValue, ...]) -> tuple[bool, ParamValue]:
    """(found, the option as listed) for `value`; JSON lists match tuples, 2 matches 2.0."""
    for opt in options:
        if same_value(value, opt):
            return True, opt
    return False, None


def alternatives(node: Node, spec: ModuleSpec, param: ParamSpec, tree: Node) -> tuple[ParamValue, ...]:
    now = current_value(node, spec, param.name)
    return tuple(v for v in domain(param, tree) if not same_value(v, now))


# --- choices --------------------------------------------------------------------------------
def same_place(a: Site, b: Site) -> bool:
    return (a.path, a.role, a.index, a.span) == (b.path, b.role, b.index, b.span)


def resolve_site(t: Transformation, tree: Node, site: Site, ctx: TransformContext) -> Site:
    """The listed site at the same place as `site`; TreeError listing the legal sites otherwise."""
    legal = t.sites(tree, ctx)
    for s in legal:
        if same_place(s, site):
            return s
    shown = ", ".join(s.describe() for s in legal[:12]) + (" ..." if len(legal) > 12 else "")
    raise TreeError(
        f"{t.name}: {site.describe()} ({site.role}) is not a legal site; legal sites: [{shown}]"
    )


def check_choice(t: Transformation, tree: Node, site: Site, choice: Choice,
                 ctx: TransformContext) -> dict[str, ParamValue]:
    """`choice` validated slot by slot against what `t.slots` lists (dependent slots included);
    values are returned as the listed options. TreeError names the slot and its legal options."""
    remaining = dict(choice)
    chosen: dict[str, ParamValue] = {}
    while True:
        progressed = False
        for slot in t.slots(tree, site, ctx, chosen):
            if slot.name in remaining:
                value = remaining.pop(slot.name)
                found, opt = match_option(value, slot.options)
                if not found:
                    raise TreeError(
                        f"{t.name} at {site.describe()}: {slot.name}={value!r} is not legal; "
                        f"choose one of {list(slot.options)}"
                    )
                chosen[slot.name] = opt
                progressed = True
            elif slot.required:
                raise TreeError(
                    f"{t.name} at {site.describe()}: slot {slot.name!r} is missing; "
                    f"choose one of {list(slot.options)}"
                )
        if not progressed:
            break
    if remaining:
        raise TreeError(
            f"{t.name} at {site.describe()}: unknown slot(s) {sorted(remaining)}; "
            f"the slots were {sorted(chosen) or 'none'}"
        )
    return chosen


def resolve(t: Transformation, tree: Node, site: Site, choice: Choice,
            ctx: TransformContext) -> tuple[Site, dict[str, ParamValue]]:
    """The legal site and the validated choice (see `resolve_site`, `check_choice`)."""
    legal = resolve_site(t, tree, site, ctx)
    return legal, check_choice(t, tree, legal, choice, ctx)


# --- module choices (swap, insert, change fusion) -------------------------------------------
def carried_params(old: Node | None, spec: ModuleSpec, tree: Node) -> dict[str, ParamValue]:
    """Parameters of the replaced node that the new module has too, with values it allows."""
    if old is None:
        return {}
    out: dict[str, ParamValue] = {}
    for p in searchable(spec):
        if p.name in old.param_dict:
            found, opt = match_option(old.param_dict[p.name], domain(p, tree))
            if found:
                out[p.name] = opt
    return out


def module_slots(options: list[ModuleSpec], tree: Node, ctx: TransformContext, chosen: Choice,
                 where: str, replaced: Node | None = None) -> list[Slot]:
    """First a `module` slot over `options`, then that module's searchable parameters (optional:
    unset ones keep the replaced node's value when legal, else the default)."""
    names = tuple(op_name(s, ctx.catalog) for s in options)
    if "module" not in chosen:
        return [Slot("module", names, f"the module to put at {where}")]
    found, name = match_option(chosen["module"], names)
    if not found:
        raise TreeError(f"module={chosen['module']!r} is not legal at {where}; choose one of {list(names)}")
    spec = ctx.catalog.lookup(str(name))
    carried = carried_params(replaced, spec, tree)
    out = []
    for p in searchable(spec):
        if p.name in chosen:
            continue
        default = carried.get(p.name, spec.defaults().get(p.name))
        out.append(Slot(p.name, domain(p, tree), f"{spec.short}.{p.name} (default {default!r})",
                        required=not p.has_default and p.name not in carried))
    return out


def module_node(kind: str, chosen: Mapping[str, ParamValue], tree: Node, ctx: TransformContext,
                replaced: Node | None = None) -> Node:
    """The node for a validated module choice (`module` plus parameters)."""
    spec = ctx.catalog.lookup(str(chosen["module"]))
    params = carried_params(replaced, spec, tree)
    params.update({k: v for k, v in chosen.items() if k != "module"})
    name = replaced.name if replaced is not None else ("fusion" if kind == "fusion" else None)
    return Node(kind, op=op_name(spec, ctx.catalog), params=freeze_params(params, spec.short), name=name)
