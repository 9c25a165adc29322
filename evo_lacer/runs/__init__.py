"""Run directories: manifest, candidate and LLM logs, state, artifacts — and the report."""

from evo_lacer.runs._lock import RunLock, StaleLockWarning
from evo_lacer.runs._report import write_report
from evo_lacer.runs._store import (
    CANDIDATE_FIELDS,
    FORMAT,
    VERSION,
    RunStore,
    TruncatedRecordWarning,
    is_run_dir,
    read_jsonl,
)

__all__ = [
    "CANDIDATE_FIELDS",
    "FORMAT",
    "VERSION",
    "RunLock",
    "RunStore",
    "StaleLockWarning",
    "TruncatedRecordWarning",
    "is_run_dir",
    "read_jsonl",
    "write_report",
]
