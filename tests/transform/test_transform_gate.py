"""The gate rejects each kind of bad candidate with the right check and a reason naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import nested_tree, simple_tree
from gymnasium import spaces

from evo_lacer.errors import ConfigError, GateRejection
from evo_lacer.transform import ALL_TRANSFORMATIONS, Gate, GateResult, Site, TransformContext, fastest_ms
from evo_lacer.tree import Node, branch, encoder, fusion, module, replace_at
from evo_lacer.zoo import Catalog, mine

NAN_MODULE = '''
import torch
from torch import nn


class NaNBlock(nn.Module):
    """Keeps the width, poisons the values."""

    accepts = ("vector",)
    emits = "vector"
    search_space = {}

    def __init__(self, in_dim: int) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * float("nan")
'''


def test_seed_passes(gate: Gate) -> None:
    result = gate.check(None, nested_tree())
    assert result.ok and result.check is None
    assert result.params and result.params > 0 and result.latency_ms is not None
    assert result.compile_ms is not None and result.forward_ms is not None and result.child_hash


def test_structure(gate: Gate) -> None:
    tree = simple_tree()
    no_fusion = Node("encoder", children=tree.branches)
    result = gate.check(tree, no_fusion)
    assert (result.ok, result.check) == (False, "structure") and "fusion" in result.reason
    unknown = replace_at(tree, ("sensors", "0"), module("NoSuchBlock"))
    result = gate.check(tree, unknown)
    assert result.check == "structure" and "encoder/sensors/0" in result.reason


def test_unchanged(gate: Gate) -> None:
    tree = simple_tree()
    assert gate.check(tree, tree).check == "unchanged"
    explicit = replace_at(tree, ("sensors", "0"), module("MLPBlock", width=32, activation="relu"))
    assert gate.check(tree, explicit).check == "unchanged"  # the default spelled out


def test_intent(gate: Gate, ctx: TransformContext) -> None:
    tree = simple_tree()
    t = ALL_TRANSFORMATIONS["swap_module"]
    site = next(s for s in t.sites(tree, ctx) if s.path == ("history", "0"))
    child = t.apply(tree, site, {"module": "LSTMEncoder"}, ctx)
    assert gate.check(tree, child, ("swap_module", site, {"module": "LSTMEncoder"})).ok
    result = gate.check(tree, child, ("swap_module", site, {"module": "Conv1dStack"}))
    assert result.check == "intent" and "LSTMEncoder" in result.reason
    assert "encoder/history/0" in result.reason
    result = gate.check(tree, child, ("swap_module", site, {"module": "LSTMEncoder", "hidden": 64}))
    assert result.check == "intent" and "hidden is 16" in result.reason  # carried from GRUEncoder
    p = ALL_TRANSFORMATIONS["change_parameter"]
    psite = next(s for s in p.sites(tree, ctx) if s.path == ("sensors", "0"))
    changed = p.apply(tree, psite, {"param": "width", "value": 64}, ctx)
    result = gate.check(tree, changed, ("change_parameter", psite, {"param": "width", "value": 128}))
    assert result.check == "intent" and "width is 64" in result.reason
    elsewhere = Site(("camera", "0"), "module", "camera", "image")
    result = gate.check(tree, changed, ("delete_module", elsewhere, {}))
    assert result.check == "intent"


def test_compile(gate: Gate) -> None:
    tree = simple_tree()
    too_small = replace_at(tree, ("camera",), branch("camera", module("NatureCNN")))  # 16x16 < 36x36
    result = gate.check(tree, too_small)
    assert result.check == "compile" and "encoder/camera/0" in result.reason
    unpooled = replace_at(tree, ("history",), branch("history", module("GRUEncoder")))
    result = gate.check(tree, unpooled)
    assert result.check == "compile" and "encoder/history" in result.reason


def test_params(space: spaces.Dict, catalog: Catalog) -> None:
    tree, child = simple_tree(), nested_tree()
    result = Gate(space, catalog, max_params=100).check(tree, child)
    assert result.check == "params" and result.params is not None and result.params > 100
    assert "exceed the limit of 100" in result.reason


def test_forward(space: spaces.Dict, catalog: Catalog, tmp_path: Path) -> None:
    (tmp_path / "evo_lacer_gate_nan_zoo.py").write_text(NAN_MODULE)
    report = mine([tmp_path])
    assert not report.errors
    merged = catalog.merged(report.catalog.specs)
    tree = simple_tree()
    poisoned = replace_at(tree, ("sensors",), branch("sensors", module("NaNBlock")))
    result = Gate(space, merged).check(tree, poisoned)
    assert result.check == "forward" and "NaN" in result.reason and result.forward_ms is not None


def test_latency(space: spaces.Dict, catalog: Catalog) -> None:
    result = Gate(space, catalog, max_latency_ms=1e-6).check(simple_tree(), nested_tree())
    assert result.check == "latency" and result.latency_ms is not None and result.latency_ms > 1e-6


def test_latency_rejection_names_the_passes(space: spaces.Dict, catalog: Catalog) -> None:
    result = Gate(space, catalog, max_latency_ms=1e-6, latency_runs=2).check(simple_tree(), nested_tree())
    assert result.check == "latency" and "the fastest of" in result.reason
    first = Gate(space, catalog, max_latency_ms=1e-6, latency_runs=0).check(simple_tree(), nested_tree())
    assert first.check == "latency" and "its first pass" in first.reason
    assert first.latency_ms == first.forward_ms


class ScriptedClock:
    """A clock whose timed calls take the given milliseconds, one after another (no real time)."""

    def __init__(self, durations_ms: list[float]) -> None:
        self.now, self.durations, self.calls = 0.0, iter(durations_ms), 0

    def __call__(self) -> float:
        return self.now

    def forward(self) -> None:
        self.calls += 1
        self.now += next(self.durations) / 1e3


def test_fastest_ms_takes_the_fastest_pass() -> None:
    clock = ScriptedClock([12.0, 4.0, 30.0, 5.0, 9.0])
    assert fastest_ms(clock.forward, 5, bound=10.0, clock=clock) == (pytest.approx(4.0), 5)


def test_fastest_ms_confirms_a_pass_over_the_bound_before_rejecting() -> None:
    # five passes slowed by a busy machine, then one that runs at the encoder's own speed
    clock = ScriptedClock([20.0] * 5 + [18.0, 6.0, 1.0])
    best, timed = fastest_ms(clock.forward, 5, bound=10.0, clock=clock)
    assert (best, timed) == (pytest.approx(6.0), 7)
    assert clock.calls == 7  # it stops at the first pass under the bound
    slow = ScriptedClock([20.0] * 100)
    best, timed = fastest_ms(slow.forward, 5, bound=10.0, confirm=25, confirm_s=10.0, clock=slow)
    assert (best, timed) == (pytest.approx(20.0), 30)


def test_fastest_ms_confirming_stops_after_its_time() -> None:
    slow = ScriptedClock([400.0] * 100)  # a tree far over the bound: 0.4 s a pass
    best, timed = fastest_ms(slow.forward, 3, bound=10.0, confirm=25, confirm_s=1.0, clock=slow)
    assert best == pytest.approx(400.0)
    assert timed == 6  # three passes, then confirming until over 1 s had passed
    unbounded = ScriptedClock([20.0] * 10)
    assert fastest_ms(unbounded.forward, 3, bound=None, clock=unbounded) == (pytest.approx(20.0), 3)


def test_raise_if_rejected(gate: Gate) -> None:
    tree = simple_tree()
    with pytest.raises(GateRejection, match="gate check 'unchanged' failed"):
        gate.raise_if_rejected(tree, tree)
    assert isinstance(gate.raise_if_rejected(tree, nested_tree()), GateResult)


def test_single_source_space(catalog: Catalog) -> None:
    space = spaces.Box(-1.0, 1.0, (5,))
    tree = encoder([branch("obs", module("LinearLayer"))], fusion("ConcatMLP"))
    assert Gate(space, catalog).check(None, tree).ok


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"max_params": 0}, {"max_latency_ms": -1.0},
                                    {"latency_runs": -1}])
def test_bad_settings(space: spaces.Dict, catalog: Catalog, kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        Gate(space, catalog, **kwargs)


def test_latency_from_the_checked_forward(space: spaces.Dict, catalog: Catalog) -> None:
    result = Gate(space, catalog, latency_runs=0).check(None, simple_tree())
    assert result.ok and result.latency_ms == result.forward_ms and result.forward_ms > 0


def test_text_and_discrete_sources(catalog: Catalog) -> None:
    space = spaces.Dict({"t": spaces.Text(10), "d": spaces.Discrete(5), "m": spaces.MultiDiscrete([3, 4])})
    tree = encoder([branch("t", module("EmbedMeanPool")), branch("d", module("OneHot")),
                    branch("m", module("DiscreteEmbedding"))], fusion("ConcatMLP"))
    assert Gate(space, catalog).check(None, tree).ok
