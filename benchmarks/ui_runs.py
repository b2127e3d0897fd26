"""Trace UI benchmark: how long the runs list takes with 10, 100 and 1,000 runs in the store.

Makes real runs (small videos, a few products and creative styles), then fills a store up to 1,000 runs by
copying their folders' run.json and keyframe under new ids, times, statuses and scores. Measures, on a live
uvicorn server over HTTP, the median time of `GET /` (all runs listed) and of a filtered list; and, when
Debian's Chromium is installed, the page load in the browser (DOM ready and the load event).

    python benchmarks/ui_runs.py [--runs 1000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from recgen import Settings, generate_video
from recgen.serving.ui import create_app

STATUSES = ["done"] * 8 + ["failed", "review"]


def make_seed_runs(runs_dir: Path) -> list[Path]:
    settings = Settings(runs_dir=runs_dir, width=144, height=256, fps=12, duration_s=6.0)
    out = []
    for i, (product, creative) in enumerate([("8", "fresh-botanical"), ("0", "calm-luxury"), ("3", "bold-discount")]):
        out.append(generate_video(product, creative, settings=settings, run_id=f"seed-{i}").run_dir)
    return out


def fill_store(store: Path, seeds: list[Path], n: int) -> None:
    """n run folders: run.json (with its reports) and the shot-0 keyframe, as a real run leaves them."""
    rng = random.Random(0)
    t0 = time.time() - n * 60
    for folder in store.iterdir():
        if folder.is_dir():
            shutil.rmtree(folder)
    for i in range(n):
        seed = seeds[i % len(seeds)]
        rec = json.loads((seed / "run.json").read_text())
        rid = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(t0 + i * 60))}-bench-{i:05d}"
        rec.update(run_id=rid, started=t0 + i * 60, status=rng.choice(STATUSES))
        for r in rec.get("reports") or []:
            r["total"] = round(rng.uniform(0.6, 1.0), 3)
        dest = store / rid
        (dest / "shots").mkdir(parents=True)
        (dest / "run.json").write_text(json.dumps(rec, indent=2))
        os.link(seed / "shots" / "shot_00_key.png", dest / "shots" / "shot_00_key.png")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_get(url: str, repeat: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        with urllib.request.urlopen(url) as r:
            size = len(r.read())
        times.append(time.perf_counter() - t)
    return statistics.median(times), size


def browser_load(url: str, repeat: int) -> tuple[float, float] | None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        return None
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    dom, load = [], []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=args)
        for _ in range(repeat):
            page = b.new_page()
            page.goto(url, wait_until="load")
            timing = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
            nav = json.loads(timing)
            dom.append(nav["domContentLoadedEventEnd"] / 1000)
            load.append(nav["loadEventEnd"] / 1000)
            page.close()
        b.close()
    return statistics.median(dom), statistics.median(load)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=15)
    a = ap.parse_args()
    import uvicorn

    with tempfile.TemporaryDirectory() as tmp:
        seeds = make_seed_runs(Path(tmp) / "seeds")
        store = Path(tmp) / "store"
        store.mkdir()
        port = free_port()
        settings = Settings(runs_dir=store)
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        rows = []
        for n in sorted({10, 100, a.runs}):
            fill_store(store, seeds, n)
            t_all, size = timed_get(base + "/", a.repeat)
            t_filter, _ = timed_get(base + "/?product=serum", a.repeat)
            br = browser_load(base + "/", max(3, a.repeat // 3))
            rows.append((n, t_all, size, t_filter, br))
        server.should_exit = True
    t10 = rows[0][1]
    head = ("runs", "GET / (ms)", "vs 10 runs", "KiB", "filtered (ms)", "browser DOM/load (ms)")
    print("{:>6} {:>11} {:>10} {:>6} {:>14} {:>22}".format(*head))
    for n, t_all, size, t_filter, br in rows:
        b = f"{br[0] * 1000:.0f} / {br[1] * 1000:.0f}" if br else "no chromium"
        print(f"{n:>6} {t_all * 1000:>11.1f} {t_all / t10:>9.1f}x {size / 1024:>6.0f} {t_filter * 1000:>14.1f} {b:>22}")
    worst = max(max(r[1], r[4][1] if r[4] else 0) for r in rows)
    print(f"slowest list page: {worst * 1000:.0f} ms ({'under' if worst < 1 else 'OVER'} the 1 s target)")


if __name__ == "__main__":
    main()
