"""A run directory: manifest, append-only JSONL logs and atomically replaced state files.

Layout of ``RUN_DIR``::

    run.json          manifest: format marker, version, created time, evo-lacer version, config,
                      the versions of the libraries a search's choices depend on
    candidates.jsonl  one JSON object per evaluated (or rejected) candidate
    llm.jsonl         one JSON object per LLM exchange
    state/NAME.json   planner state, checkpoint, ... (replaced atomically)
    artifacts/        anything else a component keeps (Optuna journal, best tree, ...)
    weights/          trained encoders, ``<tree_hash>.pt``, of strategies whose children inherit them (pepnas)

Every appended line is flushed and fsync'ed before ``append_*`` returns, so a ``kill -9``
loses at most the line being written; readers drop such a truncated last line with a warning.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import threading
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evo_lacer.errors import RunStoreError
from evo_lacer.runs._files import (
    atomic_write,
    read_jsonl,
    repair_tail,
)

FORMAT = "evo-lacer/run"
VERSION = 1
MANIFEST = "run.json"
CANDIDATES = "candidates.jsonl"
LLM_LOG = "llm.jsonl"
STATE_DIR = "state"
ARTIFACTS_DIR = "artifacts"

CANDIDATE_FIELDS: tuple[str, ...] = (
    "id", "generation", "parents", "strategy", "transformation", "site", "choice", "designer",
    "tree", "tree_hash", "feedback", "timings",
)
"""Keys every candidate record must carry (more are allowed)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _dumps(obj: Any, what: str) -> str:
    try:
        return json.dumps(obj, sort_keys=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise RunStoreError(f"{what} is not JSON-serializable: {exc}") from None


def _normalized(config: Any) -> Any:
    """The config as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(_dumps(config, "the run config"))


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise RunStoreError(
            f"{what} name {name!r} is not allowed; use letters, digits, '_', '-' and '.' "
            "(no path separators), e.g. 'planner'"
        )
    return name


LIBRARIES = ("torch", "numpy", "scipy", "optuna", "deap", "stable-baselines3", "gymnasium",
             "llama-cpp-python")
"""Libraries whose releases can change what a seeded search makes (samplers, training, sampling):
their versions are kept in the manifest, and a resume under other versions is warned about."""


def library_versions() -> dict[str, str | None]:
    """The installed version of each of `LIBRARIES` (None: not installed)."""
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def library_changes(recorded: object) -> str:
    """What differs between a manifest's recorded library versions and the installed ones, as
    "optuna 5.0.0 -> 5.1.0, ..." ('' when nothing, or when the run recorded none: an older run)."""
    if not isinstance(recorded, dict):
        return ""
    now = library_versions()
    return ", ".join(f"{name} {recorded[name]} -> {now[name]}" for name in LIBRARIES
                     if name in recorded and recorded[name] != now[name])


class RunStore:
    """Handle on one run directory. Create with :meth:`create`, reopen with :meth:`open`.

    One process writes a run at a time (appends are serialized across its threads); readers
    may read while it is being written.
    """

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self._path = path
        self._manifest = manifest
        self._repaired: set[str] = set()
        self._lock = threading.Lock()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, run_dir: str | os.PathLike[str], config: dict[str, Any], *,
               resume_ok: bool = False) -> RunStore:
        """Start a run in `run_dir` (created if missing) with `config` (a JSON-serializable dict).

        An existing run there is reopened only with ``resume_ok=True`` and an equal config;
        a non-empty folder that is not a run is refused.
        """
        if not isinstance(config, dict):
            raise RunStoreError(f"the run config must be a dict, got {type(config).__name__}")
        path = Path(run_dir)
        normalized = _normalized(config)
        if (path / MANIFEST).exists():
            store = cls.open(path)
            if not resume_ok:
                raise RunStoreError(
                    f"{path} already holds a run (created {store.created}); choose a new folder, "
                    f"or resume it: `evo-lacer resume {path}` on the command line, "
                    f"`evo_lacer.resume({str(path)!r})` in Python"
                )
            changed = library_changes(store.manifest.get("libraries"))
            if changed:
                warnings.warn(
                    f"{path / MANIFEST}: this run was started with other library versions ({changed}); "
                    "the resumed search goes on, but need not make the trees the uninterrupted one would "
                    "have made (samplers and training change between releases) -- to reproduce it exactly, "
                    "install the versions it names", RuntimeWarning, stacklevel=2)
            if store.config != normalized:
                keys = sorted(
                    k for k in set(store.config) | set(normalized)
                    if store.config.get(k, object()) != normalized.get(k, object())
                )
                raise RunStoreError(
                    f"{path / MANIFEST}: holds a run with a different config (differs in {keys}); "
                    "resume it with its own config or choose a new folder"
                )
            return store
        if path.exists() and not path.is_dir():
            raise RunStoreError(f"{path} is a file, not a run folder")
        above = next((p for p in path.absolute().parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise RunStoreError(f"{path}: {above} is a file, so no run folder can be made under it; choose "
                                "a folder path")
        if path.is_dir() and any(path.iterdir()):
            raise RunStoreError(
                f"{path} is not empty and holds no {MANIFEST}; it is not an evo-lacer run — "
                "choose an empty or new folder"
            )
        from evo_lacer import __version__

        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "evo_lacer_version": __version__,
            "libraries": library_versions(),
            "config": normalized,
        }
        path.mkdir(parents=True, exist_ok=True)
        atomic_write(path / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        return cls(path, manifest)

    @classmethod
    def open(cls, run_dir: str | os.PathLike[str]) -> RunStore:
        """Open an existing run; a missing, corrupt or foreign folder is a RunStoreError."""
        path = Path(run_dir)
        manifest_path = path / MANIFEST
        if not path.exists():
            raise RunStoreError(f"run folder {path} does not exist")
        if not path.is_dir():
            raise RunStoreError(f"{path} is a file, not a run folder")
        if not manifest_path.is_file():
            raise RunStoreError(f"{path} is not an evo-lacer run: it has no {MANIFEST}")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise RunStoreError(f"{manifest_path}: corrupt manifest, not valid JSON ({exc}); restore it "
                                "from a backup, or start a new search") from None
        except OSError as exc:
            raise RunStoreError(f"{manifest_path}: cannot be read: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
            raise RunStoreError(
                f"{manifest_path}: not an evo-lacer run manifest (format {found!r}, expected {FORMAT!r})"
            )
        if manifest.get("version") != VERSION:
            raise RunStoreError(
                f"{manifest_path}: run format version {manifest.get('version')!r} is not supported "
                f"(this evo-lacer reads version {VERSION})"
            )
        if not isinstance(manifest.get("config"), dict):
            raise RunStoreError(f"{manifest_path}: `config` is missing or not an object")
        return cls(path, manifest)

    # -- properties --------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    @property
    def config(self) -> dict[str, Any]:
        """The config the run was created with (as read back from JSON)."""
        return self._manifest["config"]  # type: ignore[no-any-return]

    @property
    def created(self) -> str:
        return str(self._manifest.get("created", ""))

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(self._manifest)

    def __repr__(self) -> str:
        return f"RunStore({str(self._path)!r})"

    # -- logs -------------------------------------------------------------------------------

    def _append(self, name: str, record: dict[str, Any], what: str) -> None:
        if not isinstance(record, dict):
            raise RunStoreError(f"{what} must be a dict, got {type(record).__name__}")
        line = (_dumps(record, what) + "\n").encode("utf-8")
        target = self._path / name
        with self._lock:
            if name not in self._repaired:
                repair_tail(target)
                self._repaired.add(name)
            with open(target, "ab") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())

    def append_candidate(self, record: dict[str, Any]) -> None:
        """Append one candidate record (see CANDIDATE_FIELDS) as a durable JSON line."""
        if isinstance(record, dict):
            missing = [k for k in CANDIDATE_FIELDS if k not in record]
            if missing:
                raise RunStoreError(
                    f"candidate record {record.get('id', '?')!r} lacks {missing}; "
                    f"every candidate needs {list(CANDIDATE_FIELDS)} (use None where not applicable)"
                )
        self._append(CANDIDATES, record, f"candidate record {record.get('id', '?')!r}"
                     if isinstance(record, dict) else "candidate record")

    def candidates(self) -> list[dict[str, Any]]:
        """All candidate records in the order they were appended."""
        return read_jsonl(self._path / CANDIDATES)

    def append_llm(self, exchange: dict[str, Any]) -> None:
        """Append one LLM exchange (backend, model, prompt_tokens, ... ) as a durable JSON line."""
        self._append(LLM_LOG, exchange, "LLM exchange record")

    def llm_exchanges(self) -> list[dict[str, Any]]:
        return read_jsonl(self._path / LLM_LOG)

    # -- state and artifacts -------------------------------------------------------------------

    def state_path(self, name: str) -> Path:
        _check_name(name, "state")
        return self._path / STATE_DIR / (name if name.endswith(".json") else f"{name}.json")

    def save_state(self, name: str, state: dict[str, Any], *, durable: bool = True) -> None:
        """Replace ``state/NAME.json`` atomically: a kill leaves the old or the new version, whole.
        ``durable=False`` skips the fsyncs (~15 ms): the file survives a kill of the process but a
        power cut may bring back an older version."""
        if not isinstance(state, dict):
            raise RunStoreError(f"state {name!r} must be a dict, got {type(state).__name__}")
        target = self.state_path(name)
        atomic_write(target, _dumps(state, f"state {name!r}") + "\n", durable)

    def load_state(self, name: str) -> dict[str, Any] | None:
        """The last saved state `name`, or None if it was never saved."""
        target = self.state_path(name)
        try:
            text = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            state = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise RunStoreError(f"{target}: corrupt state file, not valid JSON ({exc}); restore it from a "
                                "backup, or start a new search") from None
        if not isinstance(state, dict):
            raise RunStoreError(f"{target}: expected a JSON object, got {type(state).__name__}; restore it "
                                "from a backup, or start a new search")
        return state

    def write_artifact(self, name: str, text: str) -> Path:
        """Replace ``artifacts/NAME`` atomically with `text` (a kill leaves the old or the new file)."""
        target = self.artifact_path(name)
        atomic_write(target, text)
        return target

    def artifact_path(self, name: str) -> Path:
        """Where to keep artifact `name` (``artifacts/NAME``; the folder is created)."""
        _check_name(name, "artifact")
        folder = self._path / ARTIFACTS_DIR
        folder.mkdir(exist_ok=True)
        return folder / name


def is_run_dir(path: str | os.PathLike[str]) -> bool:
    """True when `path` is a folder with a run manifest (not validated)."""
    return (Path(path) / MANIFEST).is_file()
