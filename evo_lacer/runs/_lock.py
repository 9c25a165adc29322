"""One writer per run folder: ``RUN_DIR/.lock`` names the holder (pid, host, since when).

The lock itself is an ``flock`` on that file, which the kernel releases when the holder dies
however it dies, so a stale lock never blocks: a new holder takes it over and says whose it
was. The file is never deleted (deleting a locked file lets a second writer lock a new one).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import warnings
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from evo_lacer.errors import RunStoreError

LOCK_FILE = ".lock"


class StaleLockWarning(RuntimeWarning):
    """A run folder's lock named a process that is gone; it was taken over."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """Exclusive hold on one run folder while a search or resume writes it (a context manager)."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise RunStoreError naming the holder; a dead holder's is taken over."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise RunStoreError(
                f"{self.path.parent} is in use by {_describe(holder)}; two writers would record candidates "
                "twice. Wait for it to finish or stop it (then resume), or choose another folder"
            ) from None
        previous = _read(fd)
        if previous.get("pid") is not None:
            still = previous.get("host") == socket.gethostname() and _pid_alive(int(previous["pid"]))
            state = "still running but no longer holding it" if still else "no longer running"
            warnings.warn(
                f"{self.path}: took over the lock of {_describe(previous)} ({state}; it stopped "
                "without releasing the folder: killed, or crashed -- if an evaluation crashed it, resume "
                "with executor='process' and workers >= 1 (`--executor process --workers 1`) so that "
                "evaluations run in worker processes)",
                StaleLockWarning,
                stacklevel=3,
            )
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        """Clear the holder and unlock (idempotent)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire() if self._fd is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "another process"
    return f"process {holder.get('pid')} on host {holder.get('host')!r} (since {holder.get('since')})"
