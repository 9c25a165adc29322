"""create_composite: wrap a run of consecutive children in a residual or a repeat block."""

from __future__ import annotations

from evo_lacer.errors import ShapeError
from evo_lacer.signals import Image, Sequence, Signal, Vector
from evo_lacer.transform._analysis import containers, geometry, node_signals
from evo_lacer.transform._base import Choice, Site, Slot, Transformation, TransformContext
from evo_lacer.transform._choices import resolve
from evo_lacer.tree import Node, Path, get, repeat, replace_at, residual

TIMES = (2, 3)


def projectable(a: Signal, b: Signal) -> bool:
    """Whether ``x + body(x)`` can be formed with a learned projection of the skip: same kind,
    and only the feature/channel width may change (time steps and image size must match)."""
    if isinstance(a, Vector) and isinstance(b, Vector):
        return True
    if isinstance(a, Sequence) and isinstance(b, Sequence):
        return a.t == b.t
    if isinstance(a, Image) and isinstance(b, Image):
        return (a.h, a.w) == (b.h, b.w)
    return False


class CreateComposite(Transformation):
    """Sites: runs ``[index, index + span)`` of a sequential node's children. Slots: `kind`
    (``residual`` where the skip can be projected, ``repeat`` where the run keeps the signal
    exactly), then `times` for a repeat."""

    name = "create_composite"
    context_free = True
    description = "wrap consecutive modules in a residual block or repeat them"

    def _kinds(self, tree: Node, parent: Path, index: int, span: int,
               ctx: TransformContext) -> tuple[str, ...]:
        signals = node_signals(tree, ctx)
        if (*parent, str(index)) not in signals or (*parent, str(index + span - 1)) not in signals:
            return ()
        first, last = signals[(*parent, str(index))][0], signals[(*parent, str(index + span - 1))][1]
        kinds = []
        if projectable(first, last):
            kinds.append("residual")
        if first == last:
            kinds.append("repeat")
        return tuple(kinds)

    def sites(self, tree: Node, ctx: TransformContext) -> list[Site]:
        try:
            node_signals(tree, ctx)
        except ShapeError:
            return []
        out = []
        for parent, node in containers(tree):
            n = len(node.children)
            for index in range(n):
                for span in range(1, n - index + 1):
                    if self._kinds(tree, parent, index, span, ctx):
                        source, kind, depth = geometry(tree, (*parent, str(index)), ctx.inputs)
                        out.append(Site(parent, "span", source, kind, depth, index=index, span=span))
        return out

    def slots(
        self, tree: Node, site: Site, ctx: TransformContext, chosen: Choice | None = None
    ) -> list[Slot]:
        chosen = chosen or {}
        if site.index is None:
            return []
        if "kind" not in chosen:
            kinds = self._kinds(tree, site.path, site.index, site.span, ctx)
            return [Slot("kind", kinds, f"composite to wrap {site.describe()} in")]
        if chosen["kind"] == "repeat" and "times" not in chosen:
            return [Slot("times", TIMES, "how many times the run is applied (weights not shared)")]
        return []

    def apply(self, tree: Node, site: Site, choice: Choice, ctx: TransformContext) -> Node:
        site, chosen = resolve(self, tree, site, choice, ctx)
        assert site.index is not None
        parent = get(tree, site.path)
        run = parent.children[site.index: site.index + site.span]
        if chosen["kind"] == "repeat":
            times = chosen["times"]
            assert isinstance(times, int)
            block = repeat(times, *run)
        else:
            block = residual(*run)
        kids = (*parent.children[: site.index], block, *parent.children[site.index + site.span:])
        return replace_at(tree, site.path, parent.with_children(kids))
