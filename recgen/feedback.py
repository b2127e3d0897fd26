"""Feedback events — impressions, clicks, watch seconds, likes, purchases of (user, run, D-SID) — stored in
SQLite beside the runs (`<runs_dir>/feedback.sqlite`), one schema for Python, the CLI and the HTTP API.

Recording is idempotent by event id: an event sent again is counted once; the same id with other contents
is refused (two different events cannot share an id). A batch is checked whole before anything is written,
so a bad event in a file leaves the store as it was. The feedback reward's creative side learns from what
is stored here (`creative_effects`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from recgen.errors import ConflictError, InputError, RunStoreError, SIDError
from recgen.schemas import FeedbackEvent
from recgen.sid.catalog import strict_json

if TYPE_CHECKING:
    from recgen.sid.semantics import SIDSpace

FEEDBACK_DB = "feedback.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    dsid TEXT NOT NULL,
    creative TEXT NOT NULL,
    kind TEXT NOT NULL,
    run_id TEXT,
    item INTEGER,
    watch_seconds REAL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_creative ON events (creative, kind);
CREATE INDEX IF NOT EXISTS events_user ON events (user);
"""
_COLUMNS = ("event_id", "user", "dsid", "creative", "kind", "run_id", "item", "watch_seconds", "at")


def parse_events(data: object, where: str = "feedback") -> list[FeedbackEvent]:
    """A dict (one event) or a list of them → events; every problem named with the event's position."""
    rows = [data] if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{where}: give one event object or a non-empty list of them")
    out = []
    for i, row in enumerate(rows):
        try:
            out.append(FeedbackEvent.model_validate(row))
        except ValidationError as e:
            first = e.errors()[0]
            field = ".".join(map(str, first["loc"])) or "event"
            raise InputError(f"{where}: event {i}: {field}: {first['msg']}") from None
    return out


def read_events_file(path: Path) -> list[FeedbackEvent]:
    """A JSON list, or JSON lines (one event per line); a key given twice in an event is refused."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text") from e
    if text.startswith("["):
        return parse_events(strict_json(text, f"{path} (not JSON or JSON lines)"), str(path))
    lines = [(i, ln) for i, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    return parse_events([strict_json(ln, f"{path} (not JSON or JSON lines) line {i}") for i, ln in lines], str(path))


def check_events(events: list[FeedbackEvent], space: SIDSpace) -> None:
    """Events about things that exist: the item is in the catalog, the D-SID's content codes are of the
    catalog's code space (or GRM codes, 'g…'), its creative codes of the creative space. What the feedback
    model and the loop learn from is only what could have been shown."""
    n = len(space.catalog)
    for i, e in enumerate(events):
        where = f"event {i} ({e.event_id})"
        if e.item is not None and str(e.item) not in space.catalog:
            raise InputError(f"{where}: item {e.item} is not in the catalog (ids 0–{n - 1})")
        content, creative = e.dsid.split("/s")
        try:
            if content.startswith("c"):
                space.check_content(tuple(int(x) for x in content[1:].split(".")))
            space.creative_rq.check(np.asarray([e.creative]))
        except SIDError as err:
            raise InputError(f"{where}: D-SID {e.dsid} is outside {space.name}'s codes: {err}") from None


@dataclass(frozen=True)
class Recorded:
    added: int
    duplicates: int


class FeedbackStore:
    def __init__(self, runs_dir: Path) -> None:
        self.path = Path(runs_dir) / FEEDBACK_DB

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=10)
            conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise RunStoreError(f"the feedback store {self.path} cannot be opened ({e}); move it aside") from e
        return conn

    def record(self, events: Iterable[FeedbackEvent]) -> Recorded:
        """Store the events not stored yet, all in one transaction. An event sent again (in this batch or
        before) is a duplicate; one id given to two different events is a conflict."""
        now = time.time()
        sent = [_row(e, now) for e in events]
        first: dict[str, tuple] = {}
        for r in sent:
            if first.setdefault(r[0], r)[:-1] != r[:-1]:
                raise ConflictError(f"event id {r[0]!r} is given to two different events in one batch")
        rows = list(first.values())
        conn = self._connect()
        try:
            with conn:
                ids = [r[0] for r in rows]
                found = {}
                for chunk in range(0, len(ids), 500):
                    part = ids[chunk : chunk + 500]
                    q = f"SELECT {', '.join(_COLUMNS)} FROM events WHERE event_id IN ({','.join('?' * len(part))})"
                    found |= {r[0]: r for r in conn.execute(q, part)}
                for r in rows:
                    old = found.get(r[0])
                    if old is not None and old[:-1] != r[:-1]:
                        raise ConflictError(f"event {r[0]!r} was recorded before with other contents; use a new id")
                new = [r for r in rows if r[0] not in found]
                conn.executemany(f"INSERT INTO events VALUES ({','.join('?' * len(_COLUMNS))})", new)
        finally:
            conn.close()
        return Recorded(len(new), len(sent) - len(new))

    def events(self, user: str | None = None) -> list[FeedbackEvent]:
        conn = self._connect()
        try:
            q = f"SELECT {', '.join(_COLUMNS)} FROM events" + (" WHERE user = ?" if user else "") + " ORDER BY at"
            rows = conn.execute(q, (user,) if user else ()).fetchall()
        finally:
            conn.close()
        return [FeedbackEvent(**{k: v for k, v in zip(_COLUMNS, r, strict=True) if k != "creative"}) for r in rows]

    def clicks(self) -> list[tuple[str, int, tuple[int, ...]]]:
        """(user, item, creative codes) of every click on a video whose item is known, in time order: what
        the GRM's creative side learns from (`recgen grm train --creative --feedback`)."""
        return [(e.user, e.item, e.creative) for e in self.events() if e.kind == "click" and e.item is not None]

    def by_creative(self) -> dict[tuple[int, ...], dict[str, float]]:
        """Per creative code path: impressions, clicks, likes, purchases, watch seconds (sum)."""
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT creative, kind, COUNT(*), COALESCE(SUM(watch_seconds), 0) FROM events GROUP BY creative, kind"
            ).fetchall()
        finally:
            conn.close()
        out: dict[tuple[int, ...], dict[str, float]] = {}
        for creative, kind, n, watched in rows:
            agg = out.setdefault(tuple(int(x) for x in creative.split(".")), {})
            agg[kind] = float(n)
            if kind == "watch":
                agg["watch_seconds"] = float(watched)
        return out


def _row(e: FeedbackEvent, now: float) -> tuple:
    creative = ".".join(map(str, e.creative))
    return (e.event_id, e.user, e.dsid, creative, e.kind, e.run_id, e.item, e.watch_seconds, e.at or now)


def creative_effects(store: FeedbackStore, prior: float = 20.0) -> dict[tuple[int, ...], float]:
    """The creative side of the feedback reward: per creative code path, the log-odds of a click given an
    impression, relative to all creatives, shrunk toward 0 by `prior` pseudo-impressions at the overall rate
    (a code seen a few times moves little). Empty (neutral) until impressions are logged."""
    stats = store.by_creative()
    shown = {c: a.get("impression", 0.0) for c, a in stats.items()}
    clicks = {c: min(a.get("click", 0.0), shown[c]) for c, a in stats.items()}
    total_shown = sum(shown.values())
    if total_shown <= 0:
        return {}
    rate = float(np.clip(sum(clicks.values()) / total_shown, 1e-4, 1 - 1e-4))
    base = np.log(rate / (1 - rate))
    out = {}
    for c, n in shown.items():
        if n <= 0:
            continue
        p = (clicks[c] + prior * rate) / (n + prior)
        out[c] = round(float(np.log(p / (1 - p)) - base), 4)
    return out
