"""`report.html`: one self-contained page (data, script and style inline; no network) of one or
more runs: every candidate, the lineage, size and speed against fitness, the arms and the LLM
log, feature statistics, and best-so-far per strategy with bands over seeds.

The page is a fixed template (``_page/``: the HTML, its style, a small SVG figure kit and the
page's script) into which the runs' data goes as one JSON document;
the same document is what the live server (`evo_lacer.runs._serve`) hands to the open page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path, PurePath
from typing import Any

from evo_lacer.errors import EvoLacerError
from evo_lacer.evaluate import Feedback, Status
from evo_lacer.runs._files import atomic_write
from evo_lacer.runs._report_format import _tree_text
from evo_lacer.runs._report_llm import _trust_lines
from evo_lacer.runs._report_rows import _arm_rows
from evo_lacer.runs._run_record import _fidelity_rank, _Run

HTML = "report.html"
PROMPT_CHARS = 12_000
"""LLM prompts longer than this are cut in the page (the full text stays in ``llm.jsonl``)."""
_DATA_MARK = "/*__EVO_LACER_DATA__*/null"
_LIVE_MARK = "/*__EVO_LACER_LIVE__*/false"


def _num(value: Any, digits: int = 5) -> float | None:
    """A finite float rounded to `digits` significant digits (JSON has no NaN), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def _numbers(values: Any) -> dict[str, float]:
    if not isinstance(values, Mapping):
        return {}
    return {str(k): v for k, v in ((k, _num(x)) for k, x in values.items()) if v is not None}


def origin(record: Mapping[str, Any]) -> str:
    """How a candidate was made: the record's ``extra.origin`` when the search wrote one (tree
    strategies), else read from its designer (flat strategies: random, tpe, lacer, ...)."""
    extra = record.get("extra") if isinstance(record.get("extra"), Mapping) else {}
    found = extra.get("origin") if isinstance(extra, Mapping) else None
    if isinstance(found, str) and found:
        return found
    designer = str(record.get("designer") or "")
    if record.get("transformation") == "promote":
        return "promote"
    if designer == "seed":
        return "seed"
    if designer == "initial":
        return "initial"
    if designer == "llm":
        return "design:llm" if not record.get("parents") else "edit:llm"
    return f"sample:{designer}" if designer else "unknown"


def _site(site: Any) -> str:
    if isinstance(site, Mapping):
        path = site.get("path")
        return "/".join(str(p) for p in path) if isinstance(path, list) else str(site.get("source") or "")
    return str(site or "")


def _choice(choice: Any) -> str:
    if isinstance(choice, Mapping):
        return ", ".join(f"{k}={json.dumps(v) if isinstance(v, Mapping | list) else v}"
                         for k, v in choice.items())
    return "" if choice in (None, "") else str(choice)


def edit_text(record: Mapping[str, Any]) -> str:
    """The edits that made a child from its parent(s), one per line (`transformation @ site: choice`)."""
    extra = record.get("extra") if isinstance(record.get("extra"), Mapping) else {}
    edits = extra.get("edits") if isinstance(extra, Mapping) else None
    if not isinstance(edits, list) or not edits:
        edits = [{"transformation": record.get("transformation"), "site": record.get("site"),
                  "choice": record.get("choice")}]
    lines = []
    for edit in edits:
        if not isinstance(edit, Mapping):
            continue
        name, where, what = str(edit.get("transformation") or "?"), _site(edit.get("site")), _choice(
            edit.get("choice"))
        lines.append(name + (f" @ {where}" if where else "") + (f": {what}" if what else ""))
    return "\n".join(lines)


def _candidate(order: int, record: Mapping[str, Any], fb: Feedback | None) -> dict[str, Any]:
    gate = record.get("gate") if isinstance(record.get("gate"), Mapping) else {}
    extra = record.get("extra") if isinstance(record.get("extra"), Mapping) else {}
    assert isinstance(gate, Mapping) and isinstance(extra, Mapping)
    raw_parents = record.get("parents")
    parents = raw_parents if isinstance(raw_parents, list) else []
    status = fb.status.value if fb is not None else "unreadable"
    error = (fb.error if fb is not None else "the record's feedback could not be read").strip()
    return {
        "i": order,
        "id": record.get("id", order),
        "gen": record.get("generation") if isinstance(record.get("generation"), int) else 0,
        "parents": [p for p in parents if isinstance(p, int | str)],
        "origin": origin(record),
        "arm": extra.get("arm") if isinstance(extra.get("arm"), str) else None,
        "tr": str(record.get("transformation") or ""),
        "edit": edit_text(record) if parents else "",
        "status": status,
        "fit": _num(fb.fitness) if fb is not None else None,
        "fid": fb.fidelity if fb is not None else "",
        "parent_fit": _num(extra.get("parent_fitness")),
        "err": error[:600],
        "params": _num(gate.get("params")) if gate
        else _num((fb.metrics if fb else {}).get("encoder_params")),
        "lat": _num(gate.get("latency_ms"), 3) if gate else None,
        "sec": _num(fb.cost.seconds, 3) if fb is not None else None,
        "evaluated": bool(record.get("evaluated", not record.get("cached", False)))
        and status != Status.REJECTED.value,
        "cached": bool(record.get("cached", False)),
        "fell_back": bool(record.get("fell_back")),
        "llm_error": str(extra.get("llm_error") or "")[:300],
        "differs": extra.get("differs_from_random") if isinstance(extra.get("differs_from_random"),
                                                                  bool) else None,
        "hash": str(record.get("tree_hash") or "")[:12],
        "tree": _tree_text(record.get("tree")) if record.get("tree") else "(no tree: it could not be built)",
        "metrics": _numbers(fb.metrics) if fb is not None else {},
        "features": _numbers(fb.features) if fb is not None else {},
    }


def _answer(exchange: Mapping[str, Any]) -> str:
    if "value" in exchange:
        return json.dumps(exchange["value"], indent=1)
    return str(exchange.get("text") or exchange.get("answer") or "")


def _llm(run: _Run, differs: Mapping[Any, bool | None]) -> list[dict[str, Any]]:
    out = []
    for ex in run.llm:
        prompt = "\n\n".join(str(ex[k]) for k in ("system", "prompt") if ex.get(k))
        judged = ex.get("differs_from_random")
        out.append({
            "purpose": str(ex.get("purpose") or ""),
            "cand": ex.get("candidate"),
            "model": f"{ex.get('backend', '?')}:{ex.get('model', '?')}",
            "sec": _num(ex.get("seconds"), 3),
            "pt": ex.get("prompt_tokens"), "ct": ex.get("completion_tokens"),
            "cached": ex.get("cached_tokens"),
            "ok": ex.get("ok", True) is not False, "fallback": bool(ex.get("fallback")),
            "error": str(ex.get("error") or ""),
            "differs": judged if isinstance(judged, bool) else differs.get(ex.get("candidate")),
            "prompt": prompt if len(prompt) <= PROMPT_CHARS else prompt[:PROMPT_CHARS] + (
                f"\n... [{len(prompt) - PROMPT_CHARS} more characters in llm.jsonl]"),
            "answer": _answer(ex),
        })
    return out


def _llm_check(run: _Run) -> dict[str, Any] | None:
    try:
        data = json.loads((run.store.path / "artifacts" / "llm_check.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, Mapping):
        return None
    keep = ("backend", "model", "probes", "valid", "correct", "accuracy", "chance", "interval", "verdict",
            "median_s")
    return {k: data.get(k) for k in keep}


def _arms(run: _Run) -> list[dict[str, Any]]:
    """Per arm: times chosen, children scored, improved, improvement rate, proposal seconds, LLM
    answers the screen chose."""
    keys = ("chosen", "scored", "improved", "rate", "seconds", "llm_chosen")
    return [{"arm": str(row[1]), **{k: _num(_float(v)) for k, v in zip(keys, row[2:])}}
            for row in _arm_rows(run)]


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _summary(run: _Run) -> dict[str, Any]:
    try:
        summary = run.store.load_state("summary") or {}
    except EvoLacerError:
        summary = {}
    keep = ("loop", "evaluations", "proposals", "rejected", "cached", "generations", "stop_reason", "wall_s",
            "eval_s")
    return {k: summary.get(k) for k in keep if isinstance(summary, Mapping) and k in summary}


def group(run: _Run) -> str:
    """Which curve of "Strategies compared" a run joins: its folder's parent for nested runs
    (``runs/hybrid+smollm2/s0``), else its strategy."""
    parent = str(PurePath(run.name).parent)
    return run.strategy if parent in ("", ".") else parent


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_data(run: _Run) -> dict[str, Any]:
    """One run as the page reads it."""
    cands = [_candidate(i, r, f) for i, (r, f) in enumerate(zip(run.records, run.feedbacks))]
    best = run.best()
    config = run.store.config
    differs = {c["id"]: c["differs"] for c in cands}
    return {
        "name": run.name,
        "strategy": run.strategy,
        "group": group(run),
        "folder": str(run.store.path),
        "created": run.store.created,
        "config": {k: config.get(k) for k in ("budget", "seed", "llm", "fidelity", "workers")
                   if k in config},
        "task": _cut(str(config.get("task") or ""), 400),
        "summary": _summary(run),
        "best": best[0].get("id") if best else None,
        "fidelities": run.fidelities(),
        "curves": {f: [_num(v) for v in run.best_so_far(f)] for f in run.fidelities()},
        "cands": cands,
        "arms": _arms(run),
        "llm": _llm(run, differs),
        "check": _llm_check(run),
        "trust": [line.removeprefix(f"{run.name}, ") for line in _trust_lines(run) if line],
        "unreadable": run.unreadable[:20],
    }


def page_data(runs: list[_Run]) -> dict[str, Any]:
    """The document the page renders: every run, in the order given."""
    fidelities = sorted({f for run in runs for f in run.fidelities()}, key=_fidelity_rank)
    data = [run_data(run) for run in runs]
    return {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "fidelities": fidelities,
        "runs": data,
        "version": sum(len(r["cands"]) + len(r["llm"]) for r in data),
    }


def _asset(name: str) -> str:
    return resources.files("evo_lacer.runs").joinpath("_page", name).read_text(encoding="utf-8")


def data_json(data: Mapping[str, Any]) -> str:
    """JSON safe to put inside a ``<script>`` element: every ``<`` (only ever inside a string)
    is written ``\\u003c``, so no ``</script>`` or ``<!--`` in a prompt can end the script."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def render_page(data: Mapping[str, Any] | None, live: bool = False) -> str:
    """The page: template, style, script and `data` in one HTML text (`data` None: the live page
    fetches ``data.json`` from the server that serves it)."""
    page = _asset("report.html")
    script = _asset("plot.js") + "\n" + _asset("report.js").replace(_LIVE_MARK, "true" if live else "false")
    script = script.replace(_DATA_MARK, data_json(data) if data is not None else "null")
    return page.replace("/*__STYLE__*/", _asset("report.css")).replace("/*__SCRIPT__*/", script)


def write_html(runs: list[_Run], path: Path) -> Path:
    """Write the self-contained page for `runs` to `path` (atomically)."""
    atomic_write(path, render_page(page_data(runs)))
    return path
