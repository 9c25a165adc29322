"""The probe (opt-in): learn what foreign modules accept and emit by running them.

Mining reads code as text; for code without declarations its signal kinds are guesses. The
probe builds each module in a separate worker process (`_probe_worker`) with a time limit,
feeds it a dummy batch of each input form (vector, sequence channels-last and channels-first,
image, tokens) and records what works. A module that hangs or crashes the worker is recorded
as ``timeout`` / ``crashed`` and the worker is restarted for the rest; nothing stops the run.
Results are cached on disk by source hash, qualified name and the arguments tried.
"""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch

from evo_lacer.errors import ConfigError
from evo_lacer.signals import SignalKind
from evo_lacer.zoo._cache import ProbeCache
from evo_lacer.zoo._catalog import Catalog
from evo_lacer.zoo._procs import kill_tree
from evo_lacer.zoo._spec import Layout, ModuleSpec

PROBE_VERSION = 1
ProbeStatus = Literal["ok", "failed", "timeout", "crashed"]

# Input forms: (name, signal kind fed, tensor shape after the batch dim, bound values).
_SEQ_T, _DIM, _IMG_C, _IMG_HW, _VOCAB = 12, 8, 3, 40, 16
FORMS: tuple[tuple[str, SignalKind, tuple[int, ...], dict[str, int]], ...] = (
    ("vector", "vector", (_DIM,), {"in_dim": _DIM, "in_channels": _DIM}),
    ("sequence", "sequence", (_SEQ_T, _DIM), {"in_dim": _DIM, "in_channels": _DIM, "seq_len": _SEQ_T}),
    ("sequence_cf", "sequence", (_DIM, _SEQ_T), {"in_dim": _DIM, "in_channels": _DIM, "seq_len": _SEQ_T}),
    ("image", "image", (_IMG_C, _IMG_HW, _IMG_HW),
     {"in_dim": _IMG_C, "in_channels": _IMG_C, "in_height": _IMG_HW, "in_width": _IMG_HW}),
    ("tokens", "tokens", (_SEQ_T,), {"vocab_size": _VOCAB, "seq_len": _SEQ_T}),
)


@dataclass(frozen=True)
class ProbeResult:
    """What probing one module found. On ``ok`` the kinds are observed (``accepts`` may be
    empty: it builds but takes none of the input forms); otherwise `reason` says why."""

    key: str
    status: ProbeStatus
    reason: str = ""
    accepts: tuple[SignalKind, ...] = ()
    emits: SignalKind | None = None
    layout: Layout = "channels_last"
    output_index: int | None = None
    tried: tuple[tuple[str, str], ...] = ()
    """(input form, outcome) for each form tried."""
    seconds: float = 0.0
    cached: bool = False


@dataclass(frozen=True)
class ProbeReport:
    """The probed catalog (specs updated where the probe succeeded) and every result."""

    catalog: Catalog
    results: tuple[ProbeResult, ...]
    seconds: float
    workers_started: int = 0

    def count(self, status: ProbeStatus) -> int:
        return sum(1 for r in self.results if r.status == status)


def _kwargs(spec: ModuleSpec, bound: dict[str, int]) -> tuple[dict[str, Any] | None, str]:
    """Constructor arguments for one form, or (None, reason) when some cannot be chosen."""
    kwargs: dict[str, Any] = {}
    for p in spec.params:
        if p.kind not in ("positional", "keyword"):
            continue
        if p.binding is not None:
            if p.binding not in bound:
                return None, f"binding {p.binding!r} of parameter {p.name!r} has no probe value"
            kwargs[p.name] = bound[p.binding]
        elif not p.has_default:
            if not isinstance(p.domain, tuple) or not p.domain:
                return None, f"required parameter {p.name!r} has no binding and no search domain"
            kwargs[p.name] = p.domain[0]
    kwargs.update(dict(spec.fixed))
    return kwargs, ""


def _job(spec: ModuleSpec) -> tuple[dict[str, Any] | None, str]:
    """The worker's job for `spec` (every input form its parameters can be bound for)."""
    forms = []
    reasons = []
    for name, kind, shape, bound in FORMS:
        kwargs, reason = _kwargs(spec, bound)
        if kwargs is None:
            reasons.append(reason)
            continue
        forms.append({"name": name, "kind": kind, "shape": list(shape), "vocab": _VOCAB, "kwargs": kwargs})
    if not forms:
        return None, reasons[0] if reasons else "no input form applies"
    job = {"key": spec.key, "module": spec.module, "qualname": spec.qualname,
           "import_root": spec.extra.get("import_root"), "forms": forms}
    return job, ""


def _cache_key(spec: ModuleSpec, job: dict[str, Any]) -> str:
    text = json.dumps([PROBE_VERSION, torch.__version__, spec.source_hash, spec.key, job["forms"]],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _kinds(raw: dict[str, Any], prefer: Layout = "channels_last"
           ) -> tuple[tuple[SignalKind, ...], SignalKind | None, Layout, int | None]:
    """accepts / emits / layout / output_index from the worker's per-form outputs. A sequence
    taken both ways is read channels-last unless the mined guess (`prefer`) says otherwise."""
    outputs: dict[str, dict[str, Any]] = raw.get("outputs", {})
    layout: Layout = "channels_last"
    if "sequence_cf" in outputs and ("sequence" not in outputs or prefer == "channels_first"):
        layout = "channels_first"
    per_kind: dict[str, tuple[str, int | None]] = {}
    for name, kind, _shape, _bound in FORMS:
        rec = outputs.get(name)
        if rec is None or kind in per_kind:
            continue
        if name == ("sequence" if layout == "channels_first" else "sequence_cf"):
            continue
        per_kind[kind] = (rec["kind"], rec.get("index"))
    if not per_kind:
        return (), None, "channels_last", None
    same = [k for k, (out, _) in per_kind.items() if out == k]
    groups: list[tuple[list[str], SignalKind | None]] = [(same, None)]
    for target in ("vector", "sequence", "image"):
        groups.append(([k for k, (out, _) in per_kind.items() if out == target], target))  # type: ignore[arg-type]
    chosen, emits = max(groups, key=lambda g: (len(g[0]), g[1] is None))
    if emits is None and len(chosen) == 1:
        emits = chosen[0]  # type: ignore[assignment]
    accepts = tuple(k for k in ("vector", "sequence", "image", "tokens") if k in chosen)
    index = 0 if any(per_kind[k][1] == 0 for k in chosen) else None
    if "sequence" not in accepts:
        layout = "channels_last"
    return accepts, emits, layout, index  # type: ignore[return-value]


def _result(raw: dict[str, Any], prefer: Layout, cached: bool = False) -> ProbeResult:
    ok = raw["status"] == "ok"
    accepts, emits, layout, index = _kinds(raw, prefer) if ok else ((), None, "channels_last", None)
    return ProbeResult(
        key=raw["key"], status=raw["status"], reason=raw.get("reason", ""), accepts=accepts, emits=emits,
        layout=layout, output_index=index, tried=tuple((str(a), str(b)) for a, b in raw.get("tried", ())),
        seconds=float(raw.get("seconds", 0.0)), cached=cached,
    )


_TIMEOUT = object()


class _Worker:
    """One worker process, given its jobs up front and read one result line at a time."""

    def __init__(self, jobs: list[dict[str, Any]], python: str, threads: int) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [python, "-m", "evo_lacer.zoo._probe_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps({"jobs": jobs, "threads": threads}).encode())
            self.proc.stdin.close()
        except OSError:
            pass  # it died already; reading says so
        self.fd = self.proc.stdout.fileno()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)
        self.buffer = b""

    def line(self, timeout_s: float) -> object:
        """The next JSON line, None at end of output (or on garbage), `_TIMEOUT` when late."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return _TIMEOUT
            if not self.selector.select(left):
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            return None

    def exit_text(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            what = f"killed by signal {signal.Signals(-code).name}"
        else:
            what = f"exit code {code}"
        self.stderr.seek(0)
        tail = " ".join(self.stderr.read().decode("utf-8", "replace").split())[-400:]
        return f"{what}; stderr: {tail}" if tail else what

    def stop(self) -> None:
        # everything it started, even in a session of its own (the worker is a child subreaper)
        kill_tree(self.proc.pid, group=True)
        self.proc.wait()
        self.selector.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


def _run(jobs: list[dict[str, Any]], timeout_s: float, startup_timeout_s: float, python: str,
         threads: int) -> tuple[dict[str, dict[str, Any]], int]:
    """Raw results by key; the worker is restarted after each timeout or crash."""
    pending = list(jobs)
    out: dict[str, dict[str, Any]] = {}
    started = 0
    while pending:
        worker = _Worker(pending, python, threads)
        started += 1
        try:
            ready = worker.line(startup_timeout_s)
            if not (isinstance(ready, dict) and ready.get("ready")):
                late = ready is _TIMEOUT
                reason = (f"probe worker did not start within {startup_timeout_s:g}s" if late
                          else f"probe worker failed to start ({worker.exit_text()})")
                for job in pending:
                    out[job["key"]] = {"key": job["key"], "status": "crashed", "reason": reason}
                break
            while pending:
                job = pending.pop(0)
                got = worker.line(timeout_s)
                if isinstance(got, dict) and got.get("key") == job["key"]:
                    out[job["key"]] = got
                    continue
                if got is _TIMEOUT:
                    reason = f"no result within {timeout_s:g}s (import, constructor or forward pass hangs)"
                    out[job["key"]] = {"key": job["key"], "status": "timeout", "reason": reason}
                else:
                    out[job["key"]] = {"key": job["key"], "status": "crashed",
                                       "reason": f"worker died ({worker.exit_text()})"}
                break
        finally:
            worker.stop()
    return out, started


def probe(
    catalog_or_specs: Catalog | Iterable[ModuleSpec],
    timeout_s: float = 20.0,
    *,
    cache: ProbeCache | None = None,
    include_declared: bool = False,
    startup_timeout_s: float = 120.0,
    batch_size: int = 64,
    threads: int = 1,
    python: str | None = None,
) -> ProbeReport:
    """Probe the usable, non-fusion modules without declared kinds (all with
    `include_declared`), each with `timeout_s` seconds for import, construction and forward
    passes, in worker processes of `batch_size` jobs; returns the catalog with observed kinds
    (``kinds_source="probe"``) for those that built, and a result per probed module."""
    if timeout_s <= 0 or startup_timeout_s <= 0 or batch_size < 1:
        raise ConfigError(f"probe needs timeout_s > 0, startup_timeout_s > 0 and batch_size >= 1; got "
                          f"{timeout_s}, {startup_timeout_s}, {batch_size}")
    start = time.perf_counter()
    specs = list(catalog_or_specs.specs if isinstance(catalog_or_specs, Catalog) else catalog_or_specs)
    targets = [s for s in specs if not s.abstract and s.role == "block"
               and (include_declared or s.kinds_source != "declared")]
    results: dict[str, ProbeResult] = {}
    todo: list[tuple[ModuleSpec, dict[str, Any], str]] = []
    for spec in targets:
        job, reason = _job(spec)
        if job is None:
            results[spec.key] = ProbeResult(spec.key, "failed", reason)
            continue
        key = _cache_key(spec, job)
        hit = cache.get(key) if cache is not None else None
        if hit is not None and hit.get("key") == spec.key and hit.get("status") in ("ok", "failed"):
            results[spec.key] = _result(hit, spec.layout, cached=True)
        else:
            todo.append((spec, job, key))
    workers = 0
    for i in range(0, len(todo), batch_size):
        batch = todo[i : i + batch_size]
        raws, started = _run([job for _, job, _ in batch], timeout_s, startup_timeout_s,
                             python or sys.executable, threads)
        workers += started
        for spec, _, key in batch:
            raw = raws[spec.key]
            if cache is not None and raw["status"] in ("ok", "failed"):
                cache.put(key, raw)
            results[spec.key] = _result(raw, spec.layout)
    updated = []
    for spec in specs:
        r = results.get(spec.key)
        if r is not None and r.status == "ok":
            spec = replace(spec, accepts=r.accepts, emits=r.emits, layout=r.layout,
                           output_index=r.output_index, kinds_source="probe")
        updated.append(spec)
    ordered = tuple(results[s.key] for s in targets)
    return ProbeReport(Catalog(tuple(updated)), ordered, time.perf_counter() - start, workers)
