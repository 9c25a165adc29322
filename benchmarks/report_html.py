"""How fast report.html opens, and how big it is, for runs of 48, 200 and 1,000 candidates.

The run folders are built from real records: those of a finished search (default: the
hybrid + SmolLM2 run of benchmarks/hybrid_budgets.py on the ring, 48 candidates and its LLM
log), repeated with fresh ids, generations and parent links up to the size asked. Each page is
loaded in headless Chromium `--repeats` times; "drawn" is the page's own clock
(``performance.now()`` when the last figure is drawn, from the start of navigation), "process"
the wall time of the whole browser run, start-up included. Prints a table, writes
``OUT/report_html.md`` and a screenshot of the 200-candidate page (``OUT/report_html.png``).

    python benchmarks/report_html.py [--source RUN_DIR] [--candidates 48 200 1000] [--repeats 3]
    python benchmarks/report_html.py --smoke --out /tmp/x      # a tiny search as the source
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_SOURCE = ROOT / "benchmarks/out/hybrid_budgets/runs/ring/hybrid+smollm2/b48-s0"


def smoke_source(folder: Path) -> Path:
    """A tiny real search (random designs, a size fitness) when no finished run is at hand."""
    import gymnasium as gym

    import evo_lacer
    from evo_lacer.compile import parameter_count

    def size_fitness(tree: Any, module: Any) -> float:
        return -parameter_count(module) / 1e5

    space = gym.spaces.Dict({"ego": gym.spaces.Box(-1, 1, (6,)), "hist": gym.spaces.Box(-1, 1, (8, 3))})
    evo_lacer.search(fitness=size_fitness, observation_space=space, strategy="evolution", llm="none",
                     budget=6, seed=0, workers=0, run_dir=folder)
    return folder


def grow(source: Path, target: Path, size: int) -> Path:
    """A run folder of `size` candidates: the source's records repeated, ids, generations,
    parents and the LLM log's candidate ids shifted at each repetition."""
    from evo_lacer.runs import RunStore

    src = RunStore.open(source)
    records, exchanges = src.candidates(), src.llm_exchanges()
    if not records:
        raise SystemExit(f"{source} holds no candidate; pass another --source")
    store = RunStore.create(target, src.config)
    ids = {r["id"]: k for k, r in enumerate(records)}
    n, gens = len(records), 1 + max(int(r.get("generation") or 0) for r in records)
    for k in range(size):
        rep, rec = divmod(k, n)
        record = json.loads(json.dumps(records[rec]))
        record["id"] = k
        record["generation"] = int(record.get("generation") or 0) + rep * gens
        record["parents"] = [ids[p] + rep * n for p in record.get("parents", []) if p in ids]
        store.append_candidate(record)
    for rep in range(-(-size // n)):
        for ex in exchanges:
            cand = ex.get("candidate")
            if cand in ids and ids[cand] + rep * n < size:
                store.append_llm({**ex, "candidate": ids[cand] + rep * n})
    summary = src.load_state("summary")
    if summary:
        store.save_state("summary", summary)
    check = source / "artifacts" / "llm_check.json"
    if check.is_file():
        store.write_artifact("llm_check.json", check.read_text())
    return target


def chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def load(browser: str, page: Path) -> tuple[float, float, int]:
    """(drawn ms by the page's clock, process wall seconds, console messages) of one load."""
    with tempfile.TemporaryDirectory() as profile:
        start = time.perf_counter()
        proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                               "--dump-dom", page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=300)
        wall = time.perf_counter() - start
    drawn = re.search(r'data-render-ms="(\d+)"', proc.stdout)
    if proc.returncode or not drawn or 'data-rendered="ok"' not in proc.stdout:
        raise SystemExit(f"{page}: the page did not draw (rc {proc.returncode}): {proc.stderr[-1500:]}")
    return float(drawn.group(1)), wall, sum(":CONSOLE" in line for line in proc.stderr.splitlines())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, default=None, help="a finished run folder whose records are used")
    ap.add_argument("--candidates", type=int, nargs="+", default=[48, 200, 1000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/out/report_html")
    ap.add_argument("--smoke", action="store_true", help="a tiny search as the source; 12 candidates, 1 load")
    args = ap.parse_args(argv)
    from evo_lacer.runs import write_report

    out = args.out
    if out.exists():
        shutil.rmtree(out / "runs", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    if args.smoke:
        source, sizes, repeats = smoke_source(out / "runs" / "source"), [12], 1
    else:
        source = args.source or DEFAULT_SOURCE
        sizes, repeats = args.candidates, args.repeats
        if not (source / "run.json").is_file():
            raise SystemExit(f"{source} is not a run folder; pass --source RUN_DIR (or --smoke)")
    browser = chromium()
    rows = []
    for size in sizes:
        run = grow(source, out / "runs" / f"c{size}", size)
        write_report(run, out / f"report_c{size}")
        page = out / f"report_c{size}" / "report.html"
        llm = sum(1 for _ in (run / "llm.jsonl").open()) if (run / "llm.jsonl").is_file() else 0
        row = {"candidates": size, "llm": llm, "kb": page.stat().st_size / 1024}
        if browser:
            loads = [load(browser, page) for _ in range(repeats)]
            row.update(drawn=statistics.median(x[0] for x in loads),
                       wall=statistics.median(x[1] for x in loads), console=max(x[2] for x in loads))
        rows.append(row)
    lines = [f"report.html load in headless Chromium ({datetime.now(UTC):%Y-%m-%d}, source {source.name}, "
             f"median of {repeats}; {browser or 'no chromium on PATH: sizes only'})", "",
             "| candidates | LLM exchanges | report.html | drawn (page clock) "
             "| browser process (start-up incl.) | console messages |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        timing = f"{r['drawn']:.0f} ms | {r['wall']:.2f} s | {r['console']}" if "drawn" in r else "- | - | -"
        lines.append(f"| {r['candidates']} | {r['llm']} | {r['kb']:.0f} KB | {timing} |")
    table = "\n".join(lines)
    print(table)
    (out / "report_html.md").write_text(table + "\n")
    shot = out / f"report_c{200 if 200 in sizes else sizes[0]}" / "report.html"
    if browser:
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--user-data-dir={profile}", "--window-size=1400,2200",
                            f"--screenshot={out / 'report_html.png'}", shot.resolve().as_uri()],
                           capture_output=True, timeout=300, check=True)
        print(f"wrote {out / 'report_html.md'} and {out / 'report_html.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
