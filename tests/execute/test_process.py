"""ProcessPoolExecutor specifics: one unpickling per worker, signals, abandoned batches, lifecycle."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evo_lacer.errors import ConfigError, EvoLacerError
from evo_lacer.evaluate import Status
from evo_lacer.execute import Executor, InProcessExecutor, ProcessPoolExecutor, make_executor

from ._evaluators import CountingEvaluator, ImportsEvaluator, ScriptedEvaluator, tiny_tree
from .test_contract import alive, jobs, wait_dead

TREE = tiny_tree()


def test_the_evaluator_is_unpickled_once_per_worker(pool: ProcessPoolExecutor, tmp_path: Path) -> None:
    count_file = tmp_path / "unpickled.txt"
    ev = CountingEvaluator(str(count_file))
    assert all(fb.ok for _, fb in pool.submit_many(ev, jobs(*range(8)), timeout_s=60))
    assert all(fb.ok for _, fb in pool.submit_many(ev, jobs(*range(4)), timeout_s=60))
    pids = count_file.read_text().split()
    assert len(pids) == len(set(pids)) <= 2


def test_workers_start_warm_from_the_fork_server() -> None:
    """The fork server preloads the search API, torch's sympy-backed shapes and the zoo
    (`evo_lacer._worker_warm`), so a new worker pays none of them on its first job."""
    with ProcessPoolExecutor(1) as fresh:
        if fresh.context != "forkserver":
            pytest.skip("no fork server on this platform")
        ((_, feedback),) = list(fresh.submit_many(ImportsEvaluator(), jobs(0), timeout_s=120))
    assert feedback.ok and set(feedback.metrics.values()) == {1.0}, feedback.metrics


def test_a_segfault_names_the_signal(pool: ProcessPoolExecutor) -> None:
    results = dict(pool.submit_many(ScriptedEvaluator({0: ("segv", 0)}), jobs(0, 1), timeout_s=60))
    assert results[100].status is Status.FAILED and "SIGSEGV" in results[100].error
    assert results[101].ok


def test_an_abandoned_batch_stops_its_jobs(pool: ProcessPoolExecutor, tmp_path: Path) -> None:
    ev = ScriptedEvaluator({0: ("hang", 0)}, pid_dir=str(tmp_path))
    batch = pool.submit_many(ev, jobs(0, 1), timeout_s=None)
    jid, fb = next(batch)  # job 1; job 0 hangs in the other worker
    assert jid == 101 and fb.ok
    with pytest.raises(ConfigError, match="still being iterated"):
        pool.submit_many(ev, jobs(2), timeout_s=None)
    batch.close()  # the caller walks away: the hanging job's worker is killed
    assert wait_dead(int((tmp_path / "0.pid").read_text()), 5.0)
    again = pool.submit_many(ScriptedEvaluator(), jobs(0, 2), timeout_s=60)
    assert [fb.ok for _, fb in again] == [True, True]


def test_a_timeout_also_kills_what_the_job_started(pool: ProcessPoolExecutor, tmp_path: Path) -> None:
    ev = ScriptedEvaluator({0: ("hang_with_child", 0)}, pid_dir=str(tmp_path))
    ((_, fb),) = list(pool.submit_many(ev, jobs(0), timeout_s=1.0))
    assert fb.status is Status.TIMED_OUT
    assert wait_dead(int((tmp_path / "0.child").read_text()), 5.0)


def test_close_stops_the_workers_and_is_final() -> None:
    ex = ProcessPoolExecutor(1)
    ((_, fb),) = list(ex.submit_many(ScriptedEvaluator(), jobs(0), timeout_s=60))
    assert fb.ok
    pids = ex.pids
    ex.close()
    ex.close()
    assert pids and all(not alive(pid) for pid in pids)
    with pytest.raises(ConfigError, match="closed"):
        ex.submit_many(ScriptedEvaluator(), jobs(0), timeout_s=None)


def test_constructor_and_factory_checks() -> None:
    with pytest.raises(ConfigError, match="workers >= 1"):
        ProcessPoolExecutor(0)
    with pytest.raises(ConfigError, match="fork"):
        ProcessPoolExecutor(1, context="fork")
    assert isinstance(make_executor(0), InProcessExecutor)
    assert isinstance(make_executor(4, "inprocess"), InProcessExecutor)
    with make_executor(2) as ex:  # workers start on first use, so this is cheap
        assert isinstance(ex, ProcessPoolExecutor) and ex.workers == 2 and ex.pids == []
        assert isinstance(ex, Executor) and isinstance(InProcessExecutor(), Executor)
    with pytest.raises(ConfigError, match="unknown executor kind"):
        make_executor(2, "ray")
    with pytest.raises(ConfigError, match=">= 0"):
        make_executor(-1)


def test_dask_missing_extra_has_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    from evo_lacer.execute import _dask

    monkeypatch.setattr(_dask, "distributed", None)
    with pytest.raises(EvoLacerError, match=r"pip install 'evo-lacer\[dask\]'"):
        _dask.DaskExecutor()


@pytest.mark.slow
def test_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parents[1])!r})
        from execute._evaluators import ScriptedEvaluator, tiny_tree
        from evo_lacer.execute import ProcessPoolExecutor
        if __name__ == "__main__":
            pool = ProcessPoolExecutor(2)
            list(pool.submit_many(ScriptedEvaluator(), [(0, tiny_tree(), 0), (1, tiny_tree(), 1)], 60))
            print(*pool.pids, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    path = tmp_path / "parent.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2, out.stderr
    assert all(wait_dead(pid, 60.0) for pid in pids)


@pytest.mark.slow
def test_a_script_exits_without_closing_its_pool(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parents[1])!r})
        from execute._evaluators import ScriptedEvaluator, tiny_tree
        from evo_lacer.execute import ProcessPoolExecutor
        if __name__ == "__main__":
            pool = ProcessPoolExecutor(1)
            print(list(pool.submit_many(ScriptedEvaluator(), [(0, tiny_tree(), 0)], 60))[0][1].status)
    """)
    path = tmp_path / "forgetful.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
