"""write_report and `evo-lacer report` on synthetic run folders."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from evo_lacer.cli import main
from evo_lacer.errors import RunStoreError
from evo_lacer.evaluate import Status
from evo_lacer.runs import RunStore, write_report
from evo_lacer.tree import render

from ._records import candidate, llm_exchange, tree

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_run(path: Path, strategy: str, fitness_offset: float = 0.0, llm: bool = True,
             task: str | None = None) -> RunStore:
    store = RunStore.create(path, {"strategy": strategy, "seed": 0, **({"task": task} if task else {})})
    statuses = [Status.OK, Status.FAILED, Status.OK, Status.REJECTED, Status.TIMED_OUT, Status.OK,
                Status.OK, Status.FAILED]
    for i, status in enumerate(statuses):
        fitness = (i * 1.5 if i != 5 else 20.0) + fitness_offset if status is Status.OK else None
        store.append_candidate(candidate(i, status, fitness, strategy=strategy))
    if llm:
        for i in range(4):
            store.append_llm(llm_exchange(i, fallback=i == 3))
    return store


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100
    assert data[-8:-4] == b"IEND"


def test_report_of_one_run(tmp_path: Path) -> None:
    make_run(tmp_path / "run", "hybrid")
    report = write_report(tmp_path / "run")
    assert report == tmp_path / "run" / "report.md"
    assert_png(tmp_path / "run" / "best_so_far.png")
    text = report.read_text()
    assert "| run | ok | failed | timed_out | rejected | unreadable | total |" in text
    assert "| run | 4 | 2 | 1 | 1 | 0 | 8 |" in text
    assert "![best fitness so far](best_so_far.png)" in text
    assert render(tree(8 + 5)) in text  # the best candidate is #5 (fitness 20)
    assert "Fitness **20**" in text and "metric reward" in text and "feature ego/effective_rank" in text
    # LLM accounting: 4 calls, 1206 prompt tokens, 160 completion tokens, 5 s, 1 fallback, 1 of 3 differs
    assert "| run | ollama | qwen2.5:0.5b | 4 | 1206 | - | 160 | 5.0 | 1 | 0 | 1/3 |" in text
    assert "hit the time limit" not in text
    assert "| run | 7 | " in text  # evaluation time over the 7 evaluated (not rejected) candidates
    assert "| run | evaluate | " in text and "| run | gate | " in text
    assert "failed because of reasons 1" in text


def test_report_counts_timed_out_calls_and_says_which_setting_to_raise(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", {"strategy": "lacer", "seed": 0, "llm_timeout_s": 60.0})
    store.append_candidate(candidate(0, Status.OK, 1.0, strategy="lacer"))
    for i in range(2):  # answered; the second from a prompt whose first 250 tokens were cached
        store.append_llm({**llm_exchange(i), "cached_tokens": 250 * i, "ok": True, "seconds": 40.0 + i})
    for _ in range(3):
        store.append_llm({"backend": "ollama", "model": "qwen2.5:0.5b", "ok": False, "fallback": True,
                          "seconds": 60.2, "error": "LLMTimeout: did not finish within 60 s"})
    text = write_report(tmp_path / "run").read_text()
    # 5 calls, 601 prompt tokens of which 250 cached (42%), 3 fallbacks, all 3 timed out
    assert "| run | ollama | qwen2.5:0.5b | 5 | 601 | 42% | 80 | 261.6 | 3 | 3 | 1/2 |" in text
    assert ("3 of 5 calls hit the time limit (`llm_timeout_s` = 60.0 s) and fell back to random "
            "choices; the slowest call that finished took 41 s") in text
    assert "`--llm-timeout-s 300`" in text and "`llm_timeout_s=300`" in text


def test_report_compares_a_folder_of_runs_per_strategy(tmp_path: Path) -> None:
    make_run(tmp_path / "runs" / "hybrid-0", "hybrid", 1.0)
    make_run(tmp_path / "runs" / "hybrid-1", "hybrid", 2.0)
    make_run(tmp_path / "runs" / "random-0", "random", 0.0, llm=False)
    report = write_report(tmp_path / "runs")
    assert report == tmp_path / "runs" / "report.md"
    assert_png(tmp_path / "runs" / "best_so_far.png")
    text = report.read_text()
    for name in ("hybrid-0", "hybrid-1", "random-0"):
        assert f"| {name} | " in text
    assert "Fitness **22**" in text and "run `hybrid-1`" in text

    out = tmp_path / "out"
    report = write_report([tmp_path / "runs" / "hybrid-0", tmp_path / "runs" / "random-0"], out)
    assert report == out / "report.md" and "hybrid-1" not in report.read_text()
    assert_png(out / "best_so_far.png")


def test_report_of_runs_of_different_tasks_says_so(tmp_path: Path) -> None:
    make_run(tmp_path / "runs" / "ring-0", "hybrid", task="Gymnasium env 'evo_lacer/RingTraffic-v0'. A ring.")
    make_run(tmp_path / "runs" / "cart-0", "hybrid", task="Gymnasium env 'CartPole-v1'. A pole.")
    with pytest.warns(UserWarning, match="2 different tasks"):
        report = write_report(tmp_path / "runs")
    assert ("These runs are of 2 different tasks (Gymnasium env 'CartPole-v1': cart-0; Gymnasium env "
            "'evo_lacer/RingTraffic-v0': ring-0)") in report.read_text()


def test_report_of_an_empty_run(tmp_path: Path) -> None:
    RunStore.create(tmp_path / "run", {"strategy": "random"})
    text = write_report(tmp_path / "run").read_text()
    assert "No candidate has been evaluated successfully yet." in text
    assert "No LLM exchanges recorded." in text
    assert_png(tmp_path / "run" / "best_so_far.png")


def test_report_refuses_what_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(RunStoreError, match="does not exist"):
        write_report(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(RunStoreError, match=r"has no run\.json"):
        write_report(tmp_path / "plain")


def test_cli_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_run(tmp_path / "a", "hybrid")
    make_run(tmp_path / "b", "evolution", llm=False)
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "rep")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "rep" / "report.md").is_file()
    assert_png(tmp_path / "rep" / "best_so_far.png")
    assert main(["report", str(tmp_path / "nothing")]) == 1
    assert "evo-lacer report: error:" in capsys.readouterr().err


def test_report_of_a_halving_run_keeps_fidelities_apart(tmp_path: Path) -> None:
    """Cheap scores (imitation skill) and full ones (PPO reward) are on different scales: the best
    is the best *full* evaluation, and the plot has one panel per fidelity."""
    store = RunStore.create(tmp_path / "run", {"strategy": "hybrid", "seed": 0, "fidelity": "halving"})
    for i, fitness in enumerate([0.2, 0.9, 0.5]):
        record = candidate(i, Status.OK, fitness)
        record["feedback"]["fidelity"] = "cheap"
        store.append_candidate(record)
    for i, fitness in [(3, -4.0), (4, -2.5)]:
        store.append_candidate(candidate(i, Status.OK, fitness, transformation="promote"))
    text = write_report(tmp_path / "run").read_text()
    assert "Fitness **-2.5**" in text and "fidelity full" in text
    assert "| run | hybrid | " in text and "| 5 | -2.5 |" in text
    assert_png(tmp_path / "run" / "best_so_far.png")
    from evo_lacer.runs._run_record import _load

    run = _load(tmp_path / "run", "run")
    assert run.fidelities() == ["cheap", "full"]
    assert run.best_so_far("cheap") == [0.2, 0.9, 0.9, 0.9, 0.9]
    assert run.best_so_far("full")[3:] == [-4.0, -2.5] and math.isnan(run.best_so_far("full")[0])


def test_report_says_where_the_wall_clock_went(search_run: Path, tmp_path: Path) -> None:
    import json
    import shutil

    run = tmp_path / "run"
    shutil.copytree(search_run, run)
    summary = json.loads((run / "state" / "summary.json").read_text())
    section = write_report(run).read_text().split("## Time use", 1)[1].split("\n## ", 1)[0]
    header, _, row = [line for line in section.splitlines() if line.startswith("|")]
    assert "idle worker-s" in header
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == summary["loop"] and summary["loop"] in ("generational", "steady")
    wall, eval_s, idle, llm_s = float(cells[3]), float(cells[4]), float(cells[5]), float(cells[7])
    assert wall == pytest.approx(summary["wall_s"], abs=0.06)
    assert eval_s == pytest.approx(summary["eval_s"], abs=0.06)
    assert idle == pytest.approx(max(0.0, int(cells[2]) * wall - eval_s), abs=0.2)
    assert llm_s == pytest.approx(summary["llm"]["seconds"], abs=0.06)
    workers = int(cells[2])
    summary.update(wall_s=100.0, eval_s=30.0, llm={**summary["llm"], "seconds": 25.0})
    (run / "state" / "summary.json").write_text(json.dumps(summary))
    section = write_report(run).read_text().split("## Time use", 1)[1]
    idle = 100.0 * workers - 30.0
    share = f"{100 * idle / (100 * workers):.0f}%"
    assert f"| {workers} | 100.0 | 30.0 | {idle:.1f} | {share} | 25.0 | 25% |" in section
    # a run folder without a summary (a search killed before its end) reports no time row
    (run / "state" / "summary.json").unlink()
    assert "## Time use" not in write_report(run).read_text()


def _timed_run(path: Path, strategy: str, *, propose_s: float, eval_s: float, workers: int = 1,
               llm_s: float = 0.0) -> RunStore:
    store = RunStore.create(path, {"strategy": strategy, "seed": 0, "workers": workers})
    for i in range(10):
        store.append_candidate(candidate(i, strategy=strategy,
                                         timings={"propose_s": propose_s, "gate_s": 0.01, "eval_s": eval_s}))
    wall = 10 * max(propose_s + 0.01, eval_s / workers)  # the slower side sets the pace
    store.save_state("summary", {"wall_s": wall, "eval_s": 10 * eval_s, "loop": "steady",
                                 "llm": {"seconds": llm_s}})
    return store


def test_report_says_when_the_workers_wait_on_the_search_process(tmp_path: Path) -> None:
    # the hybrid proposing at 90 ms for a 50 ms fitness: one worker idles 50 of the 100 ms a candidate
    _timed_run(tmp_path / "hybrid", "hybrid", propose_s=0.09, eval_s=0.05)
    text = write_report(tmp_path / "hybrid").read_text()
    assert ("the workers idled 50% of their time, waiting on the search process: it spent 100 ms a "
            "candidate proposing (90 ms) and checking it (the gate, 10 ms), against 50 ms an evaluation "
            "shared by 1 worker(s)") in text
    assert "`--strategy tpe` needs about a third of its time a candidate" in text
    # the same search with a 2 s fitness keeps its worker busy: nothing to say
    _timed_run(tmp_path / "slow", "hybrid", propose_s=0.09, eval_s=2.0)
    assert "waiting on the search process" not in write_report(tmp_path / "slow").read_text()
    # two workers halve what a proposal may take: 40 ms proposals (50 ms with the gate) against 50 ms
    # evaluations keep one worker busy, not two
    _timed_run(tmp_path / "two", "tpe", propose_s=0.04, eval_s=0.05, workers=2)
    text = write_report(tmp_path / "two").read_text()
    assert "idled 50% of their time" in text and "shared by 2 worker(s)" in text
    assert "`--strategy tpe`" not in text  # the advice for the hybrid's screen is the hybrid's alone
    # most of the proposing in LLM calls: the advice names the model
    _timed_run(tmp_path / "llm", "hybrid", propose_s=2.0, eval_s=0.05, llm_s=18.0)
    text = write_report(tmp_path / "llm").read_text()
    assert "LLM calls took 18 s of it" in text and "`--llm none`" in text
    assert "`--strategy tpe`" not in text
