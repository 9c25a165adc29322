"""llm-check: the probes' expected answers are right by construction (a backend that reads the
evidence from the prompt scores 100%), a random or first-option chooser sits at chance, and the
record, the interval and the CLI say so."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from evo_lacer.cli._main import main
from evo_lacer.engine._llm_check import (
    PROBE_KINDS,
    LLMCheck,
    llm_check,
    make_probes,
    wilson_interval,
)
from evo_lacer.errors import ConfigError, LLMInvalidAnswer, LLMTimeout, LLMUnavailable
from evo_lacer.llm import LLMReply, LLMRequest, OllamaCompatServer, validate

_EDIT = re.compile(r"^- #\d+ change_param at \S+ (\{.*?\}) -> fitness ([-\d.]+)", re.M)
_R2 = re.compile(r"probe_r2/(\w+)=([-\d.]+)")


def read_evidence(prompt: str, field: str, options: list[Any]) -> Any:
    """What the prompt's evidence says, parsed independently of how the probes were built."""
    r2 = {name: float(v) for name, v in _R2.findall(prompt)}
    if field == "site" and r2:
        return f"branch {min(r2, key=r2.__getitem__)}"
    tried = [(json.loads(choice)[field], float(fit)) for choice, fit in _EDIT.findall(prompt)]
    values = [v for v, _ in tried]
    if all(o in values for o in options):  # every option tried: the best one
        return max(tried, key=lambda t: t[1])[0]
    ordered = sorted(tried)
    rising = ordered[-1][1] > ordered[0][1]
    return max(options) if rising else min(options)


class _Backend:
    name = "test"
    model = "test"

    def __init__(self) -> None:
        self.calls = 0

    def pick(self, request: LLMRequest, field: str, options: list[Any]) -> Any:
        raise NotImplementedError

    def complete(self, request: LLMRequest) -> LLMReply:
        self.calls += 1
        (field, prop), = ((k, v) for k, v in request.schema["properties"].items())
        value = {field: self.pick(request, field, prop["enum"])}
        validate(value, request.schema)
        return LLMReply(value, json.dumps(value), 100, 6, 0.001, self.name, self.model)


class ReaderBackend(_Backend):
    """Answers what the evidence in the prompt determines."""

    model = "reader"

    def pick(self, request: LLMRequest, field: str, options: list[Any]) -> Any:
        return read_evidence(request.prompt, field, options)


class RandomBackend(_Backend):
    model = "random"

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)

    def pick(self, request: LLMRequest, field: str, options: list[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]


class FirstBackend(_Backend):
    model = "first"

    def pick(self, request: LLMRequest, field: str, options: list[Any]) -> Any:
        return options[0]


class InvalidBackend(_Backend):
    def complete(self, request: LLMRequest) -> LLMReply:
        self.calls += 1
        raise LLMInvalidAnswer("answer is not valid JSON: 'use a transformer'")


class DownBackend(_Backend):
    def complete(self, request: LLMRequest) -> LLMReply:
        raise LLMUnavailable("cannot reach the Ollama server at http://127.0.0.1:1")


def test_probes_cover_every_kind_with_the_answer_among_shuffled_options() -> None:
    probes = make_probes(30, seed=3)
    assert [p.kind for p in probes[:3]] == list(PROBE_KINDS)
    assert all(p.answer in p.options for p in probes)
    positions = {p.options.index(p.answer) for p in probes}
    assert len(positions) >= 3, "the answer always sits at the same place: a first-option chooser would win"
    assert len({p.prompt for p in probes}) == 30
    assert make_probes(5, seed=3) == probes[:5], "the same seed gives the same probes"


def test_a_reader_of_the_evidence_scores_every_probe() -> None:
    backend = ReaderBackend()
    result = llm_check(backend, probes=30, seed=1)
    assert backend.calls == 30
    assert (result.valid, result.correct) == (30, 30)
    assert result.verdict == "above chance" and result.warning() == ""
    assert result.by_kind() == {"best": (10, 10), "weakest": (10, 10), "trend": (10, 10)}


@pytest.mark.parametrize("backend", [RandomBackend(0), FirstBackend()], ids=["random", "first-option"])
def test_a_chooser_that_ignores_the_prompt_sits_at_chance(backend: _Backend) -> None:
    result = llm_check(backend, probes=90, seed=2)
    low, high = result.interval
    assert result.valid == 90
    assert low <= result.chance <= high
    assert abs(result.accuracy - result.chance) < 0.15
    assert result.verdict == "at chance"
    warning = result.warning()
    assert "at chance" in warning and "--llm none" in warning and "Qwen2.5-Coder-1.5B" in warning


def test_invalid_answers_count_as_wrong_and_fall_below_chance() -> None:
    result = llm_check(InvalidBackend(), probes=30, seed=0)
    assert (result.valid, result.correct) == (0, 0)
    assert result.verdict == "below chance"
    assert all("LLMInvalidAnswer" in r.error for r in result.results)


def test_an_unreachable_model_fails_the_check() -> None:
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        llm_check(DownBackend(), probes=3)
    with pytest.raises(ConfigError, match="at least 1 probe"):
        llm_check(ReaderBackend(), probes=0)
    with pytest.raises(ConfigError, match="needs an LLM backend"):
        llm_check(None, probes=3)  # type: ignore[arg-type]


def test_wilson_interval_matches_known_values() -> None:
    low, high = wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_the_record_round_trips_through_json() -> None:
    result = llm_check(RandomBackend(4), probes=7, seed=5)
    data = json.loads(json.dumps(result.to_dict()))
    again = LLMCheck.from_dict(data)
    assert again == result
    assert data["verdict"] == result.verdict and data["correct"] == result.correct
    with pytest.raises(ConfigError, match="not an llm-check record"):
        LLMCheck.from_dict({"backend": "x"})


def test_cli_checks_a_model_through_the_real_ollama_client(tmp_path: Any,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "check.json"
    with OllamaCompatServer(ReaderBackend(), model_name="reader") as server:
        code = main(["llm-check", "--llm", f"ollama:reader@{server.host}", "--probes", "6",
                     "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "6/6" in text or "valid answers 6/6" in text
    assert "above chance" in text
    record = json.loads(out.read_text())
    assert (record["backend"], record["model"], record["correct"]) == ("ollama", "reader", 6)


def test_cli_names_a_missing_model(capsys: pytest.CaptureFixture[str]) -> None:
    with OllamaCompatServer(ReaderBackend(), model_name="reader") as server:
        code = main(["llm-check", "--llm", f"ollama:nosuch@{server.host}", "--probes", "2"])
    assert code == 1
    assert "nosuch" in capsys.readouterr().err


# --- the search checks its model -------------------------------------------------------------------

def _search(tmp_path: Any, backend: _Backend, **kw: Any) -> Any:
    from search_helpers import param_fitness, small_space

    from evo_lacer import search

    return search(observation_space=small_space(), fitness=param_fitness, strategy="lacer", budget=3,
                  batch_size=3, llm=backend, seed=0, run_dir=tmp_path / "run", initial_evaluations=0, **kw)


def test_a_search_with_a_model_at_chance_warns_and_keeps_the_check(tmp_path: Any) -> None:
    from evo_lacer.runs import write_report

    backend = RandomBackend(1)
    with pytest.warns(RuntimeWarning, match="at chance.*--llm none"):
        result = _search(tmp_path, backend, llm_check_probes=30)
    record = json.loads((result.run_dir / "artifacts" / "llm_check.json").read_text())
    assert (record["probes"], record["verdict"], record["model"]) == (30, "at chance", "random")
    assert backend.calls == 30 + 3, "30 probes, then one design per evaluation"
    exchanges = (result.run_dir / "llm.jsonl").read_text().splitlines()
    assert len(exchanges) == 3, "the probes stay out of the search's LLM log"
    report = write_report(result.run_dir).read_text()
    assert "## LLM check" in report and "at chance" in report and "test:random" in report


def test_a_model_that_reads_its_prompt_passes_quietly_and_the_check_is_not_repeated(tmp_path: Any) -> None:
    import warnings

    from evo_lacer import resume

    backend = ReaderBackend()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = _search(tmp_path, backend, llm_check_probes=6)
    record = json.loads((result.run_dir / "artifacts" / "llm_check.json").read_text())
    assert (record["correct"], record["verdict"]) == (6, "above chance")
    again = ReaderBackend()
    resume(result.run_dir, llm=again)
    assert again.calls == 0, "a resumed run keeps the check it has"


def test_the_check_can_be_switched_off(tmp_path: Any) -> None:
    backend = ReaderBackend()
    result = _search(tmp_path, backend, llm_check_probes=0)
    assert backend.calls == 3
    assert not (result.run_dir / "artifacts" / "llm_check.json").exists()
    with pytest.raises(ConfigError, match="llm_check_probes must be an integer >= 0, got -1"):
        _search(tmp_path / "bad", backend, llm_check_probes=-1)


class SlowBackend(_Backend):
    """Answers the first probe, then times out."""

    def complete(self, request: LLMRequest) -> LLMReply:
        self.calls += 1
        if self.calls > 1:
            raise LLMTimeout(f"did not answer within {request.timeout_s} s")
        return ReaderBackend().complete(request)


def test_a_model_that_keeps_timing_out_stops_the_check_early(tmp_path: Any) -> None:
    backend = SlowBackend()
    with pytest.raises(LLMTimeout, match="2 probes in a row failed"):
        llm_check(backend, probes=12)
    assert backend.calls == 3
    with pytest.warns(RuntimeWarning, match="the LLM check could not run.*the search goes on"):
        result = _search(tmp_path, SlowBackend(), llm_check_probes=6)
    assert result.accounting["evaluations"] == 3
    assert not (result.run_dir / "artifacts" / "llm_check.json").exists()


def test_search_help_lists_the_check_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["search", "--help"])
    assert exc.value.code == 0
    assert "--llm-check-probes" in capsys.readouterr().out
