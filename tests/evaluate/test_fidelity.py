"""successive_halving and Promoter: cheap for all, full for the best, decided in the parent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import pytest

from evo_lacer.errors import EvaluationError
from evo_lacer.evaluate import Cost, Feedback, Promoter, Status, successive_halving
from evo_lacer.tree import Node, branch, encoder, fusion, module


class Scripted:
    """Fitness = the first branch's MLP width (scaled), or a failure for width 0."""

    observation_space = gym.spaces.Box(-1, 1, (2,))

    def __init__(self, fidelity: str, scale: float) -> None:
        self.fidelity, self.scale, self.calls = fidelity, scale, 0

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        self.calls += 1
        width = dict(tree.branches[0].children[0].params)["width"]
        if width == 0:
            return Feedback.failure(Status.FAILED, "zero width", Cost(1.0))
        return Feedback(Status.OK, fitness=self.scale * float(width), cost=Cost(1.0, 10),
                        fidelity=self.fidelity)

    def describe(self) -> str:
        return "scripted"


def tree(width: int) -> Node:
    return encoder([branch("obs", module("MLPBlock", width=width))], fusion("ConcatMLP"))


@pytest.mark.parametrize("executor", [None, ThreadPoolExecutor(2)])
def test_best_quarter_is_promoted(executor: ThreadPoolExecutor | None) -> None:
    cheap, full = Scripted("imitation", 1.0), Scripted("full", 100.0)
    widths = [8, 0, 64, 16, 32, 4, 128, 2]
    out = successive_halving([tree(w) for w in widths], cheap, full, executor, keep=0.25, seeds=0)
    assert cheap.calls == 8 and full.calls == 2  # ceil(0.25 * 7 successful)
    assert [i for i, fb in enumerate(out) if fb.ok and fb.fidelity == "full"] == [2, 6]
    assert out[6].fitness == 12800.0 and out[6].metrics["cheap_fitness"] == 128.0
    assert out[6].cost.seconds == 2.0
    assert out[1].status is Status.FAILED


def test_halving_checks_arguments() -> None:
    cheap = Scripted("imitation", 1.0)
    with pytest.raises(EvaluationError, match="keep"):
        successive_halving([tree(1)], cheap, cheap, keep=0.0)
    with pytest.raises(EvaluationError, match="seeds"):
        successive_halving([tree(1)], cheap, cheap, seeds=[1, 2])


def test_promoter_keeps_the_top_fraction() -> None:
    promoter = Promoter(keep=0.5, warmup=1)
    fb = lambda f: Feedback(Status.OK, fitness=f)  # noqa: E731
    assert promoter.tell(fb(1.0))  # warm-up
    assert promoter.tell(fb(2.0))  # best of 2
    assert not promoter.tell(fb(0.5))  # worst of 3
    assert promoter.tell(fb(3.0))
    assert not promoter.tell(Feedback.failure(Status.FAILED, "x"))
