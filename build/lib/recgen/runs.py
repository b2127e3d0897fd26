"""The run store: one folder per run (plans, shots, audio, drafts, critic reports, final.mp4) plus the
SQLite checkpoint database shared by all runs, keyed by run id."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from pathlib import Path

from recgen.errors import RunStoreError

CHECKPOINT_DB = "checkpoints.sqlite"


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
    path = folder / "run.json"
    rec = json.loads(path.read_text()) if path.is_file() else {}
    rec.update({k: (str(v) if isinstance(v, Path) else v) for k, v in fields.items()})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec, indent=2, default=str))
    tmp.replace(path)


def read_record(folder: Path) -> dict:
    path = folder / "run.json"
    if not path.is_file():
        raise RunStoreError(f"no run at {folder}; list runs with `ls {folder.parent}`")
    return json.loads(path.read_text())


def checkpointer(runs_dir: Path):
    """SQLite checkpoints; our state types are registered so LangGraph restores them without a warning."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver
    from pydantic import BaseModel

    from recgen import schemas

    types = [
        t for t in vars(schemas).values() if isinstance(t, type) and issubclass(t, BaseModel) and t is not BaseModel
    ]
    conn = sqlite3.connect(str(Path(runs_dir) / CHECKPOINT_DB), check_same_thread=False)
    return SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=types))
