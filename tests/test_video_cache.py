"""The D-SID video cache: the four lookup cases, restarts, eviction by age and size."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from recgen.errors import InputError
from recgen.serving.cache import VideoCache, code_distance
from recgen.serving.db import ThreadConnections


def _video(tmp_path, name: str, size: int):
    p = tmp_path / name
    p.write_bytes(b"\0" * size)
    return p


def test_lookup_answers_hit_content_nearest_and_miss(tmp_path):
    cache = VideoCache(tmp_path / "cache")
    assert cache.lookup("8", (1, 2), (3, 1)).case == "miss"
    cache.put("8", (1, 2), (3, 1), _video(tmp_path, "a.mp4", 10), run_id="r1", scores={"reward": 0.1})
    cache.put("8", (1, 2), (5, 0), _video(tmp_path, "b.mp4", 10))
    cache.put("9", (1, 3), (3, 2), _video(tmp_path, "c.mp4", 10))
    hit = cache.lookup("8", (1, 2), (3, 1))
    assert hit.case == "hit" and hit.entry.run_id == "r1" and hit.entry.path.read_bytes() == b"\0" * 10
    near = cache.lookup("8", (1, 2), (3, 0))
    assert near.case == "content" and near.entry.creative == (3, 1)  # shares the first creative code
    other = cache.lookup("12", (1, 3), (3, 3))
    assert other.case == "nearest" and other.entry.product == "9"
    assert cache.get("8/s3.1").hits == 2  # served for the exact request and for the near one


def test_the_cache_survives_a_restart_and_never_leaves_a_partial_file(tmp_path):
    VideoCache(tmp_path / "cache").put("8", (1, 2), (3, 1), _video(tmp_path, "a.mp4", 10))
    again = VideoCache(tmp_path / "cache")
    assert again.lookup("8", (1, 2), (3, 1)).case == "hit"
    assert not list((tmp_path / "cache" / "videos").glob("*.partial"))
    with pytest.raises(InputError, match="no video"):
        again.put("8", (1, 2), (3, 2), tmp_path / "missing.mp4")


def test_eviction_drops_the_least_recently_used_to_fit_and_the_old(tmp_path):
    cache = VideoCache(tmp_path / "cache", max_bytes=25)
    cache.put("1", (0, 0), (0, 0), _video(tmp_path, "a.mp4", 10))
    cache.put("2", (0, 1), (0, 0), _video(tmp_path, "b.mp4", 10))
    cache.lookup("1", (0, 0), (0, 0))  # 1 is used again: 2 is now the least recently used
    cache.put("3", (0, 2), (0, 0), _video(tmp_path, "c.mp4", 10))
    assert {e.product for e in cache.entries()} == {"1", "3"}
    assert len(list((tmp_path / "cache" / "videos").iterdir())) == 2
    aged = VideoCache(tmp_path / "cache", max_age_s=0.05)
    time.sleep(0.1)
    aged.put("4", (0, 3), (0, 0), _video(tmp_path, "d.mp4", 1))
    assert [e.product for e in aged.entries()] == ["4"]


def test_code_distance_prefers_a_longer_shared_prefix():
    assert code_distance((3, 1), (3, 7)) < code_distance((3, 1), (4, 1))
    assert code_distance((3, 1), (3, 1)) == (0, 0)


def test_connections_of_ended_threads_are_closed(tmp_path):
    """A long-running server's stores hold one connection per live thread, not one per thread ever seen."""
    db = tmp_path / "s.sqlite"
    conns = ThreadConnections(db, "test store")
    conns.get().execute("CREATE TABLE t (x)")
    for _ in range(30):  # short-lived threads, as a render's pool or a retired web worker
        th = threading.Thread(target=lambda: conns.get().execute("SELECT 1").fetchall())
        th.start()
        th.join()
    conns.get()  # the main thread's own, reused
    files = [p for p in Path(f"/proc/{os.getpid()}/fd").iterdir() if str(p.resolve()).startswith(str(db))]
    assert conns.open_count() <= 2 and len(files) <= 6  # the main thread's and the last thread's, with WAL files
