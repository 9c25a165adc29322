"""LACER's move: the LLM proposes a whole configuration of the flat per-source space from the
history of designs with their feedback. Used by lacer/genius (every design) and by hybrid (its
``design:llm`` arm and its diverse start).

The answer is held to the space's JSON schema and validated by ``space.validate``; a failed or
invalid answer is replaced by a random configuration (counted as a fallback); a repeat of a
design already seen is moved to an unseen neighbour (one entry re-drawn; counted).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from evo_lacer.engine._harness import Proposal
from evo_lacer.engine._llm_client import LLMClient
from evo_lacer.engine._prompts import SYSTEM_CONFIG, config_prompt
from evo_lacer.engine._strategy import candidate_rng, candidate_seed
from evo_lacer.evaluate import Feedback
from evo_lacer.tree import Node


class FlatSpaceLike(Protocol):
    """What the flat strategies need of `evo_lacer.flat.FlatSpace`."""

    def sample(self, rng: np.random.Generator) -> dict[str, Any]: ...
    def suggest(self, trial: Any) -> dict[str, Any]: ...
    def validate(self, config: Any) -> dict[str, Any]: ...
    def to_tree(self, config: Any) -> Node: ...
    def describe(self) -> str: ...
    def json_schema(self) -> dict[str, Any]: ...


def config_key(config: Mapping[str, Any]) -> str:
    return json.dumps(dict(config), sort_keys=True, default=str)


History = Sequence[tuple[Mapping[str, Any], Feedback]]


class WholeDesigner:
    """Asks `client` for whole configurations of `space` (see module docstring)."""

    def __init__(self, client: LLMClient, space: FlatSpaceLike, *, seed: int, task: str,
                 channels: Sequence[str], history_shown: int = 6, max_tokens: int = 320) -> None:
        self.client = client
        self.space = space
        self.seed = seed
        self.task = task
        self.channels = tuple(channels)
        self.history_shown = history_shown
        self.max_tokens = max_tokens
        self.decisions = 0
        self.fallbacks = 0
        self.differs = 0
        self.repeats = 0

    def propose(self, cid: int, history: History, this_round: Sequence[Mapping[str, Any]] = ()
                ) -> tuple[dict[str, Any], bool, dict[str, Any]]:
        """(configuration, fell back, extra) for candidate `cid`."""
        rng = candidate_rng(self.seed, cid)
        baseline = self.space.sample(copy.deepcopy(rng))
        ranked = "reward" in self.channels  # without the reward, a best-first order would leak it
        shown: list[tuple[Mapping[str, Any], Feedback]] = []
        if ranked:
            best = sorted((h for h in history if h[1].ok), key=lambda h: -(h[1].fitness or 0.0))
            shown = list(best[: self.history_shown // 2])
        recent = [h for h in history[-self.history_shown:] if h not in shown]
        room = self.history_shown - len(shown)
        shown += recent[max(0, len(recent) - room):] if room > 0 else []
        prompt = config_prompt(task=self.task, space=self.space.describe(), history=shown,
                               channels=self.channels, this_round=list(this_round), ranked=ranked)
        value, error = self.client.ask(purpose="propose", system=SYSTEM_CONFIG, prompt=prompt,
                                       schema=self.space.json_schema(), seed=candidate_seed(self.seed, cid),
                                       max_tokens=self.max_tokens, candidate_id=cid)
        config: dict[str, Any] | None = None
        if value is not None:
            try:
                config = dict(self.space.validate(value))
            except Exception as exc:
                error = f"invalid configuration: {type(exc).__name__}: {exc}"
        fell_back = config is None
        if config is None:
            config = dict(self.space.sample(rng))
        seen = {config_key(c) for c, _ in history} | {config_key(c) for c in this_round}
        repeated = not fell_back and config_key(config) in seen
        if repeated:  # a small model often repeats the best design: keep its intent, change one entry
            config = self._unseen_neighbour(config, seen, rng)
            self.repeats += 1
        self.decisions += 1
        self.fallbacks += int(fell_back)
        differs = config_key(config) != config_key(baseline)
        self.differs += int(differs)
        extra = {"llm_error": error, "differs_from_random": differs, "repeat_moved": repeated}
        return config, fell_back, extra

    def design(self, cid: int, history: History, this_round: list[dict[str, Any]], *, origin: str
               ) -> Proposal:
        """`propose` as a tree strategy's proposal (its ``design:llm`` arm and its LLM start), told
        the designs of this round so far (`this_round` grows by it). A design the space cannot
        build is a proposal without a tree, recorded as failed: a space bug must not stop the search."""
        start = time.perf_counter()
        try:
            config, fell_back, extra = self.propose(cid, history, this_round)
            this_round.append(config)
            tree: Node | None = self.space.to_tree(config)
            error = ""
        except Exception as exc:
            config, fell_back, extra = {}, True, {}
            tree, error = None, f"whole design failed: {type(exc).__name__}: {exc}"
        return Proposal(tree=tree, transformation="llm_design", designer="llm", choice=config,
                        fell_back=fell_back, error=error, propose_s=time.perf_counter() - start,
                        extra={**extra, "origin": origin})

    def _unseen_neighbour(self, config: dict[str, Any], seen: set[str],
                          rng: np.random.Generator) -> dict[str, Any]:
        """`config` with one entry (a source or the fusion) re-drawn at random, so that it differs
        from every design in `seen` (the last draw if none does)."""
        out = dict(config)
        for _ in range(32):
            draw = self.space.sample(rng)
            entry = sorted(config)[int(rng.integers(0, len(config)))]
            out = {**config, entry: draw[entry]}
            if config_key(out) not in seen:
                break
        return out

    def counters(self) -> dict[str, int]:
        return {"decisions": self.decisions, "fallbacks": self.fallbacks, "differs": self.differs,
                "repeats": self.repeats}

    def load_counters(self, counters: Mapping[str, Any]) -> None:
        self.decisions = int(counters.get("decisions", 0))
        self.fallbacks = int(counters.get("fallbacks", 0))
        self.differs = int(counters.get("differs", 0))
        self.repeats = int(counters.get("repeats", 0))
