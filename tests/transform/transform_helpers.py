"""Helpers shared by the transformation tests: fill a site's slots from the listed options."""

from __future__ import annotations

import random
from collections.abc import Callable

from evo_lacer.transform import Site, Transformation, TransformContext
from evo_lacer.tree import Node, ParamValue

Picker = Callable[[tuple[ParamValue, ...]], ParamValue]


def fill(t: Transformation, tree: Node, site: Site, ctx: TransformContext, pick: Picker,
         skip_optional: Callable[[], bool] = lambda: False) -> dict[str, ParamValue]:
    """Ask `t` for slots until none is open, answering each with `pick(options)`."""
    chosen: dict[str, ParamValue] = {}
    skipped: set[str] = set()
    for _ in range(50):
        open_slots = [s for s in t.slots(tree, site, ctx, chosen) if s.name not in skipped]
        if not open_slots:
            return chosen
        for slot in open_slots:
            assert slot.options, f"{t.name} at {site.describe()}: slot {slot.name} has no options"
            if not slot.required and skip_optional():
                skipped.add(slot.name)
            else:
                chosen[slot.name] = pick(slot.options)
    raise AssertionError(f"{t.name} at {site.describe()}: slots never close")


def seeded_picker(seed: int) -> Picker:
    rng = random.Random(seed)
    return lambda options: options[rng.randrange(len(options))]
