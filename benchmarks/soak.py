"""Soak: many short runs in one process. Does memory stay flat, are temporary files cleaned up, does a run
take as long at the end as at the start?

Generates N ads (default 200) one after another in this process, cycling through the ad-quality briefs and
the style presets, at a small size with the critic's read-back on (OCR and ASR: the caches most likely to
grow). Records the resident set size (RSS) after every run, files left in the system temp folder (outside
the runs folder), and seconds per run. Writes `benchmarks/results/soak.json`.

    python benchmarks/soak.py [--runs 200 --warmup 20] [--width 144 --height 256 --fps 12 --duration 4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.progress import Progress
from video_args import add_video_args, provenance

from recgen import Settings, generate_video
from recgen.sid.creative import PRESETS

HERE = Path(__file__).resolve().parent
BRIEFS = HERE / "briefs" / "ad_quality.json"
OUT = HERE / "results" / "soak.json"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def temp_entries(exclude: Path) -> set[str]:
    """Everything in this process's temp folder (a private one, see main) except the runs folder."""
    root = Path(tempfile.gettempdir())
    return {str(p) for p in root.rglob("*") if p != exclude and exclude not in p.parents and p not in exclude.parents}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_video_args(ap, 144, 256, 12, 4.0)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20, help="runs before the baseline RSS is taken")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--rescore", action="store_true", help="recompute the memory figures from the results file's series"
    )
    a = ap.parse_args()
    if a.rescore:
        result = json.loads(a.out.read_text(encoding="utf-8"))
        result |= memory(result["rss_series_mb"], a.warmup)
        a.out.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(memory(result["rss_series_mb"], a.warmup), indent=1))
        return
    briefs = json.loads(BRIEFS.read_text(encoding="utf-8"))["briefs"]
    presets = sorted(PRESETS)
    private = Path(tempfile.mkdtemp(prefix="recgen-soak-tmp-"))  # only this process's (and its ffmpegs') files
    os.environ["TMPDIR"], tempfile.tempdir = str(private), str(private)
    rss, seconds = [rss_mb()], []
    with tempfile.TemporaryDirectory(prefix="recgen-soak-") as tmp, Progress() as bar:
        runs_dir = Path(tmp)
        before = temp_entries(runs_dir)
        s = Settings(runs_dir=runs_dir, width=a.width, height=a.height, fps=a.fps, duration_s=a.duration)
        task = bar.add_task("runs", total=a.runs)
        for i in range(a.runs):
            b = briefs[i % len(briefs)]
            t0 = time.perf_counter()
            generate_video(b["product"], presets[i % len(presets)], settings=s, seed=i)
            seconds.append(time.perf_counter() - t0)
            rss.append(rss_mb())
            bar.advance(task)
        left = sorted(temp_entries(runs_dir) - before)
    result = {
        **provenance(),
        "settings": {"width": a.width, "height": a.height, "fps": a.fps, "duration_s": a.duration, "runs": a.runs},
        **memory(rss, a.warmup),
        "temp_files_left": len(left),
        "temp_left_examples": left[:10],
        "seconds_per_run": {
            "first_10": round(statistics.mean(seconds[:10]), 2),
            "last_10": round(statistics.mean(seconds[-10:]), 2),
            "median": round(statistics.median(seconds), 2),
        },
        "rss_series_mb": [round(x, 1) for x in rss],
        "targets": {"rss_growth_after_warmup": 0.05, "temp_files_left": 0},
    }
    print(json.dumps({k: v for k, v in result.items() if k != "rss_series_mb"}, indent=1))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n")
    _plot(rss, a.warmup, a.out.with_suffix(".png"))


def memory(rss: list[float], warmup: int, window: int = 20) -> dict:
    """RSS at points, and growth after warm-up both point to point (sensitive to the allocator's spikes) and
    between the medians of the first and last `window` runs after warm-up."""
    base, mid, end = rss[warmup], rss[(warmup + len(rss) - 1) // 2], rss[-1]
    first = statistics.median(rss[warmup + 1 : warmup + 1 + window])
    last = statistics.median(rss[-window:])
    return {
        "rss_mb": {
            "start": round(rss[0], 1),
            "after_warmup": round(base, 1),
            "middle": round(mid, 1),
            "end": round(end, 1),
        },  # fmt: skip
        "rss_growth_after_warmup": round((end - base) / base, 4),
        "rss_growth_window_medians": round((last - first) / first, 4),
        "rss_window_medians_mb": {"first": round(first, 1), "last": round(last, 1), "window": window},
    }


def _plot(rss: list[float], warmup: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(range(len(rss)), rss, lw=1.2)
    ax.axvline(warmup, ls="--", c="grey", lw=0.8)
    ax.set_xlabel("runs finished")
    ax.set_ylabel("RSS (MB)")
    ax.set_title("recgen soak: memory over consecutive runs in one process")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
