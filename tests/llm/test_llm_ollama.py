"""The Ollama backend through the real ``ollama`` client, against the loopback server."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from _llm_helpers import CHOICES, ScriptedBackend, choice_request

from evo_lacer.errors import ConfigError, LLMInvalidAnswer, LLMTimeout, LLMUnavailable
from evo_lacer.llm import OllamaBackend, OllamaCompatServer, resolve_host


def test_answers_through_the_real_client(loopback: OllamaCompatServer) -> None:
    backend = OllamaBackend("smollm2:135m", host=loopback.host)
    reply = backend.complete(choice_request(seed=3))
    assert reply.value["module"] in CHOICES["module"]
    assert reply.value["width"] in CHOICES["width"]
    assert reply.prompt_tokens > 20 and reply.completion_tokens > 5
    assert (reply.backend, reply.model) == ("ollama", "smollm2:135m")
    assert backend.available_models() == ["smollm2:135m"]


def test_same_answer_as_the_embedded_backend(loopback: OllamaCompatServer) -> None:
    request = choice_request(seed=5)
    direct = loopback.backend.complete(request)
    served = OllamaBackend("smollm2:135m", host=loopback.host).complete(request)
    assert served.text == direct.text and served.value == direct.value


def test_missing_model_is_named_with_the_available_ones(loopback: OllamaCompatServer) -> None:
    backend = OllamaBackend("llama3.2:1b", host=loopback.host)
    with pytest.raises(LLMUnavailable) as info:
        backend.complete(choice_request())
    message = str(info.value)
    assert "'llama3.2:1b'" in message and "smollm2:135m" in message
    assert "ollama pull llama3.2:1b" in message


def test_dead_server_names_the_host(closed_port_host: str) -> None:
    backend = OllamaBackend("smollm2:135m", host=closed_port_host)
    with pytest.raises(LLMUnavailable) as info:
        backend.complete(choice_request())
    assert closed_port_host in str(info.value)
    assert "ollama serve" in str(info.value) and "OLLAMA_HOST" in str(info.value)


def test_slow_server_is_a_timeout() -> None:
    with OllamaCompatServer(ScriptedBackend('{"module": "mlp", "width": 32}'), delay_s=2.0) as srv:
        backend = OllamaBackend("scripted", host=srv.host)
        with pytest.raises(LLMTimeout, match=r"within 0.3 s"):
            backend.complete(choice_request(timeout_s=0.3))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("module: mlp", "not valid JSON"),
        ('{"module": "transformer", "width": 32}', '$.module: "transformer" is not one of'),
        ('{"module": "mlp"}', "required field 'width' is missing"),
    ],
)
def test_garbage_answer_is_invalid(text: str, needle: str) -> None:
    server = OllamaCompatServer(ScriptedBackend(text))
    with server, pytest.raises(LLMInvalidAnswer) as info:
        OllamaBackend("scripted", host=server.host).complete(choice_request())
    assert needle in str(info.value)


def test_valid_scripted_answer_carries_server_token_counts() -> None:
    with OllamaCompatServer(ScriptedBackend('{"module": "gru", "width": 64}')) as srv:
        reply = OllamaBackend("scripted:latest", host=srv.host).complete(choice_request())
    assert reply.value == {"module": "gru", "width": 64}
    assert (reply.prompt_tokens, reply.completion_tokens) == (3, 2)


def test_loopback_speaks_ollama_json() -> None:
    with OllamaCompatServer(ScriptedBackend('"yes"'), model_name="tiny") as srv:
        assert srv.host.startswith("http://127.0.0.1:")
        version = json.load(urllib.request.urlopen(f"{srv.host}/api/version", timeout=60))
        tags = json.load(urllib.request.urlopen(f"{srv.host}/api/tags", timeout=60))
        assert set(version) == {"version"}
        assert tags["models"][0]["name"] == "tiny:latest"
        body = {"model": "tiny", "messages": [{"role": "user", "content": "ok?"}],
                "format": {"enum": ["yes"]}, "stream": False}
        reply = _post(f"{srv.host}/api/chat", body)
        assert {"model", "created_at", "message", "done", "done_reason", "total_duration",
                "prompt_eval_count", "eval_count", "eval_duration"} <= set(reply)
        assert reply["message"] == {"role": "assistant", "content": '"yes"'}
        assert reply["done"] is True and reply["done_reason"] == "stop"
        lines = _post(f"{srv.host}/api/chat", {**body, "stream": True}, ndjson=True)
        assert [line["done"] for line in lines] == [False, True]
        with pytest.raises(urllib.error.HTTPError, match="400"):
            _post(f"{srv.host}/api/chat", {**body, "format": None})
        with pytest.raises(urllib.error.HTTPError, match="404"):
            _post(f"{srv.host}/api/chat", {**body, "model": "other"})


def test_host_resolution() -> None:
    assert resolve_host(None, {}) == "http://127.0.0.1:11434"
    assert resolve_host(None, {"OLLAMA_HOST": "0.0.0.0:9"}) == "http://0.0.0.0:9"
    assert resolve_host("gpu-box") == "http://gpu-box:11434"
    assert resolve_host("https://gpu-box/") == "https://gpu-box:443"
    assert resolve_host("[::1]:8080") == "http://[::1]:8080"
    with pytest.raises(ConfigError, match="bad port"):
        resolve_host("http://h:port")
    with pytest.raises(ConfigError, match="model name"):
        OllamaBackend(" ")


def _post(url: str, body: dict[str, object], ndjson: bool = False) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read().decode()
    return [json.loads(line) for line in text.splitlines()] if ndjson else json.loads(text)


_SERVE = """
from evo_lacer.llm import Generation, serve

class Tiny:
    name = model = "tiny"
    def generate(self, request):
        return Generation('"yes"', 1, 1, 0.0, 0.0, "stop")
    def complete(self, request):
        raise NotImplementedError

serve(Tiny(), 0)
"""


def test_serve_runs_until_interrupted() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", _SERVE], stdout=subprocess.PIPE, text=True,
        # a background job (`cmd &`) starts with SIGINT ignored: give the child the default back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        host = re.search(r"at (http://127\.0\.0\.1:\d+);", line)
        assert host, line
        tags = json.load(urllib.request.urlopen(f"{host[1]}/api/tags", timeout=60))
        assert tags["models"][0]["model"] == "tiny:latest"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 0
        assert proc.stdout.read().strip() == "stopped"
    finally:
        proc.kill()
