"""The opt-in probe: observed kinds, time limits, crashes, caching; the parent never imports."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from _zoo_fixtures import PROBE_MODULES, TORCH_NN_MODULES

from evo_lacer.errors import ConfigError
from evo_lacer.zoo import ProbeCache, ProbeReport, builtin_catalog, mine, probe

TIMEOUT_S = 3.0
TORCH_NAMES = ("GRU", "LSTMCell", "Linear", "Conv1d", "Embedding", "TransformerEncoderLayer", "Flatten")


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> tuple[ProbeReport, float, Path]:
    root = tmp_path_factory.mktemp("probe_src")
    (root / "probe_mods.py").write_text(PROBE_MODULES)
    torch_nn = mine([TORCH_NN_MODULES]).catalog
    # One call, in order: torch.nn modules, then the fixture's (the crash is in the middle, the
    # hang last), so that two workers run it.
    specs = [torch_nn.lookup(n) for n in TORCH_NAMES] + list(mine([root]).catalog.specs)
    cache = tmp_path_factory.mktemp("probe_cache")
    start = time.perf_counter()
    report = probe(specs, timeout_s=TIMEOUT_S, cache=ProbeCache(cache))
    return report, time.perf_counter() - start, cache


def _result(report: ProbeReport, name: str):  # type: ignore[no-untyped-def]
    return next(r for r in report.results if r.key.endswith("." + name))


def test_hanging_constructor_times_out(probed: tuple[ProbeReport, float, Path]) -> None:
    report, seconds, _ = probed
    sleeper = _result(report, "Sleeper")
    assert sleeper.status == "timeout"
    assert f"{TIMEOUT_S:g}s" in sleeper.reason
    assert seconds < 60  # one time limit plus worker restarts, not an hour


def test_crash_and_exception_recorded(probed: tuple[ProbeReport, float, Path]) -> None:
    report, _, _ = probed
    crasher = _result(report, "Crasher")
    assert crasher.status == "crashed" and "exit code 3" in crasher.reason
    raiser = _result(report, "Raiser")
    assert raiser.status == "failed" and "RuntimeError: boom" in raiser.reason
    assert report.workers_started == 2  # restarted after the crash
    assert _result(report, "Chatty").status == "ok"  # probed by the second worker


def test_observed_kinds(probed: tuple[ProbeReport, float, Path]) -> None:
    report, _, _ = probed
    good = report.catalog.lookup("Good")
    assert good.kinds_source == "probe"
    assert (good.accepts, good.emits) == (("vector", "sequence"), None)
    chatty = _result(report, "Chatty")  # prints to stdout: must not break the protocol
    assert chatty.status == "ok" and chatty.accepts == ("vector", "sequence", "image")
    pair = report.catalog.lookup("Pair")
    assert (pair.accepts, pair.emits, pair.layout, pair.output_index) == (
        ("sequence",), "sequence", "channels_first", 0)
    assert report.catalog.lookup("Raiser").kinds_source != "probe"  # failures keep the guess


def test_parent_never_imports_probed_code(probed: tuple[ProbeReport, float, Path]) -> None:
    assert "probe_mods" not in sys.modules


def test_cache_keeps_ok_and_failed_only(probed: tuple[ProbeReport, float, Path], tmp_path: Path) -> None:
    report, _, cache = probed
    cached = {p.name for p in cache.iterdir()}
    assert len(cached) == report.count("ok") + report.count("failed")
    specs = [report.catalog.lookup(n) for n in ("Good", "Raiser", "Pair")]
    again = probe(specs, timeout_s=TIMEOUT_S, cache=ProbeCache(cache))
    assert again.workers_started == 0 and all(r.cached for r in again.results)
    assert again.catalog.lookup("Good").accepts == ("vector", "sequence")


def test_torch_key_modules(probed: tuple[ProbeReport, float, Path]) -> None:
    report, _, _ = probed
    got = {r.key.rsplit(".", 1)[-1]: (r.status, r.accepts, r.emits, r.layout, r.output_index)
           for r in report.results if r.key.startswith("torch.")}
    assert got == {
        "GRU": ("ok", ("sequence",), "sequence", "channels_last", 0),
        "LSTMCell": ("ok", ("vector",), "vector", "channels_last", 0),
        "Linear": ("ok", ("vector", "sequence"), None, "channels_last", None),
        "Conv1d": ("ok", ("sequence",), "sequence", "channels_first", None),
        "Embedding": ("ok", ("tokens",), "sequence", "channels_last", None),
        "TransformerEncoderLayer": ("ok", ("sequence",), "sequence", "channels_last", None),
        "Flatten": ("ok", ("vector", "sequence", "image"), "vector", "channels_last", None),
    }


def test_declared_modules_skipped_unless_asked() -> None:
    report = probe(builtin_catalog(), timeout_s=10)
    assert report.results == () and report.workers_started == 0
    assert report.catalog == builtin_catalog()


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="timeout_s"):
        probe([], timeout_s=0)
