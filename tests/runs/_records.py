"""Synthetic candidate and LLM records, as the search writes them."""

from __future__ import annotations

from typing import Any

from evo_lacer.evaluate import Cost, Feedback, Status
from evo_lacer.tree import branch, encoder, fusion, module, node_to_dict, tree_hash


def tree(width: int):  # type: ignore[no-untyped-def]
    return encoder([branch("ego", module("torch.nn.Linear", out_features=width)),
                    branch("history", module("modules_zoo.sequence.GRUEncoder", hidden=width))],
                   fusion("modules_zoo.fusion.Concat"))


def candidate(i: int, status: Status = Status.OK, fitness: float | None = None,
              strategy: str = "hybrid", **extra: Any) -> dict[str, Any]:
    t = tree(8 + i)
    if status is Status.OK:
        fb = Feedback(Status.OK, fitness=float(i) if fitness is None else fitness,
                      metrics={"reward": 1.5 * i, "mean_speed": 4.2},
                      features={"ego/effective_rank": 3.0}, cost=Cost(seconds=2.0 + i, env_steps=1000))
    else:
        fb = Feedback.failure(status, f"{status.value} because of reasons {i}", Cost(seconds=0.5))
    record = {
        "id": i, "generation": i // 4, "parents": [i - 1] if i else [], "strategy": strategy,
        "transformation": "change_param", "site": "ego/0", "choice": {"out_features": 8 + i},
        "designer": "llm", "tree": node_to_dict(t), "tree_hash": tree_hash(t),
        "feedback": fb.to_dict(), "timings": {"gate": 0.01, "evaluate": 2.0 + i},
    }
    record.update(extra)
    return record


def llm_exchange(i: int, fallback: bool = False) -> dict[str, Any]:
    return {"backend": "ollama", "model": "qwen2.5:0.5b", "prompt_tokens": 300 + i,
            "completion_tokens": 40, "seconds": 1.25, "fallback": fallback,
            "differs_from_random": bool(i % 2) if not fallback else None,
            "prompt": "choose a module", "answer": '{"op": "MLPBlock"}'}
