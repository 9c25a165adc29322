"""RunStore: manifest checks, durable JSONL logs, atomic state, clear errors."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from evo_lacer.errors import RunStoreError
from evo_lacer.evaluate import Feedback, Status
from evo_lacer.runs import FORMAT, RunStore, TruncatedRecordWarning
from evo_lacer.runs._store import LIBRARIES

from ._records import candidate, llm_exchange

CONFIG = {"strategy": "hybrid", "seed": 3, "budget": 40, "sources": ("ego", "history")}


def test_round_trip(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", CONFIG)
    records = [candidate(i) for i in range(3)] + [candidate(3, Status.TIMED_OUT)]
    for record in records:
        store.append_candidate(record)
    store.append_llm(llm_exchange(0))
    store.save_state("planner", {"trials": [1, 2, 3]})
    store.save_state("checkpoint", {"generation": 2, "population": [0, 1]})

    again = RunStore.open(tmp_path / "run")
    assert again.path == tmp_path / "run"
    assert again.config == {**CONFIG, "sources": ["ego", "history"]}  # as JSON reads it back
    assert again.candidates() == records
    assert Feedback.from_dict(again.candidates()[3]["feedback"]).status is Status.TIMED_OUT
    assert again.llm_exchanges() == [llm_exchange(0)]
    assert again.load_state("planner") == {"trials": [1, 2, 3]}
    assert (tmp_path / "run" / "state" / "checkpoint.json").is_file()
    assert again.load_state("missing") is None
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["format"] == FORMAT and manifest["version"] == 1
    assert manifest["created"] and manifest["evo_lacer_version"]
    assert manifest["libraries"]["optuna"] == importlib.metadata.version("optuna")
    assert set(manifest["libraries"]) == set(LIBRARIES)
    artifact = again.artifact_path("optuna.journal")
    assert artifact.parent.is_dir() and artifact.name == "optuna.journal"


def test_create_refuses_existing_runs_and_foreign_folders(tmp_path: Path) -> None:
    run = tmp_path / "run"
    RunStore.create(run, CONFIG).append_candidate(candidate(0))
    with pytest.raises(RunStoreError, match="already holds a run"):
        RunStore.create(run, CONFIG)
    resumed = RunStore.create(run, dict(CONFIG), resume_ok=True)
    assert len(resumed.candidates()) == 1
    with pytest.raises(RunStoreError, match=r"different config \(differs in \['budget'\]\)"):
        RunStore.create(run, {**CONFIG, "budget": 80}, resume_ok=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("hello")
    with pytest.raises(RunStoreError, match=r"not empty .* not an evo-lacer run"):
        RunStore.create(other, CONFIG)
    with pytest.raises(RunStoreError, match="not a run folder"):
        RunStore.create(other / "notes.txt", CONFIG)
    with pytest.raises(RunStoreError, match="JSON-serializable"):
        RunStore.create(tmp_path / "bad", {"fn": object()})
    empty = tmp_path / "empty"
    empty.mkdir()
    assert RunStore.create(empty, CONFIG).config["seed"] == 3


def test_a_resume_under_other_library_versions_is_warned_about(tmp_path: Path) -> None:
    run = tmp_path / "run"
    RunStore.create(run, CONFIG)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RunStore.create(run, CONFIG, resume_ok=True)  # the same libraries: no warning
    manifest = json.loads((run / "run.json").read_text())
    optuna_now = manifest["libraries"]["optuna"]
    manifest["libraries"]["optuna"] = "0.0.1"
    (run / "run.json").write_text(json.dumps(manifest))
    with pytest.warns(RuntimeWarning, match=rf"other library versions \(optuna 0.0.1 -> {optuna_now}\)"):
        assert RunStore.create(run, CONFIG, resume_ok=True).config["seed"] == 3
    del manifest["libraries"]  # a run from before the versions were kept: nothing to compare
    (run / "run.json").write_text(json.dumps(manifest))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RunStore.create(run, CONFIG, resume_ok=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "has no run.json"),
        ("{not json", r"run.json: corrupt manifest, not valid JSON"),
        ('{"format": "optuna/journal", "version": 1, "config": {}}', "not an evo-lacer run manifest"),
        ('["a", "list"]', "not an evo-lacer run manifest"),
        (f'{{"format": "{FORMAT}", "version": 99, "config": {{}}}}', "version 99 is not supported"),
        (f'{{"format": "{FORMAT}", "version": 1}}', "`config` is missing"),
    ],
)
def test_open_names_the_file_and_the_problem(tmp_path: Path, content: str | None, message: str) -> None:
    run = tmp_path / "run"
    run.mkdir()
    if content is not None:
        (run / "run.json").write_text(content)
    with pytest.raises(RunStoreError, match=message) as info:
        RunStore.open(run)
    assert str(run) in str(info.value)


def test_open_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(RunStoreError, match="does not exist"):
        RunStore.open(tmp_path / "nowhere")


def test_a_truncated_last_line_is_dropped_with_a_warning(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", CONFIG)
    for i in range(3):
        store.append_candidate(candidate(i))
    log = tmp_path / "run" / "candidates.jsonl"
    with open(log, "a") as fh:
        fh.write(json.dumps(candidate(3))[:57])  # killed mid-write
    with pytest.warns(TruncatedRecordWarning, match="line 4"):
        assert [r["id"] for r in RunStore.open(tmp_path / "run").candidates()] == [0, 1, 2]
    # appending after such a crash cuts the fragment first, so the file stays readable
    resumed = RunStore.open(tmp_path / "run")
    with pytest.warns(TruncatedRecordWarning):
        resumed.append_candidate(candidate(4))
    assert [r["id"] for r in resumed.candidates()] == [0, 1, 2, 4]


def test_a_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", CONFIG)
    with open(tmp_path / "run" / "candidates.jsonl", "w") as fh:
        fh.write(json.dumps(candidate(0)))
    assert [r["id"] for r in store.candidates()] == [0]
    RunStore.open(tmp_path / "run").append_candidate(candidate(1))
    assert [r["id"] for r in store.candidates()] == [0, 1]


def test_a_corrupt_middle_line_is_an_error_naming_it(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", CONFIG)
    for i in range(3):
        store.append_candidate(candidate(i))
    log = tmp_path / "run" / "candidates.jsonl"
    lines = log.read_text().splitlines()
    lines[1] = lines[1][:40]
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(RunStoreError, match=r"candidates.jsonl, line 2: corrupt record"):
        store.candidates()
    log.write_text(json.dumps(candidate(0)) + "\n[1, 2]\n")
    with pytest.raises(RunStoreError, match="line 2: expected a JSON object"):
        store.candidates()


def test_bad_records_and_names_are_refused(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", CONFIG)
    with pytest.raises(RunStoreError, match=r"lacks \['designer', 'timings'\]"):
        store.append_candidate({k: v for k, v in candidate(0).items() if k not in ("designer", "timings")})
    with pytest.raises(RunStoreError, match="not JSON-serializable"):
        store.append_candidate(candidate(0, timings={"gate": object()}))
    with pytest.raises(RunStoreError, match="must be a dict"):
        store.append_llm(["not", "a", "dict"])  # type: ignore[arg-type]
    for name in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(RunStoreError, match="not allowed"):
            store.save_state(name, {})
        with pytest.raises(RunStoreError, match="not allowed"):
            store.artifact_path(name)
    assert store.candidates() == []


def test_a_failed_state_save_keeps_the_old_state(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", CONFIG)
    store.save_state("planner", {"version": 1})
    with pytest.raises(RunStoreError, match="not JSON-serializable"):
        store.save_state("planner", {"version": 2, "bad": {1, 2}})
    assert store.load_state("planner") == {"version": 1}
    assert [p.name for p in (tmp_path / "run" / "state").iterdir()] == ["planner.json"]


def _run_child(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)


def test_state_survives_a_kill_between_writes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    out = _run_child(f"""
        import os, signal
        from evo_lacer.runs import RunStore
        store = RunStore.create({str(run)!r}, {{"strategy": "x"}})
        store.save_state("checkpoint", {{"generation": 1, "payload": "a" * 100000}})
        real_fsync = os.fsync
        def fsync_then_die(fd):
            real_fsync(fd)
            os.kill(os.getpid(), signal.SIGKILL)  # the new version is on disk, not yet renamed
        os.fsync = fsync_then_die
        store.save_state("checkpoint", {{"generation": 2, "payload": "b" * 100000}})
    """, tmp_path)
    assert out.returncode == -signal.SIGKILL, out.stderr
    state = RunStore.open(run).load_state("checkpoint")
    assert state is not None and state["generation"] == 1 and state["payload"] == "a" * 100000
    leftovers = [p.name for p in (run / "state").iterdir() if p.name != "checkpoint.json"]
    assert all(name.endswith(".tmp") for name in leftovers)


def test_kill_9_while_appending_loses_at_most_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    RunStore.create(run, CONFIG)
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from _records import candidate
        from evo_lacer.runs import RunStore
        store = RunStore.open({str(run)!r})
        big = "x" * 20000
        for i in range(100000):
            store.append_candidate(candidate(i, note=big))
            if i == 5:
                print("going", flush=True)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "going"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedRecordWarning)  # likely, but not certain
        records = RunStore.open(run).candidates()
    assert len(records) >= 6
    assert [r["id"] for r in records] == list(range(len(records)))
    assert all(r["note"] == "x" * 20000 for r in records)



def test_files_written_whole_get_the_umask_mode_like_any_other(tmp_path: Path) -> None:
    """atomic_write goes through a temp file (mkstemp: 0600); the file it leaves reads as any other."""
    import stat

    from evo_lacer.runs._files import atomic_write

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "report.md", "# report\n")
        (tmp_path / "plain.md").write_text("# plain\n")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "report.md").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.md").stat().st_mode) == 0o644
