"""The hybrid's screen over proposals: each screened slot holds several children (random fills,
TPE designs, an LLM arm's answer) and evaluates the one the screen's model expects most of."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from evo_lacer.engine._arms import LLM_ARMS
from evo_lacer.engine._flat_designs import FlatDesigns
from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._screen import Screen
from evo_lacer.tree import tree_hash
from evo_lacer.zoo import Catalog

Screened = tuple[int, list[Proposal], float]
"""A screened slot: its position among the proposals, its variants, the seconds they took."""


class SlotScreen:
    """Picks each screened slot's child (`choose`) and hands the unchosen TPE suggestions back to
    `designs` (`retire`)."""

    def __init__(self, screen: Screen, catalog: Catalog, designs: FlatDesigns | None) -> None:
        self.screen = screen
        self.catalog = catalog
        self.designs = designs

    @property
    def variants(self) -> int:
        """Random fills per slot (`Screen.variants`)."""
        return self.screen.variants

    def choose(self, out: list[Proposal], screened: Sequence[Screened], *, seen: set[str],
               observed: Sequence[tuple[dict[str, float], float]], rng: np.random.Generator) -> None:
        """Replace each screened slot's proposal in `out` by the variant the screen picks: among the
        variants that made a tree (new trees first, then repeats of evaluated ones), by expected
        improvement."""
        t0 = time.perf_counter()
        slots: list[list[Proposal]] = []
        for _, variants, _ in screened:
            unique: dict[str, Proposal] = {}
            for p in variants:
                if p.tree is not None:
                    unique.setdefault(tree_hash(p.tree, self.catalog), p)
            fresh = [p for h, p in unique.items() if h not in seen]
            slots.append(fresh or list(unique.values()))
        picks = self.screen.choose([[p.tree for p in slot if p.tree is not None] for slot in slots],
                                   observed, rng)
        per_slot = (time.perf_counter() - t0) / len(screened)
        for (pos, variants, made_s), slot, (i, said) in zip(screened, slots, picks, strict=True):
            chosen = slot[i] if i >= 0 else variants[0]
            self.retire([p for p in variants if p is not chosen])
            info = {"variants": len(variants), "distinct": len(slot), **said}
            arm = out[pos].extra["arm"]
            credit = {"llm_won": chosen.designer == "llm" and not chosen.fell_back,
                      "llm_answer": out[pos].extra.get("llm_answer", "")} if arm in LLM_ARMS else {}
            out[pos] = replace(chosen, propose_s=made_s + per_slot,
                               extra={**chosen.extra, "arm": arm, "origin": out[pos].extra["origin"],
                                      "screen": info, **credit})

    def retire(self, unchosen: list[Proposal]) -> None:
        """Unchosen TPE suggestions among a screen's pool: kept for later screens or discarded."""
        if self.designs is not None:
            self.designs.keep_or_discard(unchosen)
