"""Durable files of a run directory: atomically replaced text files and append-only JSON-lines
logs whose readers drop (with a warning) a last line a killed writer left partial."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from evo_lacer.errors import RunStoreError


class TruncatedRecordWarning(RuntimeWarning):
    """A JSONL log ends with a partial line (the writer was killed); the line was dropped."""


def fsync_dir(path: Path) -> None:
    """Persist a directory entry (a new or renamed file); a no-op where directories can't be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str, durable: bool = True) -> None:
    """Write `text` to a temp file next to `path`, fsync it, then rename it over `path`
    (``durable=False``: no fsync -- still whole after a kill of the process, not after a power cut)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it 0600; a run's files read as any other file
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def _umask() -> int:
    """This process's umask: from ``/proc/self/status`` where Linux has it, else read by setting it
    and restoring it (which, for that instant, would give a file another thread creates 0o022)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSONL log; a missing file is empty, a partial last line is dropped with a warning."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot be read: {exc}") from None
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    records: list[dict[str, Any]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise RunStoreError(
                f"{path}, line {number}: corrupt record ({exc}); the file was edited or damaged — "
                "restore it from a backup or delete that line"
            ) from None
        if not isinstance(record, dict):
            raise RunStoreError(f"{path}, line {number}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    if tail.strip():
        try:
            record = json.loads(tail)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            warnings.warn(
                f"{path}, line {len(lines) + 1}: dropped a truncated last record "
                f"({len(tail)} bytes; the writer was probably killed while writing it)",
                TruncatedRecordWarning,
                stacklevel=3,
            )
            return records
        if not isinstance(record, dict):
            raise RunStoreError(
                f"{path}, line {len(lines) + 1}: expected a JSON object, got {type(record).__name__}"
            )
        records.append(record)
    return records


def repair_tail(path: Path) -> None:
    """Make `path` end with a newline before appending: a complete last record gets its newline,
    a partial one (a kill mid-write) is cut off, so the next record never merges with it."""
    if not path.exists():
        return
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        cut, chunk = size, 1 << 16
        while cut > 0:  # walk back to the last newline
            start = max(0, cut - chunk)
            fh.seek(start)
            found = fh.read(cut - start).rfind(b"\n")
            if found >= 0:
                cut = start + found + 1
                break
            cut = start
        fh.seek(cut)
        tail = fh.read()
    try:
        complete = isinstance(json.loads(tail), dict)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        complete = False
    with open(path, "r+b") as fh:
        if complete:
            fh.seek(0, os.SEEK_END)
            fh.write(b"\n")
        else:
            warnings.warn(
                f"{path}: cut a truncated last record ({len(tail)} bytes) before appending",
                TruncatedRecordWarning,
                stacklevel=4,
            )
            fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
