"""SQLite as the serving stores use it (the video cache, the job queue): one connection per thread, opened
once (the online path touches a store several times per request), in WAL mode so readers do not wait for
a writer, without an fsync per commit (WAL stays consistent after a crash; the last commits may be lost).

A thread that ends leaves its connection behind (a render's pool threads report progress, the web server's
pool retires idle threads): the next thread to open one closes those of threads no longer alive, so a
long-running server holds at most one connection per live thread (the API soak once counted ~10 open
files more per video made)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from recgen.errors import RunStoreError


class ThreadConnections:
    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = Path(path), what
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}

    def get(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self._close_orphans()
            try:
                # used by its own thread only; another thread closes it once its thread has ended
                conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.DatabaseError as e:
                raise RunStoreError(f"the {self.what} {self.path} cannot be opened ({e})") from e
            self._local.conn = conn
            me = threading.current_thread()
            with self._lock:
                self._open[id(conn)] = (me, conn)
        return conn

    def _close_orphans(self) -> None:
        with self._lock:
            dead = [k for k, (thread, _) in self._open.items() if not thread.is_alive()]
            orphans = [self._open.pop(k)[1] for k in dead]
        for conn in orphans:
            conn.close()

    def open_count(self) -> int:
        """Connections held now (for tests and health checks)."""
        with self._lock:
            return len(self._open)
