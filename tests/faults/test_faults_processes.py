"""User code that exits or interrupts, real interrupts and kills of the search: what stops and
what does not, and that no worker outlives its search."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from evo_lacer.api import resume, search
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import Status
from evo_lacer.zoo._procs import descendants

from .fault_helpers import (
    CLI,
    ROOT,
    SETTINGS,
    alive,
    all_dead,
    env,
    kill_all,
    lines,
    logging_to,
    signal_an_in_process_search,
    space,
    start_search,
    tally,
    wait_for,
)


@pytest.mark.parametrize("name", ["exiting_fitness", "interrupting_fitness"])
def test_sys_exit_and_keyboard_interrupt_in_the_fitness_are_recorded(tmp_path: Path, name: str,
                                                                     record) -> None:
    from . import fault_helpers

    result = search(observation_space=space(), fitness=getattr(fault_helpers, name), run_dir=tmp_path / "r",
                    budget=6, workers=0, **SETTINGS)
    failed = [c for c in result.history if c.evaluated and c.status is Status.FAILED]
    assert result.accounting["evaluations"] == 6 and failed
    assert all(("SystemExit" in c.feedback.error) or ("KeyboardInterrupt" in c.feedback.error)
               for c in failed)
    record(f"{name.split('_')[0]} fitness: {'sys.exit(3)' if 'exit' in name else 'raise KeyboardInterrupt'} "
           "in process", f"{len(failed)} candidates FAILED with the exception named; the search went on")


def test_cli_with_an_exiting_fitness_finishes(tmp_path: Path, record) -> None:
    out = subprocess.run([*CLI, "search", "--fitness",
                          "faults.fault_helpers:exiting_fitness",
                          "--observation-space", "faults.fault_helpers:space",
                          "--strategy", "evolution", "--budget", "6", "--llm", "none", "--workers", "0",
                          "--run-dir", str(tmp_path / "r"), "--no-progress", "--no-report"],
                         env=env(), cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "6/6 evaluations" in out.stdout and "failed" in out.stdout
    record("CLI search, fitness calls sys.exit()", "exit 0 after 6/6 evaluations, the failures counted",
           crashed=int("Traceback" in out.stderr))


def test_a_real_ctrl_c_stops_an_in_process_search(tmp_path: Path, record) -> None:
    run_dir, log = tmp_path / "r", tmp_path / "calls.log"
    code, err = signal_an_in_process_search(run_dir, log, signal.SIGINT)
    assert code == 130 and "evo-lacer resume" in err and "Traceback" not in err
    done = lines(run_dir / "candidates.jsonl")
    assert len(done) < 8
    assert all(r["feedback"]["status"] != "failed" for r in done)  # the interrupted one is not a failure
    with logging_to(log):
        assert resume(run_dir).accounting["evaluations"] == 8
    lost, repeated = tally(log, run_dir, 8)
    assert lost == 0 and repeated <= 1
    record("Ctrl-C (SIGINT) during an in-process evaluation", "the search stopped (exit 130, resume hint); "
           "resume ended with exactly the budget", lost=lost, repeated=repeated)


def test_a_timeout_in_process_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"eval_timeout_s=2 cannot hold in process.*workers >= 1"):
        search(observation_space=space(), fitness=lambda t, m: 0.0, budget=2, workers=0, eval_timeout_s=2,
               **SETTINGS)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL"])  # a handled SIGTERM: the test below
def test_workers_die_with_their_search(tmp_path: Path, how: str, record) -> None:
    pids_dir = tmp_path / "pids"
    pids_dir.mkdir()
    proc = start_search(tmp_path / "r", "spinning_fitness", budget=4, workers=2,
                        extra_env={"EVO_FAULT_PIDS": str(pids_dir)})
    pids: list[int] = []
    try:
        wait_for(lambda: len(list(pids_dir.iterdir())) >= 2, "two spinning workers", proc)
        workers = [int(p.name) for p in pids_dir.iterdir()]
        pids = descendants(proc.pid)  # the workers, the fork server, the resource tracker
        assert set(workers) <= set(pids) and len(pids) >= 4
        os.kill(proc.pid, getattr(signal, how))
        proc.wait(timeout=300)
        assert all_dead(workers), f"workers {workers} outlived the search"
        assert all_dead(pids), f"helper processes {[p for p in pids if alive(p)]} outlived the search"
    finally:
        proc.kill()
        kill_all(pids)
    record(f"{how} to a search whose 2 workers spin for ever", "both workers, the fork server and the "
           "resource tracker gone with the search")


@pytest.mark.slow
def test_sigterm_to_the_cli_stops_checkpoints_and_resumes(tmp_path: Path, record) -> None:
    run_dir, log = tmp_path / "r", tmp_path / "calls.log"
    proc = subprocess.Popen([*CLI, "search", "--fitness", "faults.fault_helpers:fitness",
                             "--observation-space", "faults.fault_helpers:space",
                             "--strategy", "evolution", "--budget", "8", "--batch-size", "2", "--llm", "none",
                             "--workers", "2", "--run-dir", str(run_dir), "--no-progress", "--no-report"],
                            env=env(EVO_FAULT_SLEEP="1.0", EVO_FAULT_LOG=str(log)), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(lines(run_dir / "candidates.jsonl")) >= 2, "two candidates", proc)
    helpers = descendants(proc.pid)  # workers, fork server, resource tracker
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert all_dead(helpers), f"{[p for p in helpers if alive(p)]} outlived the search"
    assert "terminated (SIGTERM)" in err and "evo-lacer resume" in err and "Traceback" not in err
    with logging_to(log):
        result = resume(run_dir)
    ids = [r["id"] for r in lines(run_dir / "candidates.jsonl")]
    assert result.accounting["evaluations"] == 8 and len(ids) == len(set(ids))
    lost, repeated = tally(log, run_dir, 8)
    assert lost == 0 and repeated <= 2  # at most the two in flight at the signal
    record("SIGTERM to `evo-lacer search` (2 process workers)", "exit 143 with the resume hint, workers and "
           "helpers gone; resume ended with exactly the budget, no id twice", lost=lost, repeated=repeated)


@pytest.mark.slow
def test_sigterm_during_an_in_process_evaluation_exits_143(tmp_path: Path, record) -> None:
    run_dir = tmp_path / "r"
    code, err = signal_an_in_process_search(run_dir, tmp_path / "calls.log", signal.SIGTERM)
    assert code == 143 and "terminated (SIGTERM)" in err, err
    assert all(r["feedback"]["status"] != "failed" for r in lines(run_dir / "candidates.jsonl"))
    assert resume(run_dir).accounting["evaluations"] == 8
    record("SIGTERM during an in-process evaluation", "exit 143, the evaluation cut off not recorded as a "
           "failure; resume ended with exactly the budget")


@pytest.mark.slow
def test_a_segfault_in_process_then_resume_in_worker_processes(tmp_path: Path, record) -> None:
    run_dir = tmp_path / "r"
    task = ["--fitness", "faults.fault_helpers:crashing_fitness", "--observation-space",
            "faults.fault_helpers:space", "--no-progress", "--no-report"]
    crashed = subprocess.run([*CLI, "search", *task, "--strategy", "random", "--budget", "4", "--llm", "none",
                              "--workers", "0", "--run-dir", str(run_dir)], env=env(), cwd=ROOT,
                             capture_output=True, text=True)
    assert crashed.returncode == -signal.SIGSEGV
    assert "crashing_fitness" in crashed.stderr  # faulthandler names where it happened
    refused = subprocess.run([*CLI, "resume", str(run_dir), "--executor", "process", *task[:2], *task[4:]],
                             env=env(), cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 1 and "needs workers >= 1" in refused.stderr
    resumed = subprocess.run([*CLI, "resume", str(run_dir), "--executor", "process", "--workers", "1",
                              *task[:2], *task[4:]], env=env(), cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "--executor process --workers 1" in refused.stderr  # the stale-lock warning says how to isolate
    assert "4/4 evaluations" in resumed.stdout and "4 failed" in resumed.stdout
    failed = [r for r in lines(run_dir / "candidates.jsonl") if r["feedback"]["status"] == "failed"]
    assert len(failed) == 4 and all("SIGSEGV" in r["feedback"]["error"] for r in failed)
    record("fitness segfaults, in process; then `resume --executor process --workers 1`",
           "the search died naming the fitness (faulthandler); the resume isolated each evaluation: "
           "4 FAILED naming SIGSEGV",
           searches=2, crashed=1)
