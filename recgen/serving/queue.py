"""A bounded job queue for the serving API: jobs kept in SQLite (they outlive the process), run by a small
pool of worker threads, refused when the queue is full, deduplicated by idempotency key, stopped at the
next step once past their time limit.

A job's handler gets a `progress(fraction, note)` callback; past the deadline that callback raises
`JobTimeout`, so a job stops between two steps (a video run stops at a node boundary, checkpointed, and
its run can be resumed) rather than being killed halfway through writing a file. Jobs that were queued or
running when the process stopped are queued again when a queue opens the same file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from recgen.errors import ConflictError, InputError, RecgenError
from recgen.serving.db import ThreadConnections

log = logging.getLogger(__name__)

Status = Literal["queued", "running", "done", "failed"]
ACTIVE = ("queued", "running")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    key TEXT UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    note TEXT,
    result TEXT,
    error TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
"""
_COLS = "id, key, kind, payload, status, progress, note, result, error, created, started, finished"


class QueueFull(RecgenError):
    """The queue holds as many unfinished jobs as it may; the caller should retry later."""


class IdempotencyConflict(ConflictError):
    """An idempotency key already used for a different request."""


class JobTimeout(RecgenError):
    pass


@dataclass(frozen=True)
class Job:
    id: str
    key: str | None
    kind: str
    payload: dict[str, Any]
    status: Status
    progress: float
    note: str | None
    result: dict[str, Any] | None
    error: str | None
    created: float
    started: float | None
    finished: float | None


Handler = Callable[[Job, Callable[[float, str], None]], dict[str, Any]]


class JobQueue:
    def __init__(self, path: Path, handler: Handler, workers: int = 1, capacity: int = 32,
                 timeout_s: float = 900.0) -> None:  # fmt: skip
        if workers < 1 or capacity < 1 or timeout_s <= 0:
            raise InputError("a job queue needs at least one worker, room for one job and a positive time limit")
        self.path, self.handler = Path(path), handler
        self.capacity, self.timeout_s = capacity, timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conns = ThreadConnections(self.path, "job store")
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recgen-job")
        with self._db() as conn:
            conn.executescript(_SCHEMA)
            conn.execute("UPDATE jobs SET status = 'queued', note = 'restarted' WHERE status = 'running'")
            pending = [r[0] for r in conn.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY created")]
        for job_id in pending:
            self._pool.submit(self._run, job_id)

    def _db(self) -> sqlite3.Connection:
        return self._conns.get()

    @staticmethod
    def _job(row) -> Job:
        id_, key, kind, payload, status, progress, note, result, error, created, started, finished = row
        return Job(id_, key, kind, json.loads(payload), status, progress, note,
                   json.loads(result) if result else None, error, created, started, finished)  # fmt: skip

    def get(self, job_id: str) -> Job | None:
        with self._db() as conn:
            row = conn.execute(f"SELECT {_COLS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else self._job(row)

    def find(self, key: str) -> Job | None:
        with self._db() as conn:
            row = conn.execute(f"SELECT {_COLS} FROM jobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else self._job(row)

    def active(self, kind: str, payload: dict[str, Any]) -> Job | None:
        """An unfinished job of this kind with exactly this payload (so a second request for a video being
        made joins it instead of queueing it again)."""
        with self._db() as conn:
            row = conn.execute(
                f"SELECT {_COLS} FROM jobs WHERE kind = ? AND payload = ? AND status IN ('queued', 'running')",
                (kind, json.dumps(payload, sort_keys=True)),
            ).fetchone()
        return None if row is None else self._job(row)

    def pending(self) -> int:
        with self._db() as conn:
            return conn.execute("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0]

    def counts(self) -> dict[str, int]:
        with self._db() as conn:
            return dict(conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall())

    def submit(self, kind: str, payload: dict[str, Any], key: str | None = None) -> tuple[Job, bool]:
        """(the job, whether it is new). A key seen before returns its job whatever its state; the same key
        with another request is refused; an unfinished job with the same request is joined; a full queue
        raises QueueFull."""
        text = json.dumps(payload, sort_keys=True)
        with self._lock:
            if key is not None and (old := self.find(key)) is not None:
                if old.kind != kind or json.dumps(old.payload, sort_keys=True) != text:
                    raise IdempotencyConflict(f"idempotency key {key!r} was used for a different request")
                return old, False
            if (same := self.active(kind, payload)) is not None:
                return same, False
            if self._closed:  # a request that arrives while the server stops: a 503, not a crash
                raise QueueFull("the server is shutting down; retry in a moment")
            if self.pending() >= self.capacity:
                raise QueueFull(f"the job queue is full ({self.capacity} unfinished jobs); retry later")
            job_id = uuid.uuid4().hex[:16]
            with self._db() as conn:
                conn.execute("INSERT INTO jobs (id, key, kind, payload, status, created) VALUES (?,?,?,?,?,?)",
                             (job_id, key, kind, text, "queued", time.time()))  # fmt: skip
        self._pool.submit(self._run, job_id)
        return self.get(job_id), True

    def _set(self, job_id: str, **cols: Any) -> None:
        names = ", ".join(f"{c} = ?" for c in cols)
        with self._db() as conn:
            conn.execute(f"UPDATE jobs SET {names} WHERE id = ?", (*cols.values(), job_id))

    def _run(self, job_id: str) -> None:
        job = self.get(job_id)
        if job is None or job.status != "queued":
            return
        start = time.time()
        self._set(job_id, status="running", started=start, progress=0.0)
        deadline = start + self.timeout_s

        def progress(fraction: float, note: str) -> None:
            if time.time() > deadline:
                raise JobTimeout(f"the job ran past its time limit of {self.timeout_s:.0f} s (stopped at {note})")
            self._set(job_id, progress=round(min(max(fraction, 0.0), 1.0), 4), note=note[:200])

        try:
            result = self.handler(self.get(job_id), progress)
        except Exception as e:  # a failed job is reported to its caller, never lost
            log.warning("job %s failed: %s", job_id, e)
            self._set(job_id, status="failed", error=str(e)[:2000], finished=time.time())
            return
        self._set(job_id, status="done", progress=1.0, result=json.dumps(result), finished=time.time())

    def wait(self, job_id: str, timeout_s: float = 60.0, poll_s: float = 0.05) -> Job:
        """Block until the job is finished (tests, scripts)."""
        end = time.time() + timeout_s
        while (job := self.get(job_id)) is not None and job.status in ACTIVE:
            if time.time() > end:
                raise TimeoutError(f"job {job_id} still {job.status} after {timeout_s} s")
            time.sleep(poll_s)
        if job is None:
            raise InputError(f"no job {job_id!r}")
        return job

    def close(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
