"""Run directories: manifest, candidate and LLM logs, state, artifacts — the report, and the
best encoder exported for one's own agent."""

from evo_lacer.runs._export import Exported, best_of_run, export_best, sb3_policy_kwargs
from evo_lacer.runs._files import TruncatedRecordWarning, read_jsonl
from evo_lacer.runs._lock import RunLock, StaleLockWarning
from evo_lacer.runs._report import write_report
from evo_lacer.runs._store import (
    CANDIDATE_FIELDS,
    FORMAT,
    VERSION,
    RunStore,
    is_run_dir,
)

__all__ = [
    "CANDIDATE_FIELDS",
    "FORMAT",
    "VERSION",
    "Exported",
    "RunLock",
    "RunStore",
    "StaleLockWarning",
    "TruncatedRecordWarning",
    "best_of_run",
    "export_best",
    "is_run_dir",
    "read_jsonl",
    "sb3_policy_kwargs",
    "write_report",
]
