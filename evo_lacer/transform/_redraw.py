"""redraw_branch: replace one source's whole branch (or the fusion) by a fresh design of the flat
per-source space -- a move that travels, where the single-site edits only step.

The slots are the flat space's own decisions for that entry: first ``family``, then the chosen
family's parameters (dependent slots, filled round by round like any other transformation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from evo_lacer.errors import TreeError
from evo_lacer.transform._analysis import geometry
from evo_lacer.transform._base import Choice, Site, Slot, Transformation, TransformContext
from evo_lacer.transform._choices import match_option
from evo_lacer.tree import Node, ParamValue, replace_at, tree_hash

FUSION = "fusion"


class EntrySpace(Protocol):
    """What redraw_branch needs of `evo_lacer.flat.FlatSpace` (for the tree's sources)."""

    def entries(self) -> tuple[str, ...]: ...
    def suggest_entry(self, entry: str, trial: Any) -> dict[str, Any]: ...
    def entry_tree(self, entry: str, values: Mapping[str, Any], catalog: Any = None) -> Node: ...


class _Open(Exception):
    """Raised by `_Script` at the first decision not answered yet."""

    def __init__(self, slot: Slot) -> None:
        super().__init__(slot.name)
        self.slot = slot


class _Script:
    """An Optuna-trial stand-in that answers the space's questions from `chosen` (by the last
    part of the parameter name) and stops at the first open one."""

    def __init__(self, chosen: Mapping[str, ParamValue]) -> None:
        self.chosen = chosen

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        key = name.rsplit(".", 1)[-1]
        options = tuple(choices)
        if key not in self.chosen:
            what = "encoder family" if key == "family" else f"{key} of the family"
            raise _Open(Slot(key, options, f"the new branch's {what}"))
        found, value = match_option(self.chosen[key], options)
        if not found:
            raise TreeError(f"redraw_branch: {key}={self.chosen[key]!r} is not one of {list(options)}")
        return value


class RedrawBranch(Transformation):
    """Sites: every branch whose source the space covers, and the fusion. Slots: the entry's
    ``family`` then that family's parameters (as the flat space lists them)."""

    name = "redraw_branch"
    context_free = True
    description = "replace a whole branch (or the fusion) by a new design from the per-source space"

    def __init__(self, space: EntrySpace) -> None:
        self.space = space

    def sites(self, tree: Node, ctx: TransformContext) -> list[Site]:
        entries = set(self.space.entries())
        out = []
        for b in tree.branches:
            source = str(b.name)
            if source in entries:
                _, kind, _ = geometry(tree, (source,), ctx.inputs)
                out.append(Site((source,), "branch", source, kind, "early"))
        if FUSION in entries:
            out.append(Site((FUSION,), "fusion", *geometry(tree, (FUSION,), ctx.inputs)))
        return out

    @staticmethod
    def _entry(site: Site) -> str:
        return site.source if site.source is not None else FUSION

    def slots(
        self, tree: Node, site: Site, ctx: TransformContext, chosen: Choice | None = None
    ) -> list[Slot]:
        try:
            self.space.suggest_entry(self._entry(site), _Script(chosen or {}))
        except _Open as open_:
            return [open_.slot]
        return []

    def apply(self, tree: Node, site: Site, choice: Choice, ctx: TransformContext) -> Node:
        entry = self._entry(site)
        if entry not in self.space.entries():
            raise TreeError(f"redraw_branch: {entry!r} is not an entry of the flat space "
                            f"{list(self.space.entries())}")
        try:
            values = self.space.suggest_entry(entry, _Script(choice))
        except _Open as open_:
            raise TreeError(f"redraw_branch at {site.describe()}: no value for {open_.slot.name!r}; "
                            f"choose one of {list(open_.slot.options)}") from None
        new = self.space.entry_tree(entry, values, ctx.catalog)
        old = tree.fusion if entry == FUSION else tree.branch(entry)
        if tree_hash(new, ctx.catalog) == tree_hash(old, ctx.catalog):
            raise TreeError(f"redraw_branch at {site.describe()}: the new design equals the current one")
        return replace_at(tree, site.path, new)
