"""Ollama backend through the official ``ollama`` client, ``format=`` set to the answer's schema."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from evo_lacer.errors import ConfigError, LLMError, LLMTimeout, LLMUnavailable
from evo_lacer.llm._protocol import RAISE_LIMIT, LLMReply, LLMRequest, chat_messages
from evo_lacer.llm._schema import check_schema, parse_answer

DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
"""Where Ollama listens when neither the caller nor ``OLLAMA_HOST`` says otherwise."""

_START_HINT = (
    "start it with `ollama serve` (install: https://ollama.com/download), or point "
    "OLLAMA_HOST / the spec 'ollama:MODEL@http://HOST:PORT' at a running server"
)


def resolve_host(host: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The server URL: ``host``, else ``$OLLAMA_HOST``, else ``DEFAULT_OLLAMA_HOST``.

    Reads it as the ``ollama`` client does (``HOST`` and ``HOST:PORT`` mean http, port 11434;
    an explicit ``http://`` / ``https://`` without a port means 80 / 443) and returns
    ``scheme://host:port``.
    """
    env = os.environ if env is None else env
    raw = (host or env.get("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST).strip().rstrip("/")
    default_port = 11434
    if "://" not in raw:
        raw = "http://" + raw
    else:
        default_port = 443 if raw.lower().startswith("https://") else 80
    parts = urllib.parse.urlsplit(raw)
    try:
        port = parts.port or default_port
    except ValueError:
        raise ConfigError(f"Ollama host {raw!r} has a bad port; use http://HOST:PORT") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"Ollama host {raw!r} is not a URL like http://127.0.0.1:11434")
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{name}:{port}{parts.path}"


class OllamaBackend:
    """Asks a model served by Ollama; the answer is constrained by ``format=<schema>``.

    ``model``: an Ollama model name (``ollama list`` shows them).
    ``host``: server URL; default ``$OLLAMA_HOST`` or ``http://127.0.0.1:11434``.
    ``keep_alive``: how long the server keeps the model loaded after a call (Ollama's syntax).
    """

    name = "ollama"

    def __init__(
        self, model: str, *, host: str | None = None, keep_alive: str | float | None = None
    ) -> None:
        if not model or not model.strip():
            raise ConfigError("OllamaBackend needs a model name, e.g. 'qwen2.5:0.5b'")
        try:
            import ollama
        except ImportError:
            raise LLMUnavailable(
                "the 'ollama' package is missing (a core dependency); reinstall evo-lacer "
                "or run: pip install ollama"
            ) from None
        self._ollama = ollama
        self.model = model.strip()
        self.host = resolve_host(host)
        self.keep_alive = keep_alive
        self._clients: dict[float, Any] = {}

    def __repr__(self) -> str:
        return f"OllamaBackend(model={self.model!r}, host={self.host!r})"

    def complete(self, request: LLMRequest) -> LLMReply:
        """Ask once; map every failure to ``LLMUnavailable``, ``LLMTimeout`` or
        ``LLMInvalidAnswer``."""
        check_schema(request.schema)
        start = time.perf_counter()
        response = self._chat(request)
        seconds = time.perf_counter() - start
        text = response.message.content or ""
        value = parse_answer(text, request.schema)
        return LLMReply(
            value=value,
            text=text,
            prompt_tokens=int(response.prompt_eval_count or 0),
            completion_tokens=int(response.eval_count or 0),
            seconds=seconds,
            backend=self.name,
            model=self.model,
        )

    def available_models(self, timeout_s: float = 5.0) -> list[str]:
        """Names of the models the server has (``LLMUnavailable`` if it cannot be reached)."""
        try:
            listing = self._client(timeout_s).list()
        except Exception as exc:
            raise self._translate(exc, timeout_s) from None
        return [m.model for m in listing.models if m.model]

    def close(self) -> None:
        """Close the HTTP connections (the backend stays usable: they reopen on demand)."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _chat(self, request: LLMRequest) -> Any:
        """One chat under one deadline of ``request.timeout_s`` seconds, whatever the server does.

        The HTTP client's timeout bounds each read only, so a server that trickles a byte now
        and then could hold a call for ever; the call runs in a helper thread instead, and past
        the deadline its connections are closed (which ends that thread at its next read) and
        `LLMTimeout` is raised.
        """
        options = {
            "seed": request.seed,
            "temperature": request.temperature,
            "num_predict": request.max_tokens,
        }
        client = self._client(request.timeout_s)
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["reply"] = client.chat(
                    model=self.model,
                    messages=chat_messages(request),
                    format=request.schema,
                    options=options,
                    stream=False,
                    keep_alive=self.keep_alive,
                )
            except Exception as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=call, name="evo-lacer-ollama-call", daemon=True)
        worker.start()
        worker.join(request.timeout_s)
        if worker.is_alive():
            self._clients.pop(request.timeout_s, None)
            with contextlib.suppress(Exception):
                client.close()  # the helper thread fails at its next read and ends
            raise LLMTimeout(
                f"Ollama model {self.model!r} at {self.host} did not finish answering within "
                f"{request.timeout_s:g} s; raise the LLM time limit (SearchConfig.llm_timeout_s) or use "
                "a smaller model"
            )
        if "error" in outcome:
            raise self._translate(outcome["error"], request.timeout_s) from None
        return outcome["reply"]

    def _client(self, timeout_s: float) -> Any:
        """One client per timeout value (the client's timeout is fixed at construction)."""
        client = self._clients.get(timeout_s)
        if client is None:
            client = self._ollama.Client(host=self.host, timeout=timeout_s)
            self._clients[timeout_s] = client
        return client

    def _translate(self, exc: Exception, timeout_s: float) -> LLMError:
        """Turn a client or transport exception into one of ours, with a fix in the message."""
        import httpx

        if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout):
            return LLMUnavailable(f"cannot reach the Ollama server at {self.host}; {_START_HINT}")
        if isinstance(exc, httpx.TimeoutException):
            return LLMTimeout(
                f"Ollama model {self.model!r} at {self.host} did not answer within "
                f"{timeout_s:g} s; {RAISE_LIMIT} or use a smaller model"
            )
        if isinstance(exc, self._ollama.ResponseError):
            if exc.status_code == 404 and "not found" in str(exc.error).lower():
                return LLMUnavailable(self._missing_model_message())
            return LLMUnavailable(
                f"Ollama server at {self.host} refused the request for model {self.model!r}: "
                f"{exc.error} (HTTP {exc.status_code})"
            )
        if isinstance(exc, httpx.HTTPError):
            return LLMUnavailable(
                f"talking to the Ollama server at {self.host} failed: {type(exc).__name__}: {exc}"
            )
        return LLMUnavailable(
            f"unexpected reply from the Ollama server at {self.host} for model "
            f"{self.model!r}: {type(exc).__name__}: {exc}"
        )

    def _missing_model_message(self) -> str:
        try:
            names = self.available_models()
        except LLMError:
            names = []
        listed = ", ".join(names) if names else "none"
        return (
            f"model {self.model!r} is not on the Ollama server at {self.host} "
            f"(available: {listed}); fetch it with `ollama pull {self.model}` "
            "or name one of the available models"
        )
