"""``make_backend`` parses specs and picks Ollama or the embedded model for ``"auto"``."""

from __future__ import annotations

from pathlib import Path

import pytest
from _llm_helpers import ScriptedBackend

from evo_lacer.errors import ConfigError, LLMUnavailable
from evo_lacer.llm import (
    EmbeddedBackend,
    OllamaBackend,
    OllamaCompatServer,
    default_model_path,
    make_backend,
    probe_ollama,
)


def test_none_means_no_backend() -> None:
    assert make_backend("none") is None
    assert make_backend(" None ") is None


def test_auto_without_server_is_embedded(closed_port_host: str) -> None:
    pytest.importorskip("llama_cpp")
    backend = make_backend("auto", env={"OLLAMA_HOST": closed_port_host}, n_threads=1)
    assert isinstance(backend, EmbeddedBackend)
    assert backend.n_threads == 1


def test_auto_with_a_server_is_ollama(monkeypatch: pytest.MonkeyPatch) -> None:
    with OllamaCompatServer(ScriptedBackend("{}"), model_name="tiny:1m") as srv:
        monkeypatch.setenv("OLLAMA_HOST", srv.host)
        monkeypatch.delenv("EVO_LACER_OLLAMA_MODEL", raising=False)
        backend = make_backend("auto")
        assert probe_ollama(srv.host) == ["tiny:1m"]
        assert isinstance(backend, OllamaBackend)
        assert (backend.model, backend.host) == ("tiny:1m", srv.host)


def test_auto_honours_the_model_variable() -> None:
    with OllamaCompatServer(ScriptedBackend("{}"), model_name="tiny") as srv:
        env = {"OLLAMA_HOST": srv.host, "EVO_LACER_OLLAMA_MODEL": "tiny"}
        backend = make_backend("auto", env=env)
        assert isinstance(backend, OllamaBackend) and backend.model == "tiny"
        with pytest.raises(LLMUnavailable, match="ollama pull qwen3"):
            make_backend("auto", env={**env, "EVO_LACER_OLLAMA_MODEL": "qwen3"})


def test_explicit_specs() -> None:
    backend = make_backend("ollama:qwen2.5:0.5b@http://127.0.0.1:9999")
    assert isinstance(backend, OllamaBackend)
    assert (backend.model, backend.host) == ("qwen2.5:0.5b", "http://127.0.0.1:9999")
    backend = make_backend("ollama:llama3.2", env={"OLLAMA_HOST": "127.0.0.1:7"})
    assert isinstance(backend, OllamaBackend) and backend.host == "http://127.0.0.1:7"


def test_embedded_specs() -> None:
    pytest.importorskip("llama_cpp")
    path = default_model_path()
    default = make_backend("embedded")
    assert isinstance(default, EmbeddedBackend) and default.model_path == path
    chosen = make_backend(f"embedded:{path}")
    assert isinstance(chosen, EmbeddedBackend) and chosen.model_path == Path(path)


@pytest.mark.parametrize(
    "spec", ["", "ollama", "ollama:", "ollama:@http://h:1", "ollama:m@", "gpt-4", "auto:x",
             "none:1", "embedded:"]
)
def test_bad_spec_lists_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_backend(spec)
    assert repr(spec) in str(info.value)
    assert "ollama:MODEL@http://host:port" in str(info.value)
