"""Frames one product's ad shares with another product's: a brand would not run an ad that looks like
someone else's. Each measured draft's frames (one a second) are kept in an index in the cache folder, by
product, as a 64-bit difference hash and a 16×28 grey thumbnail; a draft's frame that another product's
video has too fails the check. "Another product" is another title and brand: the same product listed twice
in a catalog may look the same.

The same frame, not a similar one: the hash finds candidates (it survives re-encoding, costs microseconds,
but two ads of one layout and palette can hash alike); the thumbnails then must agree everywhere but in a
few places (95 % of their pixels within SAME_LEVELS grey levels), so another product, another background or
another line of text makes the frame another. Flat frames (a flash, a fade to one colour) are alike in every
video and are not compared.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from recgen.tools.probes import frames_at

SAMPLE_EVERY_S = 1.0
MAX_BITS = 10  # frames whose hashes differ in more than this many of 64 bits are other pictures
SAME_LEVELS = 6  # … and the same picture only where 95 % of their thumbnails' pixels are this close
THUMB = (16, 28)
MIN_DETAIL = 8.0  # grey standard deviation under which a frame is flat (a flash, a fade) and not compared
_SIGN = 1 << 63
_TABLE = "frames_v2"  # a new layout gets a new table: an index of an older one is left alone


@dataclass(frozen=True)
class SharedFrame:
    t: float  # in this draft
    product: str  # the other product's title
    run: str
    other_t: float


def product_key(title: str, brand: str | None) -> str:
    return hashlib.sha1(f"{title.strip().lower()}|{(brand or '').strip().lower()}".encode()).hexdigest()[:16]


def dhash(frame: np.ndarray) -> int | None:
    """64-bit difference hash of an RGB frame (None for a flat frame)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if float(grey.std()) < MIN_DETAIL:
        return None
    small = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def thumbnail(frame: np.ndarray) -> bytes:
    return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), THUMB, interpolation=cv2.INTER_AREA).tobytes()


Frame = tuple[float, int, bytes]  # time, hash, thumbnail


def frame_hashes(video: Path, duration: float, fps: float, size: tuple[int, int]) -> list[Frame]:
    times = [t + 0.5 for t in np.arange(0.0, max(0.0, duration - 0.5), SAMPLE_EVERY_S)]
    if not times:
        return []
    frames = frames_at(video, times, fps, size, 72)
    return [
        (round(float(t), 2), h, thumbnail(f)) for t, f in zip(times, frames, strict=True) if (h := dhash(f)) is not None
    ]


def same_picture(a: bytes, b: bytes) -> bool:
    d = np.abs(np.frombuffer(a, np.uint8).astype(np.int16) - np.frombuffer(b, np.uint8).astype(np.int16))
    return len(a) == len(b) and float(np.percentile(d, 95)) <= SAME_LEVELS


class FrameIndex:
    """The hashes of every measured draft's frames, by product and run (sqlite in the cache folder)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._db() as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (product, title, run, t REAL, hash INTEGER, thumb BLOB)")
            db.execute(f"CREATE INDEX IF NOT EXISTS {_TABLE}_run ON {_TABLE} (run)")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def record(self, product: str, title: str, run: str, frames: list[Frame]) -> None:
        """A run's latest measured draft replaces its earlier ones."""
        rows = [(product, title, run, t, h - _SIGN, thumb) for t, h, thumb in frames]
        with self._db() as db:
            db.execute(f"DELETE FROM {_TABLE} WHERE run = ?", (run,))
            db.executemany(f"INSERT INTO {_TABLE} VALUES (?, ?, ?, ?, ?, ?)", rows)

    def forget(self, product: str) -> None:
        """Every video of a product leaves the index (its ads were withdrawn, or a test starts afresh)."""
        with self._db() as db:
            db.execute(f"DELETE FROM {_TABLE} WHERE product = ?", (product,))

    def shared(self, product: str, frames: list[Frame]) -> list[SharedFrame]:
        """This draft's frames that another product's video has, one per frame."""
        if not frames:
            return []
        with self._db() as db:
            rows = db.execute(f"SELECT title, run, t, hash FROM {_TABLE} WHERE product != ?", (product,)).fetchall()
            if not rows:
                return []
            theirs = np.array([r[3] + _SIGN for r in rows], dtype=np.uint64)
            out = []
            for t, h, thumb in frames:
                diff = np.bitwise_xor(theirs, np.uint64(h))
                bits = np.unpackbits(diff.view(np.uint8).reshape(-1, 8), axis=1).sum(1)
                for k in np.flatnonzero(bits <= MAX_BITS)[np.argsort(bits[bits <= MAX_BITS])][:20]:
                    title, run, other_t, _ = rows[int(k)]
                    (other,) = db.execute(
                        f"SELECT thumb FROM {_TABLE} WHERE run = ? AND t = ?", (run, other_t)
                    ).fetchone()
                    if same_picture(thumb, other):
                        out.append(SharedFrame(t, title, run, other_t))
                        break
        return out
