"""Whole designs of the flat per-source space beside a tree strategy's edits.

The hybrid's screen weighs, for each screened slot, `per_screen` whole designs against its local
edits: uniform draws, or TPE's suggestions (``source="tpe"``) from a study told every flat
design's outcome. A suggestion the screen does not choose is kept for up to `reuse` screens, then
retired (told FAIL, which TPE's model leaves out). The optional ``design:tpe`` arm asks the same
study for a whole design of its own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._records import Candidate
from evo_lacer.engine._tpe_designer import TPEDesigner
from evo_lacer.engine._whole_designer import FlatSpaceLike
from evo_lacer.tree import Node

FLAT_DESIGNS = ("initial", "llm_design", "tpe_design", "screen_design")
"""Transformations whose child is a whole configuration of the flat space (`Proposal.choice`)."""


class FlatDesigns:
    """The screen's whole designs and the TPE study behind them (see module docstring)."""

    def __init__(self, space: FlatSpaceLike, *, tpe: TPEDesigner | None, per_screen: int,
                 source: str = "random", reuse: int = 1, seed: int = 0) -> None:
        self.space = space
        self.tpe = tpe
        """The study told every flat design's outcome (start, LLM and TPE designs); None: no TPE."""
        self.per_screen = per_screen
        """Whole designs added to each screened slot's pool (0: none)."""
        self.source = source
        """random: uniform draws; tpe: TPE's suggestions."""
        self.reuse = reuse
        """Screens a TPE suggestion stays in while unchosen (1: discarded after its first)."""
        self.seed = seed
        self.spare: list[tuple[dict[str, Any], int, int]] = []
        """Unchosen TPE suggestions kept for later screens: (configuration, trial, screens seen)."""

    def variants(self, cid: int, index: int) -> list[Proposal]:
        """`per_screen` whole designs for slot `cid`'s screen (seeded by candidate and draw): uniform
        draws, or TPE's suggestions -- first the spare ones earlier screens did not choose, then new
        asks. Chosen, one is told to the planner as its slot's plan (no parent: no improvement) and
        learned by TPE like any flat design; unchosen suggestions go to `keep_or_discard`."""
        out: list[Proposal] = []
        if not self.per_screen:
            return out
        spare, self.spare = self.spare[:self.per_screen], self.spare[self.per_screen:]
        draws: list[tuple[dict[str, Any], str, dict[str, Any], float]] = [
            (config, "tpe", {"plan_index": index, "tpe_trial": trial, "screen_age": age}, time.perf_counter())
            for config, trial, age in spare]
        for k in range(len(spare), self.per_screen):
            start = time.perf_counter()
            rng = np.random.default_rng([self.seed, cid, k, 0xD35])
            extra: dict[str, Any] = {"plan_index": index}
            if self.source == "tpe" and self.tpe is not None:
                config, extra["tpe_trial"] = self.tpe.ask(rng)
                draws.append((config, "tpe", extra, start))
            else:
                draws.append((self.space.sample(rng), "random", extra, start))
        for config, designer, extra, start in draws:
            try:
                tree: Node | None = self.space.to_tree(config)
            except Exception:  # a space bug must not stop the search: the edits remain
                if self.tpe is not None and "tpe_trial" in extra:
                    self.tpe.discard([extra["tpe_trial"]])
                continue
            out.append(Proposal(tree=tree, transformation="screen_design", designer=designer,
                                choice=dict(config), propose_s=time.perf_counter() - start, extra=extra))
        return out

    def keep_or_discard(self, unchosen: Sequence[Proposal]) -> None:
        """Unchosen TPE suggestions: kept for the next screens while they have been in fewer than
        `reuse`, else discarded (told FAIL, so they count neither for nor against)."""
        if self.tpe is None:
            return
        gone = []
        for p in unchosen:
            if "tpe_trial" not in p.extra:
                continue
            age = int(p.extra.get("screen_age", 0)) + 1
            if age < self.reuse:
                self.spare.append((dict(p.choice or {}), int(p.extra["tpe_trial"]), age))
            else:
                gone.append(int(p.extra["tpe_trial"]))
        if gone:
            self.tpe.discard(gone)

    def design_tpe(self, rng: np.random.Generator) -> Proposal:
        """A whole design from TPE over the flat space (the ``design:tpe`` arm)."""
        assert self.tpe is not None
        start = time.perf_counter()
        config, trial = self.tpe.ask(rng)
        try:
            tree: Node | None = self.space.to_tree(config)
            error = ""
        except Exception as exc:  # a space bug must not stop the search
            tree, error = None, f"TPE design could not be built: {type(exc).__name__}: {exc}"
        return Proposal(tree=tree, transformation="tpe_design", designer="tpe", choice=config, error=error,
                        propose_s=time.perf_counter() - start, extra={"tpe_trial": trial})

    def tell(self, cands: Sequence[Candidate]) -> None:
        """TPE learns every flat design's outcome: its own by trial, the others' as added trials."""
        if self.tpe is None:
            return
        own = [(int(c.extra["tpe_trial"]), c.fitness) for c in cands if "tpe_trial" in c.extra]
        if own:
            self.tpe.tell(own)
        for c in cands:
            if c.choice and c.transformation in FLAT_DESIGNS and "tpe_trial" not in c.extra:
                self.tpe.add(c.choice, c.fitness)

    def state_dict(self) -> dict[str, Any]:
        return {"tpe": None if self.tpe is None else self.tpe.state_dict(),
                "screen_spare": [[cfg, trial, age] for cfg, trial, age in self.spare]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if self.tpe is not None and state.get("tpe"):
            self.tpe.load_state_dict(state["tpe"])
        self.spare = [(dict(cfg), int(trial), int(age)) for cfg, trial, age in state.get("screen_spare", [])]
