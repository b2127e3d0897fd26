"""Generated videos kept by D-SID, so a request is served from what exists and the cache grows with traffic.

A lookup for (product, content codes, creative codes) answers one of:
- `hit`: that product in exactly that creative;
- `content`: that product in another creative — the nearest by creative code (longest shared prefix, then
  the smallest code difference); the caller may queue the exact one;
- `nearest`: another product with the nearest content codes (same rule), in its nearest creative;
- `miss`: the cache is empty.

Entries live in SQLite (`cache.sqlite`) with the video files beside it (`videos/`); both survive restarts.
Eviction removes entries past `max_age_s`, then the least recently used until the files fit `max_bytes`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from recgen.errors import InputError
from recgen.serving.db import ThreadConnections

_SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    key TEXT PRIMARY KEY,
    product TEXT NOT NULL,
    content TEXT NOT NULL,
    creative TEXT NOT NULL,
    file TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    run_id TEXT,
    measured TEXT,
    scores TEXT,
    created REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    last_used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS videos_product ON videos (product);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLS = "key, product, content, creative, file, bytes, run_id, measured, scores, created, hits, last_used"


def _codes(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(".")) if text else ()


def code_distance(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, int]:
    """(levels after the shared prefix, summed absolute difference of the codes): smaller is nearer."""
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return max(len(a), len(b)) - shared, sum(abs(x - y) for x, y in zip(a, b, strict=False))


@dataclass(frozen=True)
class Entry:
    key: str
    product: str
    content: tuple[int, ...]
    creative: tuple[int, ...]
    path: Path
    bytes: int
    run_id: str | None
    measured: dict | None  # the re-encoded D-SID of the rendered file, where measured
    scores: dict | None
    created: float
    hits: int

    @property
    def dsid(self) -> str:
        return "c" + ".".join(map(str, self.content)) + "/s" + ".".join(map(str, self.creative))


@dataclass(frozen=True)
class Lookup:
    case: Literal["hit", "content", "nearest", "miss"]
    entry: Entry | None


def entry_key(product: str, creative: tuple[int, ...]) -> str:
    return f"{product}/s" + ".".join(map(str, creative))


class VideoCache:
    """`space`: the D-SID space the content codes belong to (its name carries its fingerprint). A cache
    remembers the space of its first entries and refuses to be opened with another: codes of another fit
    name other products, so its lookups would serve the wrong videos."""

    def __init__(self, root: Path, max_bytes: int | None = None, max_age_s: float | None = None,
                 space: str | None = None) -> None:  # fmt: skip
        self.root = Path(root)
        self.max_bytes, self.max_age_s = max_bytes, max_age_s
        self._conns = ThreadConnections(self.root / "cache.sqlite", "video cache")
        (self.root / "videos").mkdir(parents=True, exist_ok=True)
        with self._db() as conn:
            conn.executescript(_SCHEMA)
            if space is not None:
                old = conn.execute("SELECT 1 FROM videos LIMIT 1").fetchone() is not None
                first = "an unrecorded space (made before caches recorded theirs)" if old else space
                conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('space', ?)", (first,))
                (held,) = conn.execute("SELECT value FROM meta WHERE name = 'space'").fetchone()
                if held != space:
                    raise InputError(
                        f"the video cache at {self.root} is keyed by the content codes of D-SID space {held}, "
                        f"not this catalog's {space}; give the server another runs folder, or delete that cache"
                    )
        self.space = space

    def _db(self) -> sqlite3.Connection:
        return self._conns.get()

    def _entry(self, row) -> Entry:
        key, product, content, creative, file, size, run_id, measured, scores, created, hits, _ = row
        return Entry(key, product, _codes(content), _codes(creative), self.root / file, size, run_id,
                     json.loads(measured) if measured else None, json.loads(scores) if scores else None,
                     created, hits)  # fmt: skip

    def put(self, product: str, content: tuple[int, ...], creative: tuple[int, ...], video: Path,
            run_id: str | None = None, measured: dict | None = None, scores: dict | None = None) -> Entry:  # fmt: skip
        """Copy the video in (whole or not at all) and index it; an entry for the same key is replaced."""
        video = Path(video)
        if not video.is_file():
            raise InputError(f"no video at {video}")
        key = entry_key(product, creative)
        name = key.replace("/", "_") + ".mp4"
        tmp = self.root / "videos" / (name + ".partial")
        shutil.copyfile(video, tmp)
        tmp.replace(self.root / "videos" / name)
        now = time.time()
        with self._db() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO videos ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,0,?)",
                (key, product, ".".join(map(str, content)), ".".join(map(str, creative)), f"videos/{name}",
                 video.stat().st_size, run_id, json.dumps(measured) if measured else None,
                 json.dumps(scores) if scores else None, now, now),
            )  # fmt: skip
        self.evict(keep=key)
        return self.get(key)

    def get(self, key: str) -> Entry | None:
        with self._db() as conn:
            row = conn.execute(f"SELECT {_COLS} FROM videos WHERE key = ?", (key,)).fetchone()
        return None if row is None else self._entry(row)

    def entries(self) -> list[Entry]:
        with self._db() as conn:
            return [self._entry(r) for r in conn.execute(f"SELECT {_COLS} FROM videos ORDER BY created")]

    def lookup(self, product: str, content: tuple[int, ...], creative: tuple[int, ...]) -> Lookup:
        """See the module's docstring; a found entry counts a hit. Reads only the code columns (this is the
        online path: it runs on every request)."""
        creative, content = tuple(creative), tuple(content)
        with self._db() as conn:
            same = conn.execute(
                "SELECT key, creative FROM videos WHERE product = ? ORDER BY created", (product,)
            ).fetchall()
            if same:
                key, codes = min(same, key=lambda r: code_distance(_codes(r[1]), creative))
                case = "hit" if _codes(codes) == creative else "content"
            else:
                rows = conn.execute("SELECT key, content, creative FROM videos ORDER BY created").fetchall()
                if not rows:
                    return Lookup("miss", None)
                key = min(rows, key=lambda r: (code_distance(_codes(r[1]), content),
                                               code_distance(_codes(r[2]), creative)))[0]  # fmt: skip
                case = "nearest"
            conn.execute("UPDATE videos SET hits = hits + 1, last_used = ? WHERE key = ?", (time.time(), key))
        return Lookup(case, self.get(key))

    def evict(self, keep: str | None = None) -> list[str]:
        """Entries past the age limit, then least recently used ones until the files fit the size limit
        (never `keep`, the entry just stored)."""
        gone = []
        with self._db() as conn:
            rows = conn.execute("SELECT key, file, bytes, created, last_used FROM videos ORDER BY last_used").fetchall()
            now, total = time.time(), sum(r[2] for r in rows)
            for key, file, size, created, _ in rows:
                old = self.max_age_s is not None and now - created > self.max_age_s
                big = self.max_bytes is not None and total > self.max_bytes
                if (old or big) and key != keep:
                    conn.execute("DELETE FROM videos WHERE key = ?", (key,))
                    (self.root / file).unlink(missing_ok=True)
                    total -= size
                    gone.append(key)
        return gone
