"""report.html: what the page holds (every candidate, how it was made, the lineage, arms, LLM
log, features, several runs) and that it is self-contained; read from real run folders."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from evo_lacer.cli import main
from evo_lacer.runs import RunStore, write_report
from evo_lacer.runs._html import data_json, origin, page_data, render_page
from evo_lacer.runs._run_record import _load
from evo_lacer.tree import node_from_dict, render

from ._records import candidate, llm_exchange
from .test_report import make_run


def test_the_page_data_holds_every_candidate_and_how_it_was_made(search_run: Path) -> None:
    records = RunStore.open(search_run).candidates()
    data = page_data([_load(search_run, "run")])
    run = data["runs"][0]
    cands = run["cands"]
    assert [c["id"] for c in cands] == [r["id"] for r in records]
    assert Counter(c["origin"] for c in cands) == Counter(r["extra"]["origin"] for r in records)
    assert {"initial", "edit:llm", "design:llm"} <= {c["origin"] for c in cands}
    statuses = Counter(c["status"] for c in cands)
    assert statuses["ok"] and statuses["failed"] and statuses["rejected"], statuses
    for c, r in zip(cands, records):
        if r["tree"]:
            assert c["tree"] == render(node_from_dict(r["tree"]))
        else:  # a transformation that could not be applied: rejected, with no tree
            assert c["status"] == "rejected" and c["tree"].startswith("(no tree")
        assert c["parents"] == r["parents"]
        if r["parents"]:  # a child: its edits, named by transformation, site and choice
            first = (r["extra"].get("edits") or [r])[0]
            assert c["edit"].splitlines()[0].startswith(first["transformation"] + " @ ")
        if c["status"] == "failed":
            assert "too big to train here" in c["err"] and c["fit"] is None
        if c["status"] == "rejected":
            assert not c["evaluated"]
    best = max((c for c in cands if c["status"] == "ok"), key=lambda c: c["fit"])
    assert run["best"] == best["id"] and best["features"]["ego/effective_rank"] > 2
    assert run["curves"]["full"][-1] == pytest.approx(best["fit"], rel=1e-4)
    chosen = Counter(r["extra"]["arm"] for r in records if r["extra"].get("arm"))
    assert {a["arm"]: a["chosen"] for a in run["arms"]} == chosen
    assert any(a["arm"].endswith(":llm") for a in run["arms"])
    won = Counter(r["extra"]["arm"] for r in records if r["extra"].get("llm_won") is True)
    assert {a["arm"]: a["llm_chosen"] for a in run["arms"] if a["arm"].endswith(":llm")} == \
        {a["arm"]: won[a["arm"]] for a in run["arms"] if a["arm"].endswith(":llm")}
    assert all(a["llm_chosen"] is None for a in run["arms"] if not a["arm"].endswith(":llm"))
    exchanges = RunStore.open(search_run).llm_exchanges()
    assert len(run["llm"]) == len(exchanges) > 0
    assert all(x["prompt"] and x["answer"] for x in run["llm"])
    assert run["check"]["probes"] == 3 and run["check"]["verdict"]


def test_report_writes_a_self_contained_page_beside_the_markdown(search_run: Path, tmp_path: Path) -> None:
    write_report(search_run, tmp_path / "rep")
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "report.html" in (tmp_path / "rep" / "report.md").read_text()
    head, _, _ = page.partition("<script>")
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=", page)  # nothing loaded from elsewhere
    assert re.findall(r'<link[^>]*href="([^"]*)"', page) == ["data:,"]
    assert "@import" not in page and "url(" not in head
    assert page.count("</script>") == 1
    assert len(page.encode()) < 1_000_000


def test_text_in_the_data_cannot_end_the_script(tmp_path: Path) -> None:
    store = make_run(tmp_path / "run", "hybrid")
    hostile = "</script><script>window.owned = 1</script><!-- "
    store.append_llm({**llm_exchange(9), "prompt": hostile})
    page = render_page(page_data([_load(tmp_path / "run", "run")]))
    assert page.count("</script>") == 1 and "window.owned" in page
    assert json.loads(data_json({"p": hostile})) == {"p": hostile} and "<" not in data_json({"p": hostile})


def test_origin_reads_flat_strategies_and_older_records() -> None:
    assert origin({"designer": "tpe", "parents": []}) == "sample:tpe"
    assert origin({"designer": "llm", "parents": []}) == "design:llm"
    assert origin({"designer": "llm", "parents": [3]}) == "edit:llm"
    assert origin({"designer": "random", "transformation": "promote"}) == "promote"
    assert origin({"designer": "random", "extra": {"origin": "edit:random"}}) == "edit:random"
    assert origin({"designer": "seed"}) == "seed"


def test_several_runs_are_grouped_per_strategy_folder(tmp_path: Path) -> None:
    for group, seed, offset in [("hybrid", 0, 1.0), ("hybrid", 1, 2.0), ("random", 0, 0.0)]:
        make_run(tmp_path / "runs" / group / f"s{seed}", group, offset, llm=group == "hybrid")
    write_report(tmp_path / "runs")  # nested two levels: runs/STRATEGY/SEED
    data = page_data([_load(p, f"{p.parent.name}/{p.name}")
                      for p in sorted((tmp_path / "runs").glob("*/*"))])
    assert [r["group"] for r in data["runs"]] == ["hybrid", "hybrid", "random"]
    assert data["runs"][1]["curves"]["full"] == [2.0, 2.0, 5.0, 5.0, 22.0, 22.0, 22.0]  # 7 evaluations
    assert (tmp_path / "runs" / "report.html").is_file()
    text = (tmp_path / "runs" / "report.md").read_text()
    assert "| hybrid/s0 | " in text and "| random/s0 | " in text


def test_cli_report_names_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = RunStore.create(tmp_path / "run", {"strategy": "random"})
    store.append_candidate(candidate(0, fitness=1.0))
    assert main(["report", str(tmp_path / "run")]) == 0
    assert "report.html" in capsys.readouterr().out
    assert (tmp_path / "run" / "report.html").is_file()


def test_cli_report_serve_answers_on_loopback(tmp_path: Path) -> None:
    """`evo-lacer report RUN --serve --port 0` prints its URL, serves the page and data.json, and
    stops on SIGTERM (as Ctrl-C)."""
    import select
    import subprocess
    import sys
    import urllib.request

    store = RunStore.create(tmp_path / "run", {"strategy": "random"})
    store.append_candidate(candidate(0, fitness=1.0))
    cli = "from evo_lacer.cli import main; raise SystemExit(main())"
    proc = subprocess.Popen([sys.executable, "-c", cli, "report", str(tmp_path / "run"), "--serve",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = ""
        while "serving" not in line:
            ready, _, _ = select.select([proc.stdout], [], [], 300)  # imports and report.md first
            assert ready, "no 'serving at' line within 300 s"
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        with urllib.request.urlopen(url.group(0), timeout=60) as resp:
            assert "evo-lacer report" in resp.read().decode()
        store.append_candidate(candidate(1, fitness=2.0))
        with urllib.request.urlopen(url.group(0) + "data.json", timeout=60) as resp:
            assert [c["id"] for c in json.load(resp)["runs"][0]["cands"]] == [0, 1]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
