"""llm-check and the prompt cache with real models: the embedded SmolLM2 (its KV cache reuses a shared
prompt prefix without changing the answer), the benchmarks at tiny size, and the stronger Qwen model
served by `evo-lacer serve-ollama` and reached through the real `ollama` client (skipped when its
file is absent: fetch it with ../shared/tools/fetch-qwen-1.5b or point $EVO_LACER_QWEN_GGUF at it)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evo_lacer.engine._llm_check import llm_check, make_probes
from evo_lacer.engine._llm_client import LLMClient
from evo_lacer.llm import EmbeddedBackend, LLMRequest

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from evo_lacer.cli import main; raise SystemExit(main())"]
QWEN = Path(os.environ.get("EVO_LACER_QWEN_GGUF") or Path(
    os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "evo-lacer" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")


def _request(prompt: str, system: str = "You pick options. Answer with JSON only.") -> LLMRequest:
    schema = {"type": "object", "properties": {"pick": {"enum": ["a", "b", "c"]}}, "required": ["pick"],
              "additionalProperties": False}
    return LLMRequest(system=system, prompt=prompt, schema=schema, temperature=0.0, max_tokens=16)


def test_the_kv_cache_reuses_a_shared_prefix_without_changing_the_answer(embedded: EmbeddedBackend) -> None:
    shared = "Task: pick the option that scored best.\n\n" + "\n".join(
        f"- option {o} scored {s}" for o, s in (("a", 0.1), ("b", 0.9), ("c", 0.3)) * 8)
    first = _request(shared + "\n\nChoose: a, b or c.")
    second = _request(shared + "\n\nChoose now: a, b or c.")
    embedded.llama.reset()
    embedded.complete(first)
    assert embedded.last_cached_tokens == 0, "an emptied cache reuses nothing"
    warm = embedded.complete(second)
    prefix = embedded.count_tokens(shared)
    assert prefix > 100 and embedded.last_cached_tokens >= prefix, (embedded.last_cached_tokens, prefix)
    assert embedded.last_cached_tokens < warm.prompt_tokens
    embedded.llama.reset()
    cold = embedded.complete(second)
    assert cold.value == warm.value and cold.text == warm.text
    embedded.complete(_request(shared, system="A different system message comes first."))
    assert embedded.last_cached_tokens < 10, "a different first part leaves nothing to reuse"


def test_each_prompt_family_keeps_its_prefix_when_another_is_asked(embedded: EmbeddedBackend) -> None:
    shared = "Task: pick the option that scored best.\n\n" + "\n".join(
        f"- option {o} scored {s}" for o, s in (("a", 0.2), ("b", 0.1), ("c", 0.8)) * 8)
    design = [_request(shared + f"\n\nChoose ({i}): a, b or c.", system="Family A: design.")
              for i in range(2)]
    other = _request("Reflect: " + shared, system="Family B: reflect, a different system message.")
    embedded.llama.reset()
    embedded.complete(design[0])
    embedded.complete(other)
    assert embedded.last_cached_tokens < 10
    warm = embedded.complete(design[1])
    assert embedded.last_cached_tokens >= embedded.count_tokens(shared), "family A's prefix came back"
    assert embedded.prefix_states > 0
    embedded.llama.reset()
    embedded.prefix_states, kept = 0, embedded.prefix_states
    try:
        cold = embedded.complete(design[1])
        assert embedded.last_cached_tokens == 0
    finally:
        embedded.prefix_states = kept
    assert cold.text == warm.text, "a restored state gives the answer a cold evaluation gives"


def test_the_llm_log_counts_each_part_of_a_prompt(embedded: EmbeddedBackend) -> None:
    records: list[dict] = []
    client = LLMClient(embedded, exchange_sink=records.append, timeout_s=120.0)
    prompt = "Task: pick one.\n\nHistory:\n- a scored 0.1\n- b scored 0.9\n\nChoose: a, b or c."
    schema = _request("").schema
    client.ask(purpose="t", system="Answer with JSON.", prompt=prompt, schema=schema, seed=0, max_tokens=16)
    client.ask(purpose="t", system="Answer with JSON.", prompt=prompt, schema=schema, seed=0, max_tokens=16)
    parts = records[-1]["prompt_parts"]
    assert records[-1]["parts_unit"] == "tokens"
    assert list(parts) == ["system", "0:Task", "1:History", "2:Choose"]
    assert parts["1:History"] == embedded.count_tokens("History:\n- a scored 0.1\n- b scored 0.9")
    assert records[-1]["cached_tokens"] > sum(parts.values()) - 5, "the same prompt twice is all cached"


@pytest.mark.slow
def test_smollm2_answers_every_probe_validly(embedded: EmbeddedBackend) -> None:
    result = llm_check(embedded, probes=3, seed=0)
    assert result.valid == 3 and result.median_tokens[0] > 100
    assert [r.kind for r in result.results] == [p.kind for p in make_probes(3, 0)]


@pytest.mark.slow  # a benchmark script's run: the default run stays short, CI runs it
def test_llm_check_benchmark_runs(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "llm_check.py"), "--llm", "random",
                           "--probes", "6", "--out", str(tmp_path / "c")],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "| random (uniform) |" in proc.stdout and "/6 |" in proc.stdout
    assert json.loads((tmp_path / "c.json").read_text())[0]["probes"] == 6
    assert (tmp_path / "c.png").stat().st_size > 0


@pytest.mark.slow
def test_llm_cache_benchmark_runs(embedded: EmbeddedBackend, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "llm_cache.py"), "--calls", "2",
                           "--threads", "1", "--sequences", "hybrid edits", "--out", str(tmp_path / "k")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((tmp_path / "k.json").read_text())["rows"]
    cached = {r["cache"]: r["cached_tokens"] for r in rows if r["sequence"] == "hybrid edits"}
    assert cached["reused"] > 100 and cached["emptied"] == 0, cached
    assert (tmp_path / "k.png").stat().st_size > 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.skipif(not QWEN.is_file(), reason=f"no Qwen GGUF at {QWEN} (../shared/tools/fetch-qwen-1.5b)")
def test_llm_check_through_serve_ollama_with_qwen(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen([*CLI, "serve-ollama", "--model",
                               f"embedded:{QWEN}", "--model-name", "qwen", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        while True:  # no wall-clock limit of our own: a loaded machine loads the model slowly
            assert server.poll() is None, f"serve-ollama exited early:\n{server.communicate()[0]}"
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        out = tmp_path / "qwen.json"
        proc = subprocess.run([*CLI, "llm-check", "--llm",
                               f"ollama:qwen@http://127.0.0.1:{port}", "--probes", "3", "--out", str(out)],
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr
    finally:
        server.terminate()
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    record = json.loads(out.read_text())
    assert (record["backend"], record["model"], record["valid"]) == ("ollama", "qwen", 3)
    assert record["median_prompt_tokens"] > 100
