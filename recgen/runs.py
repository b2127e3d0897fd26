"""The run store: one folder per run (plans, shots, audio, drafts, critic reports, final.mp4) plus the
SQLite checkpoint database shared by all runs, keyed by run id.

`RunFolder` owns every path inside a run folder and the records written there; nodes, the generate walk
and the trace UI ask it for paths instead of spelling file names themselves."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from recgen.errors import RunStoreError
from recgen.trace import append_event

CHECKPOINT_DB = "checkpoints.sqlite"
RECORD_FILE = "run.json"
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
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec, indent=2, default=str))
    tmp.replace(path)


def read_record(folder: Path) -> dict:
    path = folder / RECORD_FILE
    if not path.is_file():
        raise RunStoreError(f"no run at {folder}; list runs with `ls {folder.parent}`")
    return json.loads(path.read_text())


def checkpointer(runs_dir: Path):
    """SQLite checkpoints; our state types are registered so LangGraph restores them without a warning."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver

    import recgen.schemas as schemas

    types = [
        t for t in vars(schemas).values() if isinstance(t, type) and issubclass(t, BaseModel) and t is not BaseModel
    ]
    conn = sqlite3.connect(str(Path(runs_dir) / CHECKPOINT_DB), check_same_thread=False)
    return SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=types))


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
        path = self.sub("plans") / PLAN_FILES[field]
        path.write_text(plan.model_dump_json(indent=2))
        return path

    def draft_path(self, round_: int) -> Path:
        return self.sub("drafts") / f"draft_r{round_}.mp4"

    def critic_path(self, round_: int) -> Path:
        return self.sub("critic") / f"round_{round_}.json"

    @property
    def final_path(self) -> Path:
        return self.path / FINAL_FILE

    def record(self) -> dict:
        return read_record(self.path)

    def update_record(self, **fields) -> None:
        write_record(self.path, **fields)

    def trace(self, node: str, update) -> dict:
        return append_event(self.path, node, update)
