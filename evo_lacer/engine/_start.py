"""A tree strategy's diverse start: the first generation, proposed before any edit.

It holds the user's seed trees, a Latin-hypercube sample of the flat per-source space and, for
hybrid with an LLM, whole designs the LLM proposes from the task description (LACER's move).
They count against the budget like any evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._whole_designer import FlatSpaceLike, History, WholeDesigner
from evo_lacer.tree import Node


class DiverseStart:
    """The first generation: `seeds`, then `n` sampled designs, then `llm_designs` LLM designs."""

    def __init__(self, seeds: Sequence[Node], space: FlatSpaceLike | None, n: int, *, seed: int,
                 whole: WholeDesigner | None, llm_designs: int) -> None:
        self.designs: list[tuple[Node, str, dict[str, Any]]] = [(s, "seed", {}) for s in seeds]
        """(tree, origin, flat configuration) of the seed trees and the sample."""
        if n > 0 and space is not None:
            sample = getattr(space, "latin_sample", None)
            rng = np.random.default_rng([seed, 0x1A7])
            configs = sample(n, rng) if callable(sample) else [space.sample(rng) for _ in range(n)]
            self.designs += [(space.to_tree(c), "initial", dict(c)) for c in configs]
        self.whole = whole
        self.llm_designs = llm_designs if whole is not None else 0
        self.proposed = 0

    @property
    def total(self) -> int:
        return len(self.designs) + self.llm_designs

    @property
    def done(self) -> bool:
        """Whether every design of the start was proposed."""
        return self.proposed >= self.total

    def propose(self, n: int, first_id: int, this_round: list[dict[str, Any]],
                history: History) -> list[Proposal]:
        """The start's next (at most) `n` designs; `this_round` (the flat designs proposed and not
        yet observed) grows by theirs, and the LLM is told them."""
        out: list[Proposal] = []
        for i in range(min(n, self.total - self.proposed)):
            k = self.proposed + i
            if k < len(self.designs):
                tree, origin, config = self.designs[k]
                out.append(Proposal(tree=tree, transformation=origin, designer=origin, choice=config,
                                    extra={"origin": origin}))
                if config:
                    this_round.append(config)
            else:
                assert self.whole is not None
                out.append(self.whole.design(first_id + i, history, this_round, origin="initial:llm"))
        self.proposed += len(out)
        return out
