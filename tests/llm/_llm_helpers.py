"""Helpers shared by the LLM tests (imported by name; fixtures live in conftest.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from evo_lacer.llm import Generation, LLMReply, LLMRequest, choice_schema, parse_answer

CHOICES = {"module": ["mlp", "conv1d", "gru", "attention"], "width": [32, 64, 128]}


def choice_request(seed: int = 0, **kw: object) -> LLMRequest:
    """A small constrained question like the search's designer asks."""
    return LLMRequest(
        system="You design neural-network encoders. Answer with JSON only.",
        prompt=(
            "The input is a time series of 50 steps with 8 features. Choose the module that "
            "encodes it and the width of its output. module: one of mlp, conv1d, gru, "
            "attention. width: one of 32, 64, 128."
        ),
        schema=choice_schema(CHOICES),
        seed=seed,
        **kw,  # type: ignore[arg-type]
    )


@dataclass
class ScriptedBackend:
    """Answers every question with the same text, fast: for server and client failure paths."""

    text: str
    name: str = "scripted"
    model: str = "scripted"

    def generate(self, request: LLMRequest) -> Generation:
        return Generation(self.text, 3, 2, 0.001, 0.0005, "stop")

    def complete(self, request: LLMRequest) -> LLMReply:
        start = time.perf_counter()
        value = parse_answer(self.text, request.schema)
        return LLMReply(value, self.text, 3, 2, time.perf_counter() - start, self.name, self.model)
