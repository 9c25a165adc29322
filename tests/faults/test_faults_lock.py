"""One writer per run folder, checked with two real processes."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from evo_lacer.api import resume
from evo_lacer.cli import main
from evo_lacer.errors import RunStoreError
from evo_lacer.runs import RunLock, StaleLockWarning

from .fault_helpers import lines, logging_to, start_search, tally, wait_for

BUDGET = 8


def test_a_second_writer_is_refused_and_a_dead_holder_is_taken_over(tmp_path: Path, capsys, record) -> None:
    run_dir, log = tmp_path / "run", tmp_path / "calls.log"
    proc = start_search(run_dir, budget=BUDGET,
                        extra_env={"EVO_FAULT_SLEEP": "0.5", "EVO_FAULT_LOG": str(log)})
    try:
        wait_for(lambda: len(lines(run_dir / "candidates.jsonl")) >= 1, "a first candidate", proc)
        with pytest.raises(RunStoreError, match=rf"in use by process {proc.pid} on host"):
            resume(run_dir)
        assert main(["resume", str(run_dir), "--no-progress", "--no-report"]) == 1
        assert f"process {proc.pid}" in capsys.readouterr().err
        before = len(lines(run_dir / "candidates.jsonl"))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
        proc.wait()
    with pytest.warns(StaleLockWarning, match=rf"took over the lock of process {proc.pid}"), logging_to(log):
        result = resume(run_dir)
    records = lines(run_dir / "candidates.jsonl")
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) and len(records) >= before
    assert result.accounting["evaluations"] == BUDGET
    lost, repeated = tally(log, run_dir, BUDGET)
    assert lost == 0 and repeated <= 1  # at most the one in flight at the kill
    record("second resume while a search writes the folder; then kill -9 of the search and resume",
           "second writer refused naming pid and host; the stale lock taken over with a warning; exactly "
           "the budget evaluated", searches=3, lost=lost, repeated=repeated)


def test_the_lock_holds_within_one_process_and_is_released(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    with RunLock(tmp_path):
        assert str(os.getpid()) in (tmp_path / ".lock").read_text()
        assert socket.gethostname() in (tmp_path / ".lock").read_text()
        with pytest.raises(RunStoreError, match="in use"):
            RunLock(tmp_path).acquire()
    assert (tmp_path / ".lock").read_text() == ""
    with RunLock(tmp_path):  # released: taken again without a warning
        pass
