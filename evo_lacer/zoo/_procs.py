"""Killing a child process with everything it started, even what left its process group.

A child that calls ``setsid()`` (or double-forks) escapes a ``killpg`` of its parent's group.
On Linux the parent of such code marks itself a *child subreaper* (orphans are re-parented to
it, not to init), and `kill_tree` walks ``/proc`` for every descendant before it kills.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Make orphaned descendants of this process its children (Linux; a no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def descendants(pid: int) -> list[int]:
    """Process ids below `pid` (children, grandchildren, ...), from /proc; [] where it is missing."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.append(child)
                todo.append(child)
    return out


def kill_tree(pid: int, group: bool = True) -> None:
    """SIGKILL `pid`, its process group (when it leads one and `group`) and every descendant."""
    below = descendants(pid)
    for target in below:  # stop them first, so none forks again while the others are killed
        with contextlib.suppress(OSError):
            os.kill(target, signal.SIGSTOP)
    if group and hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    for target in [pid, *below]:
        with contextlib.suppress(OSError):
            os.kill(target, signal.SIGKILL)
