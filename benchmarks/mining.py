"""Cost of the module zoo: mining torch.nn by AST (cold = fresh parse cache, warm = cached, and
without a cache), mining the built-in zoo, and probing a handful of torch.nn modules in a worker
process (cold and cached). Prints a Markdown table and writes a bar plot to benchmarks/out/.

    python benchmarks/mining.py                   # < 30 s
    python benchmarks/mining.py --probe-all       # probe every usable torch.nn module
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from evo_lacer.zoo import ParseCache, ProbeCache, mine, probe, zoo_folder

TORCH_NN = Path(torch.nn.__file__).parent / "modules"
PROBE_NAMES = ("Linear", "GRU", "LSTM", "Conv1d", "Conv2d", "Embedding", "LayerNorm", "GELU",
               "TransformerEncoderLayer", "Flatten", "BatchNorm1d", "MaxPool2d")


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """(median seconds over `repeats` calls, last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(repeats: int, probe_count: int, probe_all: bool, timeout_s: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        def cold() -> Any:
            return mine([TORCH_NN], cache=ParseCache(tempfile.mkdtemp(dir=tmp)))

        seconds, report = timed(cold, repeats)
        usable = len(report.catalog.usable())
        rows.append({"stage": "mine torch.nn (cold cache)", "seconds": seconds,
                     "detail": f"{len(report.catalog)} classes, {usable} usable, {report.files} files"})
        warm_cache = ParseCache(Path(tmp) / "warm")
        mine([TORCH_NN], cache=warm_cache)
        seconds, report = timed(lambda: mine([TORCH_NN], cache=warm_cache), repeats)
        rows.append({"stage": "mine torch.nn (warm cache)", "seconds": seconds,
                     "detail": f"{report.cached_files}/{report.files} files cached"})
        seconds, report = timed(lambda: mine([TORCH_NN]), repeats)
        rows.append({"stage": "mine torch.nn (no cache)", "seconds": seconds,
                     "detail": f"{len(report.catalog)} classes"})
        seconds, zoo = timed(lambda: mine([zoo_folder()]), repeats)
        rows.append({"stage": "mine built-in zoo (no cache)", "seconds": seconds,
                     "detail": f"{len(zoo.catalog.usable())} usable modules"})

        catalog = report.catalog
        specs = catalog.usable() if probe_all else [catalog.lookup(n) for n in PROBE_NAMES[:probe_count]]
        probe_cache = ProbeCache(Path(tmp) / "probe")
        probed = probe(specs, timeout_s=timeout_s, cache=probe_cache)
        counts = ", ".join(f"{s} {probed.count(s)}" for s in ("ok", "failed", "timeout", "crashed"))
        rows.append({"stage": f"probe {len(specs)} torch.nn modules (cold)", "seconds": probed.seconds,
                     "detail": f"{counts}; {probed.workers_started} worker(s)"})
        again = probe(specs, timeout_s=timeout_s, cache=probe_cache)
        cached = sum(r.cached for r in again.results)
        rows.append({"stage": f"probe {len(specs)} torch.nn modules (cached)", "seconds": again.seconds,
                     "detail": f"{cached} from cache, {len(specs) - cached} unbuildable without running, "
                               f"{again.workers_started} worker(s)"})
    return rows


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Horizontal bars of seconds per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.2))
    labels = [r["stage"] for r in rows][::-1]
    ax.barh(labels, [r["seconds"] for r in rows][::-1], color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlabel("seconds (log)")
    ax.set_title(f"evo-lacer zoo: mining and probing (torch {torch.__version__})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timings are medians over this many runs")
    parser.add_argument("--probe-count", type=int, default=8, help=f"modules probed, from {PROBE_NAMES}")
    parser.add_argument("--probe-all", action="store_true", help="probe every usable torch.nn module")
    parser.add_argument("--timeout", type=float, default=20.0, help="probe time limit per module (s)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args(argv)

    rows = measure(args.repeats, args.probe_count, args.probe_all, args.timeout)
    print("| stage | seconds | detail |")
    print("| --- | ---: | --- |")
    for r in rows:
        print(f"| {r['stage']} | {r['seconds']:.3f} | {r['detail']} |")
    path = args.out / "mining.png"
    plot(rows, path)
    print(f"plot: {path}")
    return rows


if __name__ == "__main__":
    main()
