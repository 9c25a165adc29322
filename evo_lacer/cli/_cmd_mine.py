"""`evo-lacer mine PATH... [--json] [--out FILE] [--probe]`: mine nn.Module classes by AST."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from evo_lacer.errors import MiningError
from evo_lacer.zoo import ParseCache, ProbeCache, mine, probe, save_catalog, spec_to_dict


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "mine", help="mine nn.Module classes from source folders (AST only; --probe runs them)",
        description="Mine nn.Module classes from Python source by reading it as text (never importing it). "
                    "With --probe, foreign modules are also built and run in a time-limited worker process "
                    "to observe the signal kinds they accept and emit.",
    )
    p.add_argument("paths", nargs="+",
                   help="files or folders of Python source, or an installed package's dotted name "
                        "(e.g. torch.nn.modules), located without importing it")
    p.add_argument("--json", action="store_true", help="print the mined modules as a JSON list")
    p.add_argument("--out", help="write the catalog as JSON to this file (see evo_lacer.zoo.load_catalog)")
    p.add_argument("--no-cache", action="store_true", help="use neither the parse cache nor the probe cache")
    p.add_argument("--probe", action="store_true",
                   help="build and run modules without declared kinds in a worker process (imports them)")
    p.add_argument("--probe-timeout", type=float, default=20.0,
                   help="seconds each module may take to import, build and run when probing (default: 20)")
    p.set_defaults(func=run)


def locate(path: str) -> Path:
    """`path` as given when it exists, else the folder of an installed package's dotted name."""
    given = Path(path)
    if given.exists():
        return given
    if "/" in path or path.endswith(".py"):
        raise MiningError(f"{path!r} does not exist (from the command line); give an existing file or "
                          "folder of Python source, or an installed package's dotted name")
    top, *rest = path.split(".")
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: found without importing anything
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MiningError(f"{path!r} is neither an existing file or folder nor an installed package")
    folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
    if folder.is_dir():
        return folder
    if folder.with_suffix(".py").is_file():
        return folder.with_suffix(".py")
    raise MiningError(f"package {top!r} has no module or folder {path!r} (looked for {folder})")


def run(args: argparse.Namespace) -> int:
    report = mine([locate(p) for p in args.paths], cache=None if args.no_cache else ParseCache())
    catalog = report.catalog
    probed = None
    if args.probe:
        probed = probe(catalog, timeout_s=args.probe_timeout, cache=None if args.no_cache else ProbeCache())
        catalog = probed.catalog
    if args.out:
        save_catalog(catalog, args.out)
    if args.json:
        json.dump([spec_to_dict(s) for s in catalog.specs], sys.stdout, indent=2)
        print()
    else:
        usable = catalog.usable()
        print(f"mined {len(catalog)} nn.Module classes ({len(usable)} usable, "
              f"{len(catalog) - len(usable)} private/abstract) from {report.files} files "
              f"in {report.seconds:.2f}s ({report.cached_files} cached)")
        if probed is not None:
            counts = ", ".join(f"{s} {probed.count(s)}" for s in ("ok", "failed", "timeout", "crashed"))
            print(f"probed {len(probed.results)} modules in {probed.seconds:.2f}s: {counts}")
        for spec in usable:
            kinds = ",".join(spec.accepts) or "?"
            print(f"  {spec.short:<32} {kinds:<24} -> {spec.emits or 'same':<9} [{spec.kinds_source}]")
        if args.out:
            print(f"wrote {args.out}")
    if probed is not None:
        for r in probed.results:
            if r.status in ("timeout", "crashed"):
                print(f"probe {r.status}: {r.key}: {r.reason}", file=sys.stderr)
    for file, reason in report.errors:
        print(f"skipped {file}: {reason}", file=sys.stderr)
    return 0
