"""The report's rows on the LLM: calls, tokens and time per model, what to change when calls time
out, the LLM check before the search, and whether its answers were trusted past the screen."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from evo_lacer.errors import EvoLacerError, LLMTimeout
from evo_lacer.runs._run_record import _Run


def _llm_rows(run: _Run) -> list[list[Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for ex in run.llm:
        groups[(str(ex.get("backend", "?")), str(ex.get("model", "?")))].append(ex)

    def total(items: list[dict[str, Any]], key: str) -> float:
        return sum(float(x.get(key) or 0) for x in items)

    rows = []
    for (backend, model), items in sorted(groups.items()):
        judged = [x["differs_from_random"] for x in items if x.get("differs_from_random") is not None]
        differs = f"{sum(bool(v) for v in judged)}/{len(judged)}" if judged else "-"
        counted = [x for x in items if isinstance(x.get("cached_tokens"), int) and x.get("prompt_tokens")]
        cached = (f"{100 * total(counted, 'cached_tokens') / total(counted, 'prompt_tokens'):.0f}%"
                  if counted else "-")
        rows.append([run.name, backend, model, len(items), int(total(items, "prompt_tokens")), cached,
                     int(total(items, "completion_tokens")), f"{total(items, 'seconds'):.1f}",
                     sum(bool(x.get("fallback")) for x in items), len(_timed_out(items)), differs])
    return rows


def _timed_out(exchanges: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [x for x in exchanges if str(x.get("error") or "").startswith(LLMTimeout.__name__)]


def _timeout_advice(runs: list[_Run]) -> list[str]:
    """What to change when calls hit the time limit: each such call's choice fell back to random,
    so a run whose calls all time out measures a random designer that waits."""
    lines = []
    for run in runs:
        late = _timed_out(run.llm)
        if not late:
            continue
        limit = run.store.config.get("llm_timeout_s")
        setting = "`llm_timeout_s`" if limit is None else f"`llm_timeout_s` = {limit} s"
        finished = [float(x["seconds"]) for x in run.llm
                    if x.get("ok") and isinstance(x.get("seconds"), int | float)]
        slowest = f"; the slowest call that finished took {max(finished):.0f} s" if finished else ""
        lines.append(
            f"- {run.name}: {len(late)} of {len(run.llm)} calls hit the time limit "
            f"({setting}) and fell back to "
            f"random choices{slowest}. To give the model the time it needs, raise the limit: "
            "`--llm-timeout-s 300` for `evo-lacer search`, or for `evo-lacer resume` of a run not "
            "finished yet; `llm_timeout_s=300` from Python.")
    return [*lines, ""] if lines else []


def _llm_check_rows(run: _Run) -> list[list[Any]]:
    """The run's `llm_check` (``artifacts/llm_check.json``, written when an LLM strategy started)."""
    path = run.store.path / "artifacts" / "llm_check.json"
    try:
        data = json.loads(path.read_text())
        low, high = data["interval"]
        row = [run.name, f"{data['backend']}:{data['model']}", f"{data['correct']}/{data['probes']}",
               f"{100 * low:.0f}-{100 * high:.0f}%", f"{100 * data['chance']:.0f}%", data["verdict"],
               f"{data['valid']}/{data['probes']}", f"{float(data['median_s']):.2f}"]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [[run.name, f"unreadable {path.name}: {type(exc).__name__}: {exc}", *["-"] * 6]]
    return [row]


def _trust_lines(run: _Run) -> list[str]:
    """With ``llm_trust="learned"``: how many answers were taken unscreened, and the two records the
    trust was drawn from (the model's evaluated answers and the screen's picks, won / lost). With
    ``"auto"``: which of the two it became, and why (the run's LLM check)."""
    try:
        summary = run.store.load_state("summary") or {}
    except EvoLacerError:
        return []
    trust = summary.get("llm_trust") if isinstance(summary, Mapping) else None
    if not isinstance(trust, Mapping):
        return []
    lines = []
    if run.store.config.get("llm_trust") == "auto":
        verdict = _check_verdict(run)
        why = f"the LLM check found the model {verdict}" if verdict else "no LLM check result"
        lines += ["", f"{run.name}, `llm_trust=auto` became `{trust.get('mode')}`: {why} (learned only "
                  "above chance)."]
    if trust.get("mode") != "learned":
        return lines
    answers = trust.get("answers") or {}
    said = ", ".join(f"{arm} {r.get('wins', 0)} won / {r.get('losses', 0)} lost"
                     for arm, r in sorted(answers.items()))
    picks = trust.get("screen_picks") or {}
    return [*lines, "", f"{run.name}, `llm_trust=learned`: {trust.get('trusted', 0)} LLM answers taken "
            f"without the screen; the model's evaluated answers: {said or 'none yet'}; the screen's picks: "
            f"{picks.get('wins', 0)} won / {picks.get('losses', 0)} lost (won: beat the population's "
            "median)."]


def _check_verdict(run: _Run) -> str | None:
    """The verdict of the run's LLM check (``artifacts/llm_check.json``, read as data), if any."""
    try:
        data = json.loads((run.store.path / "artifacts" / "llm_check.json").read_text())
    except (OSError, ValueError):
        return None
    verdict = data.get("verdict") if isinstance(data, dict) else None
    return verdict if isinstance(verdict, str) else None
