"""A loopback server speaking the part of Ollama's HTTP API the ``ollama`` client uses.

It answers from a wrapped backend (usually the embedded model), so the Ollama backend can be
exercised through the real client where no Ollama server can be installed. It binds 127.0.0.1
only and answers schema-constrained chats only (``format`` = a JSON schema or ``"json"``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from evo_lacer.errors import ConfigError, LLMError
from evo_lacer.llm._protocol import Generation, LLMBackend, LLMRequest, TextGenerator

LOOPBACK_VERSION = "0.0.0-evo-lacer"
"""What ``GET /api/version`` reports (clients only check that it answers)."""

_BIND = "127.0.0.1"
_log = logging.getLogger(__name__)


class OllamaCompatServer:
    """Ollama-compatible HTTP server on 127.0.0.1, answering from ``backend``.

    ``port``: 0 picks a free port. ``model_name``: the name listed by ``/api/tags`` and
    accepted by ``/api/chat`` (default: the backend's model, tagged ``:latest``).
    ``request_timeout_s``: limit handed to the backend for each chat. Test hooks for clients'
    time limits and error handling: ``delay_s`` sleeps before answering a chat, ``trickle_s``
    sends a chat's answer one byte every that many seconds, ``fail_first`` answers the first
    that many chats with HTTP 500. Use as a context manager, or
    ``start()`` / ``close()``; ``host`` is the URL to give the client.
    """

    def __init__(
        self,
        backend: LLMBackend,
        *,
        port: int = 0,
        model_name: str | None = None,
        request_timeout_s: float = 300.0,
        delay_s: float = 0.0,
        trickle_s: float = 0.0,
        fail_first: int = 0,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ConfigError(f"port must be in 0..65535; got {port}")
        name = model_name or backend.model
        self.backend = backend
        self.model_name = name if ":" in name else f"{name}:latest"
        self.request_timeout_s = request_timeout_s
        self.delay_s = delay_s
        self.trickle_s = trickle_s
        self.fail_first = fail_first
        self.chats = 0
        """Chats received (the failed ones included)."""
        self._port = port
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the requested one until ``start``)."""
        return self._httpd.server_address[1] if self._httpd else self._port

    @property
    def host(self) -> str:
        """URL for ``ollama.Client(host=...)`` / ``OLLAMA_HOST``."""
        return f"http://{_BIND}:{self.port}"

    def bind(self) -> OllamaCompatServer:
        """Open the listening socket (idempotent)."""
        if self._httpd is None:
            try:
                self._httpd = _HTTPServer((_BIND, self._port), _Handler, self)
            except OSError as exc:
                raise ConfigError(f"cannot listen on {_BIND}:{self._port}: {exc}") from None
        return self

    def start(self) -> OllamaCompatServer:
        """Serve in a background daemon thread."""
        httpd = self.bind()._httpd
        if self._thread is None and httpd is not None:
            self._thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},  # close() waits up to one interval
                name=f"ollama-compat-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``close()`` or KeyboardInterrupt."""
        httpd = self.bind()._httpd
        assert httpd is not None
        try:
            httpd.serve_forever()
        finally:
            httpd.server_close()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            if self._thread is not None:
                self._httpd.shutdown()
                self._thread.join(timeout=5)
                self._thread = None
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OllamaCompatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- API -------------------------------------------------------------------------------

    def tags(self) -> dict[str, Any]:
        return {"models": [self._model_entry()]}

    def show(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        name = body.get("model") or body.get("name") or ""
        if not self._known(name):
            return 404, {"error": f"model '{name}' not found"}
        entry = self._model_entry()
        return 200, {
            "modelfile": f"# served by evo-lacer from {self.backend.name}:{self.backend.model}",
            "parameters": "",
            "template": "",
            "details": entry["details"],
            "model_info": {},
            "capabilities": ["completion"],
            "modified_at": entry["modified_at"],
        }

    def chat(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer ``POST /api/chat``; returns (HTTP status, final JSON object)."""
        name = body.get("model") or ""
        if not self._known(name):
            return 404, {"error": f'model "{name}" not found, try pulling it first'}
        with self._lock:
            self.chats += 1
            failing = self.chats <= self.fail_first
        if failing:
            return 500, {"error": "the server is overloaded (loopback test hook fail_first)"}
        try:
            request = self._request(body)
        except ConfigError as exc:
            return 400, {"error": str(exc)}
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        try:
            with self._lock:
                gen = self._generate(request)
        except ConfigError as exc:
            return 400, {"error": str(exc)}
        except LLMError as exc:
            return 500, {"error": f"{type(exc).__name__}: {exc}"}
        return 200, {
            "model": name,
            "created_at": _now(),
            "message": {"role": "assistant", "content": gen.text},
            "done": True,
            "done_reason": gen.finish_reason,
            "total_duration": _ns(gen.seconds),
            "load_duration": 0,
            "prompt_eval_count": gen.prompt_tokens,
            "prompt_eval_duration": _ns(gen.first_token_s),
            "eval_count": gen.completion_tokens,
            "eval_duration": _ns(gen.seconds - gen.first_token_s),
        }

    def _request(self, body: dict[str, Any]) -> LLMRequest:
        fmt = body.get("format")
        if fmt == "json":
            schema: dict[str, Any] = {}
        elif isinstance(fmt, dict):
            schema = fmt
        else:
            raise ConfigError(
                "this loopback server answers schema-constrained chats only: "
                "pass format=<JSON schema> or format='json'"
            )
        messages = body.get("messages") or []
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise ConfigError("'messages' must be a list of {role, content} objects")
        system = "\n\n".join(m.get("content") or "" for m in messages if m.get("role") == "system")
        turns = [m for m in messages if m.get("role") != "system"]
        if len(turns) == 1:
            prompt = turns[0].get("content") or ""
        else:
            prompt = "\n\n".join(f"{m.get('role')}: {m.get('content') or ''}" for m in turns)
        options = body.get("options") or {}
        try:
            num_predict = int(options.get("num_predict") or 256)
            return LLMRequest(
                system=system,
                prompt=prompt,
                schema=schema,
                seed=int(options.get("seed") or 0),
                temperature=float(options.get("temperature", 0.8)),
                max_tokens=num_predict if num_predict > 0 else 1024,
                timeout_s=self.request_timeout_s,
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"bad options {options!r}: {exc}") from None

    def _generate(self, request: LLMRequest) -> Generation:
        if isinstance(self.backend, TextGenerator):
            return self.backend.generate(request)
        reply = self.backend.complete(request)
        return Generation(
            text=reply.text,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            seconds=reply.seconds,
            first_token_s=0.0,
            finish_reason="stop",
        )

    def _known(self, name: str) -> bool:
        return name in (self.model_name, self.model_name.removesuffix(":latest"))

    def _model_entry(self) -> dict[str, Any]:
        digest = hashlib.sha256(self.model_name.encode()).hexdigest()
        return {
            "name": self.model_name,
            "model": self.model_name,
            "modified_at": _now(),
            "size": 0,
            "digest": digest,
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "",
                "families": None,
                "parameter_size": "",
                "quantization_level": "",
            },
        }


def serve(
    backend: LLMBackend,
    port: int = 11434,
    *,
    model_name: str | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve ``backend`` as an Ollama-compatible server on 127.0.0.1 until interrupted.

    What ``evo-lacer serve-ollama`` runs; ``announce`` receives the line saying where.
    """
    server = OllamaCompatServer(backend, port=port, model_name=model_name).bind()
    announce(
        f"serving {server.model_name} (evo-lacer {backend.name} backend) at {server.host}; "
        f"use OLLAMA_HOST={server.host} -- Ctrl-C stops"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        announce("stopped")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: Any
    ) -> None:
        self.app: OllamaCompatServer = app
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "evo-lacer-ollama-compat"

    def do_HEAD(self) -> None:
        self._send(200, b"", "text/plain; charset=utf-8")

    def do_GET(self) -> None:
        app = self.server.app
        if self.path in ("/", ""):
            self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
        elif self.path == "/api/version":
            self._json(200, {"version": LOOPBACK_VERSION})
        elif self.path == "/api/tags":
            self._json(200, app.tags())
        else:
            self._json(404, {"error": f"{self.path} is not served by the evo-lacer loopback"})

    def do_POST(self) -> None:
        app = self.server.app
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
        except ValueError as exc:
            self._json(400, {"error": f"bad request body: {exc}"})
            return
        if self.path == "/api/show":
            self._json(*app.show(body))
        elif self.path == "/api/chat":
            try:
                status, payload = app.chat(body)
            except Exception as exc:
                _log.exception("loopback chat failed")
                status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
            if status == 200 and body.get("stream", True):
                self._stream(payload)
            else:
                self._json(status, payload)
        else:
            self._json(404, {"error": f"{self.path} is not served by the evo-lacer loopback"})

    def _stream(self, final: dict[str, Any]) -> None:
        """Ollama's streaming shape: content chunk(s) with done=false, then the summary."""
        head = {
            "model": final["model"],
            "created_at": final["created_at"],
            "message": final["message"],
            "done": False,
        }
        tail = {**final, "message": {"role": "assistant", "content": ""}}
        lines = [json.dumps(head), json.dumps(tail)]
        self._send(200, ("\n".join(lines) + "\n").encode(), "application/x-ndjson")

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "HEAD":
                return
            trickle = self.server.app.trickle_s if self.path == "/api/chat" else 0.0
            if trickle <= 0:
                self.wfile.write(data)
                return
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(trickle)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its timeout passed) while we were answering.
            _log.debug("client %s disconnected before the answer was sent", self.address_string())

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ns(seconds: float) -> int:
    return max(0, int(seconds * 1e9))
