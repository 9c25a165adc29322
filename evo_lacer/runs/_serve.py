"""The report page, live: served on 127.0.0.1 while a search writes its run folder(s). The page
polls ``data.json``, which is rebuilt whenever a run's logs change, and redraws itself."""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from evo_lacer.errors import EvoLacerError, RunStoreError

RunDirs = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
_WATCHED = ("candidates.jsonl", "llm.jsonl", "state/summary.json", "artifacts/llm_check.json")


class LiveReport:
    """An HTTP server on 127.0.0.1 (never another interface) serving the report of `run_dirs`.

    ``with LiveReport("runs/x") as live: print(live.url)``; `port` 0 takes any free port.
    """

    def __init__(self, run_dirs: RunDirs, port: int = 0) -> None:
        from evo_lacer.runs._run_record import _run_folders

        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise RunStoreError(f"port {port!r} is not a TCP port; pass 0 (any free port) to 65535")
        self._run_dirs = run_dirs
        _run_folders(run_dirs)  # a bad folder fails here, not in the first request
        self._lock = threading.Lock()
        self._signature: tuple[Any, ...] | None = None
        self._body = b""
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        except OSError as exc:
            raise RunStoreError(f"cannot serve on 127.0.0.1:{port}: {exc}; choose another --port "
                                "(0 takes any free one)") from None
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def data(self) -> bytes:
        """``data.json``: rebuilt when a watched file of a run changed (size or time)."""
        from evo_lacer.runs._html import data_json, page_data
        from evo_lacer.runs._run_record import _run_folders, load_runs

        with self._lock:
            folders = _run_folders(self._run_dirs)
            signature = tuple((str(f), name, *_stat(f / name)) for f in folders for name in _WATCHED)
            if signature != self._signature:
                with warnings.catch_warnings():  # a line being written is dropped, and read next time
                    warnings.simplefilter("ignore")
                    self._body = data_json(page_data(load_runs(folders))).encode()
                self._signature = signature
            return self._body

    def page(self) -> bytes:
        from evo_lacer.runs._html import render_page

        return render_page(json.loads(self.data()), live=True).encode()

    def start(self) -> LiveReport:
        self._thread = threading.Thread(target=self._server.serve_forever, name="evo-lacer-report",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> LiveReport:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stat(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


def _handler(live: LiveReport) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            try:
                if path in ("/", "/index.html", "/report.html"):
                    self._send(200, "text/html; charset=utf-8", live.page())
                elif path == "/data.json":
                    self._send(200, "application/json", live.data())
                else:
                    self._send(404, "text/plain; charset=utf-8", f"no {path} here; open /".encode())
            except (EvoLacerError, OSError, ValueError) as exc:
                self._send(500, "text/plain; charset=utf-8", f"{type(exc).__name__}: {exc}".encode())

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def serve_forever(run_dirs: RunDirs, port: int = 8765) -> None:
    """Serve the live report until Ctrl-C (the `evo-lacer report --serve` command)."""
    live = LiveReport(run_dirs, port).start()
    print(f"serving the live report at {live.url} (127.0.0.1 only; Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        live.close()
