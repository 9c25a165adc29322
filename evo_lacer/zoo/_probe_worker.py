"""Probe worker: ``python -m evo_lacer.zoo._probe_worker`` (run by `evo_lacer.zoo.probe`).

Reads ``{"jobs": [...]}`` as JSON on stdin, prints ``{"ready": true}`` once torch is loaded,
then one JSON line per job, in order: it imports the job's class, builds it once per input form
with the given arguments, runs a forward pass on a dummy batch and reports what came out. This
is the only place where mined code is imported and run, and only in this separate process;
anything the code prints goes to stderr so that stdout carries the protocol alone.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from typing import Any, TextIO

BATCH = 2


def _dummy(torch: Any, form: dict[str, Any]) -> Any:
    shape = [BATCH, *form["shape"]]
    if form["kind"] == "tokens":
        gen = torch.Generator().manual_seed(0)
        return torch.randint(0, int(form["vocab"]), shape, generator=gen)
    return torch.rand(shape, generator=torch.Generator().manual_seed(0))


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def _resolve(job: dict[str, Any]) -> Any:
    root = job.get("import_root")
    if root and root not in sys.path:
        sys.path.append(root)
    obj: Any = importlib.import_module(job["module"])
    for part in job["qualname"].split("."):
        obj = getattr(obj, part)
    return obj


def _first(torch: Any, out: Any) -> tuple[Any, int | None]:
    """A tuple/list output's first element when it is a tensor (index 0), else the output."""
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        return out[0], 0
    return out, None


def _run_form(torch: Any, cls: Any, form: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(outcome text, output record or None) for one input form."""
    try:
        module = cls(**form["kwargs"])
    except BaseException as exc:  # mined code may raise anything, SystemExit included
        return f"init {_short(exc)}", None
    x = _dummy(torch, form)
    try:
        if hasattr(module, "eval"):
            module.eval()
        with torch.no_grad():
            out, index = _first(torch, module(x))
            alone, _ = _first(torch, module(x[-1:]))
    except BaseException as exc:
        return f"forward {_short(exc)}", None
    if not isinstance(out, torch.Tensor):
        return f"output is {type(out).__name__}, not a tensor", None
    if not out.is_floating_point():
        return f"output dtype {out.dtype} is not floating point", None
    if out.dim() not in (2, 3, 4) or out.shape[0] != BATCH:
        return f"output shape {tuple(out.shape)} is not (batch, ...) of rank 2-4", None
    if not bool(torch.isfinite(out).all()):
        return "output has non-finite values", None
    # A module that reads (B, d) as one unbatched sequence mixes the samples: reject that.
    if not (isinstance(alone, torch.Tensor) and alone.shape == out[-1:].shape
            and torch.allclose(alone, out[-1:], rtol=1e-3, atol=1e-4)):
        return "samples are not processed independently (batch read as data?)", None
    kind = {2: "vector", 3: "sequence", 4: "image"}[out.dim()]
    return f"ok {kind} {tuple(out.shape[1:])}", {"kind": kind, "index": index,
                                                 "shape": list(out.shape[1:])}


def _job(torch: Any, job: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    result: dict[str, Any] = {"key": job["key"], "status": "ok", "reason": "", "tried": [], "outputs": {}}
    try:
        cls = _resolve(job)
    except BaseException as exc:
        result.update(status="failed", reason=f"import {_short(exc)}")
    else:
        for form in job["forms"]:
            outcome, record = _run_form(torch, cls, form)
            result["tried"].append([form["name"], outcome])
            if record is not None:
                result["outputs"][form["name"]] = record
        outcomes = [t[1] for t in result["tried"]]
        if outcomes and all(o.startswith("init ") for o in outcomes):
            result.update(status="failed", reason=outcomes[0])
    result["seconds"] = time.perf_counter() - start
    return result


def main() -> int:
    protocol: TextIO = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever mined code prints must not corrupt the protocol
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.read())
    from evo_lacer.zoo._procs import become_subreaper

    become_subreaper()  # what mined code starts stays below us, even in a session of its own
    import torch

    torch.set_num_threads(int(request.get("threads", 1)))
    protocol.write(json.dumps({"ready": True}) + "\n")
    protocol.flush()
    for job in request["jobs"]:
        protocol.write(json.dumps(_job(torch, job)) + "\n")
        protocol.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
