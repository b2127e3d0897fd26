"""API soak: `recgen serve` as a user runs it (its own process, real HTTP on loopback, a worker making small
videos with the critic on), under a long mixed stream of requests. Does its memory and its count of open
files stay flat, does every answer keep to the declared statuses, does it stay up?

The mix, drawn with a recorded seed: a user's video (a pool of `--users` of the GRM's users, so later asks
hit the cache, and a few new users without history where the GRM has any), a product's video in a style,
job status, the video file with a range (players seek), feedback batches of 1–50 events about videos
served, and hostile requests (an unknown user, a body that is not JSON, an id that is not an id, a body past
the size limit). `--clients` threads send them at `--rate` requests per second (an arrival schedule; a slow
answer delays only its own client). Every `--sample` requests the server's resident memory (VmRSS) and its
open file descriptors are read from /proc; the slopes per 1,000 requests after the first `--warmup` are
fitted by least squares, over every sample and over the floor of each 1,000 (the lowest reading: a sample
taken while the worker renders holds that render's buffers, a few hundred MB). Writes
benchmarks/results/api_soak.json.

    python benchmarks/api_soak.py [--requests 5000 --rate 10 --clients 4] [--grm CKPT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import numpy as np
from readme_tables import replace_block
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from serve_load import free_port, grm_checkpoint
from video_args import add_video_args, provenance

from recgen.settings import Settings
from recgen.sid.creative import PRESETS
from recgen.sid.recommender import load_recommender

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "api_soak.json"
MIX = {"user": 0.35, "product": 0.08, "job": 0.15, "range": 0.17, "feedback": 0.17, "hostile": 0.08}
DECLARED = {  # the statuses each kind may answer (the OpenAPI schema's, for these requests)
    "user": {200, 202, 503},
    "product": {200, 202, 503},
    "job": {200},
    "range": {200, 206, 404},  # 404: a video evicted since it was served (none is, at the default cache size)
    "feedback": {200},
    "hostile": {400, 404, 413, 422},
}


def proc_stats(pid: int) -> tuple[float, int]:
    """(resident MB, open file descriptors) of a process, from /proc."""
    rss = next(int(ln.split()[1]) for ln in Path(f"/proc/{pid}/status").read_text().splitlines()
               if ln.startswith("VmRSS:"))  # fmt: skip
    return rss / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def floor_slope(samples: list[dict], warmup: int, window: int = 1000) -> tuple[list[float], float | None]:
    """The lowest memory in each window of `window` requests after the warm-up (the server between renders:
    a sample taken mid-render reads the render's own buffers), and its slope per 1,000 requests."""
    floors: dict[int, float] = {}
    for sm in samples:
        if sm["requests"] > warmup:
            w = (sm["requests"] - warmup - 1) // window
            floors[w] = min(floors.get(w, float("inf")), sm["rss_mb"])
    xs = sorted(floors)
    return [round(floors[w], 1) for w in xs], slope_per_1000([warmup + (w + 0.5) * window for w in xs],
                                                             [floors[w] for w in xs])  # fmt: skip


def slope_per_1000(x: list[int], y: list[float]) -> float | None:
    if len(x) < 3:
        return None
    return float(np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)[0] * 1000)


class Traffic:
    """What the clients know: videos served (for ranges and feedback), jobs made (for status)."""

    def __init__(self, users: list[str], new_users: list[str], products: list[str], seed: int) -> None:
        self.users, self.new_users, self.products = users, new_users, products
        self.rng = np.random.default_rng(seed)
        self.lock = threading.Lock()
        self.videos: list[dict] = []
        self.jobs: list[str] = []
        self.events = 0

    def pick(self) -> str:
        with self.lock:
            kinds = list(MIX)
            kind = kinds[int(self.rng.choice(len(kinds), p=list(MIX.values())))]
            if kind in ("job",) and not self.jobs or kind in ("range", "feedback") and not self.videos:
                kind = "user"
            return kind

    def request(self, kind: str) -> tuple[str, str, dict]:
        """(method, path, httpx keyword arguments) of one request of this kind."""
        with self.lock:
            r = self.rng
            if kind == "user":
                pool = self.new_users if r.random() < 0.05 else self.users
                return "POST", f"/v1/users/{pool[int(r.integers(len(pool)))]}/video", {}
            if kind == "product":
                style = sorted(PRESETS)[int(r.integers(len(PRESETS)))]
                return "POST", "/v1/videos", {"json": {"product": self.products[int(r.integers(len(self.products)))],
                                                       "creative": style}}  # fmt: skip
            if kind == "job":
                return "GET", f"/v1/jobs/{self.jobs[int(r.integers(len(self.jobs)))]}", {}
            if kind == "range":
                v = self.videos[int(r.integers(len(self.videos)))]
                start = int(r.integers(0, 4096))
                return "GET", v["url"], {"headers": {"range": f"bytes={start}-{start + int(r.integers(1, 65536))}"}}
            if kind == "feedback":
                events = []
                for _ in range(int(r.integers(1, 51))):
                    v = self.videos[int(r.integers(len(self.videos)))]
                    self.events += 1
                    ev = {"event_id": f"soak-{self.events}", "user": self.users[int(r.integers(len(self.users)))],
                          "dsid": v["dsid"], "item": int(v["product"]), "kind": "impression"}  # fmt: skip
                    if r.random() < 0.3:
                        ev |= {"kind": "watch", "watch_seconds": round(float(r.random() * 4), 2)}
                    events.append(ev)
                return "POST", "/v1/feedback", {"json": events}
            bad = int(r.integers(4))
            if bad == 0:
                return "POST", "/v1/users/no-such-user/video", {}
            if bad == 1:
                return "POST", "/v1/videos", {"content": b"{not json", "headers": {"content-type": "application/json"}}
            if bad == 2:
                return "GET", "/v1/jobs/not-a-job", {}
            return "POST", "/v1/videos", {"content": b"x" * 70_000, "headers": {"content-type": "application/json"}}

    def learn(self, body: dict) -> None:
        with self.lock:
            if body.get("video"):
                self.videos.append(body["video"])
            if body.get("job") and body["job"].get("id"):
                self.jobs.append(body["job"]["id"])


def soak(a, grm: Path, work: Path, console) -> dict:
    rec = load_recommender(grm)
    users = [u for u in rec.data.users[: a.users * 2] if len(rec.history(u))][: a.users]
    new_users = [u for u in rec.data.users if not len(rec.history(u))] or users[:1]
    step = 12101 // a.products
    traffic = Traffic(users, new_users, [str(i) for i in range(0, step * a.products, step)], a.seed)
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "recgen"), "serve", "--grm", str(grm), "--runs-dir", str(work / "runs"),
           "--port", str(port), "--width", str(a.width), "--height", str(a.height), "--duration", str(a.duration),
           "--queue-size", str(a.queue_size)]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "w"))  # noqa: SIM115
    base = f"http://127.0.0.1:{port}"
    samples: list[dict] = []
    statuses: dict[str, Counter] = defaultdict(Counter)
    latency: dict[str, list[float]] = defaultdict(list)
    undeclared: list[str] = []
    done = 0
    lock = threading.Lock()
    t0 = time.perf_counter()
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            for _ in range(600):  # the server loads the catalog space and the GRM before it listens
                try:
                    if c.get("/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    break
                time.sleep(0.5)
            else:
                server.kill()
            if server.poll() is not None:
                raise SystemExit("the server stopped: " + (work / "server.log").read_text()[-2000:])
        samples.append({"requests": 0, "seconds": 0.0, "rss_mb": proc_stats(server.pid)[0],
                        "fds": proc_stats(server.pid)[1]})  # fmt: skip

        def client() -> None:
            nonlocal done
            with httpx.Client(base_url=base, timeout=60) as c:
                while True:
                    with lock:
                        if done >= a.requests:
                            return
                        done += 1
                        n = done
                    time.sleep(max(0.0, t0 + n / a.rate - time.perf_counter()))  # the arrival schedule
                    kind = traffic.pick()
                    method, path, kw = traffic.request(kind)
                    t = time.perf_counter()
                    r = c.request(method, path, **kw)
                    with lock:
                        latency[kind].append(time.perf_counter() - t)
                        statuses[kind][r.status_code] += 1
                        if r.status_code not in DECLARED[kind] and len(undeclared) < 20:
                            undeclared.append(f"{kind} {method} {path[:80]} → {r.status_code} {r.text[:160]}")
                    if kind in ("user", "product") and r.status_code in (200, 202):
                        traffic.learn(r.json())
                    if n % a.sample == 0:
                        rss, fds = proc_stats(server.pid)
                        with lock:
                            samples.append({"requests": n, "seconds": round(time.perf_counter() - t0, 1),
                                            "rss_mb": round(rss, 1), "fds": fds})  # fmt: skip
                            bar.update(task, completed=n)

        with Progress(console=console) as bar:
            task = bar.add_task("requests", total=a.requests)
            threads = [threading.Thread(target=client) for _ in range(a.clients)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
        seconds = time.perf_counter() - t0
        with httpx.Client(base_url=base, timeout=30) as c:
            health = c.get("/v1/health").json()
        alive = server.poll() is None
    finally:
        server.terminate()
        server.wait(30)
    late = [s for s in samples if s["requests"] >= a.warmup]
    x = [s["requests"] for s in late]
    return {
        "requests": done,
        "seconds": round(seconds, 1),
        "requests_per_second": round(done / seconds, 1),
        "server_alive_at_end": alive,
        "statuses": {k: dict(sorted(v.items())) for k, v in statuses.items()},
        "undeclared": undeclared,
        "server_errors": sum(n for v in statuses.values() for code, n in v.items() if code >= 500 and code != 503),
        "latency_ms": {
            k: {
                "p50": round(float(np.percentile(v, 50)) * 1000, 1),
                "p99": round(float(np.percentile(v, 99)) * 1000, 1),
            }
            for k, v in latency.items()
        },  # fmt: skip
        "videos_made": health["queue"].get("done", 0),
        "videos_cached": health["videos"],
        "feedback_events_sent": traffic.events,
        "rss_mb": {
            "start": samples[0]["rss_mb"],
            "after_warmup": late[0]["rss_mb"] if late else None,
            "end": samples[-1]["rss_mb"],
            "max": max(s["rss_mb"] for s in samples),
        },  # fmt: skip
        "fds": {"start": samples[0]["fds"], "end": samples[-1]["fds"], "max": max(s["fds"] for s in samples)},
        "rss_mb_per_1000_requests": slope_per_1000(x, [s["rss_mb"] for s in late]),
        "rss_floor_mb_by_1000": (floor := floor_slope(samples, a.warmup))[0],
        "rss_floor_mb_per_1000_requests": floor[1],
        "fds_per_1000_requests": slope_per_1000(x, [s["fds"] for s in late]),
        "samples": samples,
    }


def report(result: dict, console) -> None:
    t = Table(title=f"API soak: {result['requests']:,} requests in {result['seconds']:.0f} s")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for name, value in (
        ("server up at the end", str(result["server_alive_at_end"])),
        ("5xx other than a full queue's 503", str(result["server_errors"])),
        ("answers outside the declared statuses", str(len(result["undeclared"]))),
        ("resident memory MB: start / end / max", "{start} / {end} / {max}".format(**result["rss_mb"])),
        ("memory slope after warm-up, MB per 1,000 requests", f"{result['rss_mb_per_1000_requests']:+.2f}"),
        ("its floor's slope (lowest of each 1,000)", f"{result['rss_floor_mb_per_1000_requests']:+.2f}"),
        ("open files: start / end / max", "{start} / {end} / {max}".format(**result["fds"])),
        ("open-file slope, per 1,000 requests", f"{result['fds_per_1000_requests']:+.2f}"),
        ("videos made by the worker", str(result["videos_made"])),
        ("feedback events sent", f"{result['feedback_events_sent']:,}"),
    ):
        t.add_row(name, value)
    console.print(t)
    for line in result["undeclared"]:
        console.print(f"[red]undeclared:[/red] {line}")


def readme_table(r: dict) -> str:
    """The README's table, from the results file."""
    rows = [
        ("requests, of which hostile", f"{r['requests']:,} in {r['seconds']:.0f} s, "
         f"{sum(r['statuses'].get('hostile', {}).values()):,} hostile"),
        ("server up at the end; 5xx other than a full queue's 503",
         f"{r['server_alive_at_end']}; {r['server_errors']}"),
        ("answers outside the declared statuses", str(len(r["undeclared"]))),
        ("resident memory MB: start, after warm-up, end (max)",
         f"{r['rss_mb']['start']:.0f}, {r['rss_mb']['after_warmup']:.0f}, {r['rss_mb']['end']:.0f} "
         f"({r['rss_mb']['max']:.0f})"),
        (f"memory slope after {r['settings']['warmup']:,} requests: every sample; the floor of each 1,000",
         f"{r['rss_mb_per_1000_requests']:+.1f} MB per 1,000; {r['rss_floor_mb_per_1000_requests']:+.1f} MB per 1,000 "
         f"({', '.join(f'{v:.0f}' for v in r['rss_floor_mb_by_1000'])} MB)"),
        ("open files: start, end (max)", f"{r['fds']['start']}, {r['fds']['end']} ({r['fds']['max']})"),
        ("open-file slope after warm-up", f"{r['fds_per_1000_requests']:+.1f} per 1,000"),
        ("videos made by the worker; feedback events recorded",
         f"{r['videos_made']}; {r['feedback_events_sent']:,}"),
        ("p50 / p99 ms: user video, range, feedback batch",
         " · ".join(f"{r['latency_ms'][k]['p50']:.0f} / {r['latency_ms'][k]['p99']:.0f}"
                    for k in ("user", "range", "feedback") if k in r["latency_ms"])),
    ]  # fmt: skip
    return "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_video_args(ap, 144, 256, 12, 4.0)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rate", type=float, default=10.0, help="requests per second, all clients together")
    ap.add_argument("--users", type=int, default=40, help="users who ask for their video (the cache fills)")
    ap.add_argument("--products", type=int, default=10, help="products asked for in a style")
    ap.add_argument("--sample", type=int, default=100, help="read the server's memory every N requests")
    ap.add_argument("--warmup", type=int, default=1000, help="requests before the slopes are fitted")
    ap.add_argument("--queue-size", type=int, default=32)
    ap.add_argument("--grm", type=Path, help="GRM checkpoint with creative codes (default: serve_load's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    console = Console()
    s = Settings()
    grm = grm_checkpoint(a, s, console)
    with tempfile.TemporaryDirectory() as tmp:
        result = soak(a, grm, Path(tmp), console)
    out = {**provenance(), "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
           "mix": MIX, **result}  # fmt: skip
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1) + "\n")
    report(out, console)
    if a.out == OUT:
        console.print(replace_block("api_soak", "api_soak.py", readme_table(out)))


if __name__ == "__main__":
    main()
