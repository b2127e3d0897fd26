"""The run store: one folder per run (plans, shots, audio, drafts, critic reports, final.mp4) plus the
SQLite checkpoint database shared by all runs, keyed by run id.

`RunFolder` owns every path inside a run folder and the records written there; nodes, the generate walk
and the trace UI ask it for paths instead of spelling file names themselves."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from recgen.errors import RecgenError, RunBusyError, RunStoreError, StorageError
from recgen.trace import append_event

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; one writer is not enforced there
    fcntl = None

CHECKPOINT_DB = "checkpoints.sqlite"
RECORD_FILE = "run.json"
LOCK_FILE = ".lock"
# errors that mean "no room or no permission to write": the run stops cleanly and resumes once fixed
STORAGE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM}
FINAL_FILE = "final.mp4"
# the plans a run writes, by the state field that holds each (the trace UI reads the same table)
PLAN_FILES: dict[str, str] = {
    "semantics": "semantics.json",
    "brief": "brief.json",
    "visual": "visual_plan.json",
    "audio_plan": "audio_plan.json",
    "effects": "effects_plan.json",
}


def new_run_id(label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:24] or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{uuid.uuid4().hex[:6]}"


def ensure_writable(folder: Path) -> Path:
    """Fail before any work if the run store cannot be written."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{uuid.uuid4().hex[:6]}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise RunStoreError(
            f"cannot write to the run folder {folder} ({e.strerror or e}); "
            "choose another with --runs-dir or RECGEN_RUNS_DIR"
        ) from e
    return folder


def run_dir(runs_dir: Path, run_id: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9._-]+", run_id):
        raise RunStoreError(f"{run_id!r} is not a run id")
    return Path(runs_dir) / run_id


def write_record(folder: Path, **fields) -> None:
    """Merge fields into run.json atomically (status, times, final path, fallbacks)."""
    path = folder / RECORD_FILE
    rec = json.loads(path.read_text()) if path.is_file() else {}
    rec.update({k: (str(v) if isinstance(v, Path) else v) for k, v in fields.items()})
    write_atomic(path, json.dumps(rec, indent=2, default=str))


def read_record(folder: Path) -> dict:
    """The run's record; a damaged one (truncated, emptied, not UTF-8, not a JSON object) is refused with
    what is wrong with it, never half read."""
    path = folder / RECORD_FILE
    if not path.is_file():
        raise RunStoreError(f"no run at {folder}; list runs with `ls {folder.parent}`")
    try:
        rec = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        raise RunStoreError(f"the record of run {folder.name} cannot be read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise RunStoreError(f"the record of run {folder.name} is damaged: not UTF-8 text") from e
    except json.JSONDecodeError as e:
        what = "empty" if not path.read_bytes().strip(b"\x00 \n\t") else f"not JSON ({e.msg})"
        raise RunStoreError(f"the record of run {folder.name} is damaged: {what}") from e
    if not isinstance(rec, dict):
        raise RunStoreError(f"the record of run {folder.name} is damaged: a JSON {type(rec).__name__}, not an object")
    return rec


def checkpointer(folder: Path):
    """The run's own SQLite checkpoints (one database per run: a damaged one harms no other run); our state
    types are registered so LangGraph restores them without a warning. A database that cannot be read or
    written is refused here, before any work, with what to do."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver

    import recgen.schemas as schemas

    types = [
        t for t in vars(schemas).values() if isinstance(t, type) and issubclass(t, BaseModel) and t is not BaseModel
    ]
    db = checkpoint_db(folder)
    conn = None
    try:
        conn = sqlite3.connect(str(db), check_same_thread=False)
        saver = SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=types))
        saver.setup()
        ok = conn.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise sqlite3.DatabaseError(ok)
        conn.execute("CREATE TABLE IF NOT EXISTS recgen_probe (x)")
        conn.execute("DROP TABLE recgen_probe")
        conn.commit()
    except sqlite3.Error as e:
        if conn is not None:
            conn.close()
        raise checkpoint_error(db, e) from e
    return saver


def checkpoint_db(folder: Path) -> Path:
    """The run's database; runs made before databases were per run keep theirs in the shared one."""
    own, shared = Path(folder) / CHECKPOINT_DB, Path(folder).parent / CHECKPOINT_DB
    if not own.exists() and shared.is_file() and _has_thread(shared, Path(folder).name):
        return shared
    return own


def _has_thread(db: Path, run_id: str) -> bool:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            return c.execute("SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1", (run_id,)).fetchone() is not None
    except sqlite3.Error:
        return False


def checkpoint_error(db: Path, e: Exception) -> RunStoreError:
    text = str(e).lower()
    if "readonly" in text or "read-only" in text or "permission" in text or "unable to open" in text:
        return StorageError(
            f"the checkpoint database {db.name} of run {db.parent.name} cannot be written ({e}); "
            "make the run folder writable, then resume the run"
        )
    if "full" in text or "disk i/o" in text:
        return StorageError(
            f"could not write the checkpoints of run {db.parent.name} ({e}: a full disk, a file-size limit or a "
            "failing disk); fix the cause, then resume the run"
        )
    return RunStoreError(
        f"the checkpoint database of run {db.parent.name} is damaged ({e}). Its files (plans, drafts) are kept, "
        f"but it cannot resume: move {db.name} aside and start the run again with the same product and seed; "
        "other runs are not affected"
    )


# the same causes as a child process (ffmpeg) reports them
_STORAGE_TEXT = {
    "no space left on device": errno.ENOSPC,
    "file too large": errno.EFBIG,
    "read-only file system": errno.EROFS,
    "disk quota exceeded": errno.EDQUOT,
}


def storage_error(e: BaseException, where: Path) -> StorageError | None:
    """An error that means 'no room or no permission' (an OSError, or a tool's message saying so), as the
    error to show; None for other errors."""
    code = getattr(e, "errno", None)
    if code not in STORAGE_ERRNOS:
        text = str(e).lower()
        code = next((c for phrase, c in _STORAGE_TEXT.items() if phrase in text), None)
    if code is None:
        return None
    why = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EFBIG: "a file grew past the size limit of this process (ulimit -f)",
        errno.EROFS: "the file system is read-only",
    }.get(code, "permission denied")
    return StorageError(
        f"could not write in {where} ({why}: {getattr(e, 'filename', None) or str(e)[:120]}); partial files "
        "were removed. "
        "Fix the cause, then resume the run"
    )


class RunLock:
    """One writer per run: an advisory lock on the run folder held for the life of the writing process
    (the operating system releases it when the process dies, also on kill -9)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        if fcntl is None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        for attempt in range(5):  # a reader checking the lock holds it for an instant
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == 4:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    os.close(fd)
                    raise RunBusyError(
                        f"run {self.path.parent.name} is being written by another process (pid {holder}); "
                        "wait for it to finish, or stop it and resume the run"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def lock_held(folder: Path) -> bool:
    """Whether a live process writes the run now."""
    path = Path(folder) / LOCK_FILE
    if fcntl is None or not path.is_file():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def live_status(folder: Path, record: dict) -> str:
    """The record's status, except that a run marked running whose writer is gone is 'interrupted' — and
    is marked so in its record by whoever sees it first (under the run's lock, so a writer that has just
    started is never overwritten)."""
    status = str(record.get("status", "unknown"))
    if status == "running" and not lock_held(folder):
        _settle_interrupted(folder)
        return "interrupted"
    return status


def _settle_interrupted(folder: Path) -> None:
    try:
        with RunLock(folder):
            if read_record(folder).get("status") == "running":
                why = "its writer stopped mid-run (killed, or the machine went down); resume it"
                write_record(folder, status="interrupted", error=why)
    except (RecgenError, OSError):
        pass  # a writer took the run meanwhile, or the folder is read-only: the status shown stays right


def remove_partials(folder: Path) -> list[Path]:
    """Files a failed write left half-written: every writer writes under a temporary name (…tmp…, …partial…)
    and moves the file into place only when it is complete."""
    gone = []
    for p in Path(folder).rglob("*"):
        if p.is_file() and {".tmp", ".partial"} & set(p.suffixes):
            with contextlib.suppress(OSError):
                p.unlink()
                gone.append(p)
    return gone


def write_atomic(path: Path, text: str) -> Path:
    """Write a whole file or nothing: a crash or a full disk never leaves half a plan behind."""
    tmp = path.with_name(path.name + ".partial")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class RunFolder:
    """One run's folder: where each artefact goes, and its record (run.json) and trace (trace.jsonl)."""

    path: Path

    @classmethod
    def of(cls, runs_dir: Path, run_id: str) -> RunFolder:
        return cls(run_dir(runs_dir, run_id))

    @property
    def run_id(self) -> str:
        return self.path.name

    def sub(self, name: str) -> Path:
        """A subfolder (shots, audio, drafts, critic, plans), created on first use."""
        folder = self.path / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def plan_path(self, field: str) -> Path:
        return self.path / "plans" / PLAN_FILES[field]

    def write_plan(self, field: str, plan: BaseModel) -> Path:
        return write_atomic(self.sub("plans") / PLAN_FILES[field], plan.model_dump_json(indent=2))

    def draft_path(self, round_: int) -> Path:
        return self.sub("drafts") / f"draft_r{round_}.mp4"

    def critic_path(self, round_: int) -> Path:
        return self.sub("critic") / f"round_{round_}.json"

    def write_critic(self, round_: int, report: BaseModel) -> Path:
        return write_atomic(self.critic_path(round_), report.model_dump_json(indent=2))

    @property
    def final_path(self) -> Path:
        return self.path / FINAL_FILE

    def record(self) -> dict:
        return read_record(self.path)

    @property
    def status(self) -> str:
        return live_status(self.path, self.record())

    def update_record(self, **fields) -> None:
        write_record(self.path, **fields)

    def trace(self, node: str, update) -> dict:
        return append_event(self.path, node, update)


def finished_reports(runs_dir: Path) -> dict[str, list[dict]]:
    """The critic's stored reports of every finished run (id → reports in round order); a run whose
    reports cannot be read is left out."""
    out: dict[str, list[dict]] = {}
    folders = sorted(p for p in Path(runs_dir).iterdir() if p.is_dir()) if Path(runs_dir).is_dir() else []
    for folder in folders:
        if not (folder / FINAL_FILE).is_file():
            continue
        files = sorted((folder / "critic").glob("round_*.json"), key=lambda f: int(f.stem.split("_")[1]))
        try:
            out[folder.name] = [json.loads(f.read_text(encoding="utf-8")) for f in files]
        except (OSError, ValueError):
            continue
    return out
