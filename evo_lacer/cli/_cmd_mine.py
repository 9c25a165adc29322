"""`evo-lacer mine PATH... [--json] [--out FILE]`: mine nn.Module classes by AST."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from evo_lacer.zoo import ParseCache, mine


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("mine", help="mine nn.Module classes from source folders (AST only)")
    p.add_argument("paths", nargs="+", help="files or folders of Python source")
    p.add_argument("--json", action="store_true", help="print a JSON list of the mined modules")
    p.add_argument("--out", help="write the catalog as JSON to this file")
    p.add_argument("--no-cache", action="store_true", help="do not use the parse cache")
    p.set_defaults(func=run)


def spec_summary(spec: Any) -> dict[str, Any]:
    return {
        "name": spec.name,
        "module": spec.module,
        "key": spec.key,
        "params": [
            {"name": p.name, "annotation": p.annotation, "default": p.default,
             "default_text": p.default_text, "kind": p.kind,
             "domain": p.domain if p.domain is None or isinstance(p.domain, str) else list(p.domain),
             "binding": p.binding}
            for p in spec.params
        ],
        "forward": list(spec.forward_params),
        "accepts": list(spec.accepts),
        "emits": spec.emits,
        "role": spec.role,
        "kinds_source": spec.kinds_source,
        "abstract": spec.abstract,
        "source_file": spec.source_file,
        "source_hash": spec.source_hash,
        "lineno": spec.lineno,
        "docstring": spec.docstring,
    }


def run(args: argparse.Namespace) -> int:
    report = mine(args.paths, cache=None if args.no_cache else ParseCache())
    rows = [spec_summary(s) for s in report.catalog.specs]
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    else:
        usable = report.catalog.usable()
        print(f"mined {len(report.catalog)} nn.Module classes ({len(usable)} usable, "
              f"{len(report.catalog) - len(usable)} private/abstract) from {report.files} files "
              f"in {report.seconds:.2f}s")
        for spec in usable:
            kinds = ",".join(spec.accepts) or "?"
            print(f"  {spec.short:<32} {kinds:<24} -> {spec.emits or 'same'}")
    for file, reason in report.errors:
        print(f"skipped {file}: {reason}", file=sys.stderr)
    return 0
