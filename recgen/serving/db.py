"""SQLite as the serving stores use it (the video cache, the job queue): one connection per thread, opened
once (the online path touches a store several times per request), in WAL mode so readers do not wait for
a writer, without an fsync per commit (WAL stays consistent after a crash; the last commits may be lost)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from recgen.errors import RunStoreError


class ThreadConnections:
    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = Path(path), what
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=10)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.DatabaseError as e:
                raise RunStoreError(f"the {self.what} {self.path} cannot be opened ({e})") from e
            self._local.conn = conn
        return conn
