"""change_parameter: set one searchable parameter of a module or the fusion to another value."""

from __future__ import annotations

from itertools import islice

from evo_lacer.errors import TreeError
from evo_lacer.transform._analysis import dims_ok, geometry, in_residual, spec_of
from evo_lacer.transform._base import Choice, Site, Slot, Transformation, TransformContext
from evo_lacer.transform._choices import alternatives, current_value, resolve, searchable
from evo_lacer.tree import Node, ParamValue, Path, get, replace_at, short_op, walk
from evo_lacer.zoo import ParamSpec


class ChangeParameter(Transformation):
    """Slots: `param` (a searchable parameter with another legal value), then `value` (its
    domain without the current value; ``@sources`` domains list the tree's sources)."""

    name = "change_parameter"
    context_free = True
    description = "change one hyperparameter of a module or of the fusion"

    def _values(self, tree: Node, node: Node, path: Path, param: ParamSpec, ctx: TransformContext,
                first: bool = False) -> tuple[ParamValue, ...]:
        """Other legal values (inside a residual: those that still build; only the first one
        found when `first`)."""
        values = alternatives(node, spec_of(node, ctx.catalog, path), param, tree)
        if node.kind == "module" and in_residual(tree, path):  # the skip fixes the shape
            ok = (v for v in values
                  if dims_ok(replace_at(tree, path, node.with_params(**{param.name: v})), ctx))
            values = tuple(islice(ok, 1 if first else None))
        return values

    def _params(self, tree: Node, node: Node, path: Path, ctx: TransformContext,
                first: bool = False) -> list[str]:
        spec = spec_of(node, ctx.catalog, path)
        ok = (p.name for p in searchable(spec) if self._values(tree, node, path, p, ctx, first=True))
        return list(islice(ok, 1 if first else None))

    def sites(self, tree: Node, ctx: TransformContext) -> list[Site]:
        out = []
        for path, node in walk(tree):
            if node.kind not in ("module", "fusion") or not self._params(tree, node, path, ctx, first=True):
                continue
            source, kind, depth = geometry(tree, path, ctx.inputs)
            role = "fusion" if node.kind == "fusion" else "module"
            out.append(Site(path, role, source, kind, depth))
        return out

    def slots(
        self, tree: Node, site: Site, ctx: TransformContext, chosen: Choice | None = None
    ) -> list[Slot]:
        chosen = chosen or {}
        node = get(tree, site.path)
        if node.kind not in ("module", "fusion"):
            return []
        spec = spec_of(node, ctx.catalog, site.path)
        names = self._params(tree, node, site.path, ctx)
        if "param" not in chosen:
            return [Slot("param", tuple(names), f"which parameter of {short_op(node.op)} to change")]
        if chosen["param"] not in names:
            raise TreeError(f"{self.name} at {site.describe()}: param={chosen['param']!r} is not legal; "
                            f"choose one of {names}")
        if "value" in chosen:
            return []
        param = spec.param(str(chosen["param"]))
        assert param is not None
        now = current_value(node, spec, param.name)
        return [Slot("value", self._values(tree, node, site.path, param, ctx),
                     f"new value of {short_op(node.op)}.{param.name} (now {now!r})")]

    def apply(self, tree: Node, site: Site, choice: Choice, ctx: TransformContext) -> Node:
        site, chosen = resolve(self, tree, site, choice, ctx)
        node = get(tree, site.path)
        new = node.with_params(**{str(chosen["param"]): chosen["value"]})
        return replace_at(tree, site.path, new)
