"""Serving under load, on loopback only, every loop bounded in count and time.

1. Online path latency: `recgen serve`'s app under uvicorn on 127.0.0.1, POST /v1/users/{user}/video at
   fixed arrival rates (open loop: latency counted from each request's scheduled time, so a slow server
   is not hidden by clients that wait), rising until p99 passes 200 ms or the top rate. The GRM beam
   and the cache lookup run for real; jobs for missing videos are queued but not rendered (a no-op
   worker), so this measures the online path alone. Half the proposed D-SIDs are cached beforehand.
2. Cache hit rate over a replayed day: users of the GRM's data arrive once per history step (step t
   asks with the first t items), their arrivals spread over 24 h in history order; a missing D-SID is
   queued and one worker makes it in `--render-seconds` (measured in part 3 at the benchmark's size,
   unless given), after which the cache serves it. The hit / same-content / nearest shares per window.
3. Batch throughput: the same distinct videos made by the local executor and by Ray (a local Ray,
   num_cpus = this machine's cores), each into a fresh cache; videos per minute with and without Ray's
   start, and the seconds each stage took per video — from which the scaling per added rendering
   worker is estimated.

Writes benchmarks/results/serve_load.json.

    python benchmarks/serve_load.py [--grm CKPT] [--batch-videos 8] [--skip-batch]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import socket
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from video_args import add_video_args, provenance

from recgen.serving.api import serve
from recgen.serving.batch import RayLayout, Task, run_batch
from recgen.serving.cache import VideoCache
from recgen.serving.guard import Guard
from recgen.serving.queue import JobQueue
from recgen.serving.service import VideoService, propose
from recgen.settings import Settings
from recgen.sid.grm_train import TrainConfig
from recgen.sid.recommender import load_recommender, train_recommender
from recgen.sid.semantics import load_sid_space

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "serve_load.json"
RATES = (10, 25, 50, 75, 100, 150, 200, 300)
CASES = ("hit", "content", "nearest", "miss")


def grm_checkpoint(a, s: Settings, console) -> Path:
    if a.grm:
        return a.grm
    out = Path("bench_out") / "serve_load_grm.pt"
    if not out.is_file():
        console.print("training a GRM with creative codes (4,000 users, 5 epochs; d 128, 2 layers) …")
        cfg = TrainConfig(epochs=5, patience=5, min_epochs=5, eval_users=300, batch_size=256, lr=2e-3, seed=0)
        out.parent.mkdir(parents=True, exist_ok=True)
        train_recommender(s.data_dir, out, users=4000, creative=True, cache_dir=s.cache_dir, train_cfg=cfg,
                          model_cfg={"d_model": 128, "n_layer": 2, "history": "items", "seen_bias": False,
                                     "constrained": False})  # fmt: skip
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_video(folder: Path) -> Path:
    """A stand-in file for cached entries in parts 1 and 2 (their content is never read there)."""
    path = folder / "stand-in.mp4"
    path.write_bytes(b"\0" * 1024)
    return path


def prefill(service: VideoService, users: list[str], share: float, stand_in: Path) -> int:
    """Cache the proposed D-SIDs of `share` of the users (distinct ones), so requests see every case."""
    n = 0
    for u in users[: int(len(users) * share)]:
        product, dsid, _ = service.propose(u)
        service.cache.put(product, dsid.content, dsid.creative, stand_in)
        n += 1
    return n


def open_loop(url: str, users: list[str], rate: float, seconds: float, clients: int, least: int = 0) -> dict:
    """Requests at `rate` per second for `seconds`, or for `least` requests if that takes longer (a p99 of
    fewer than a few hundred is its maximum); latency from each one's scheduled time. One asyncio loop
    sends them all (threads would fight the server for the same two cores' interpreter time)."""
    n = max(int(rate * seconds), least)
    lat, server, codes = np.zeros(n), np.zeros(n), {}

    async def run() -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:
            start = time.perf_counter() + 0.2

            async def one(i: int) -> None:
                when = start + i / rate
                await asyncio.sleep(max(0.0, when - time.perf_counter()))
                r = await client.post(f"/v1/users/{users[i % len(users)]}/video")
                lat[i] = time.perf_counter() - when
                server[i] = float(r.headers.get("server-timing", "app;dur=0").split("dur=")[1]) / 1000
                codes[r.status_code] = codes.get(r.status_code, 0) + 1

            await asyncio.gather(*(one(i) for i in range(n)))

    asyncio.run(run())
    ms = lat * 1000
    return {"rate": rate, "requests": n, "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p90_ms": round(float(np.percentile(ms, 90)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "max_ms": round(float(ms.max()), 2), "status": {str(k): v for k, v in sorted(codes.items())},
            "server_p50_ms": round(float(np.percentile(server, 50) * 1000), 2),
            "server_p99_ms": round(float(np.percentile(server, 99) * 1000), 2)}  # fmt: skip


def quiet_service(s: Settings, grm: Path) -> VideoService:
    """The service with a worker that renders nothing: jobs are queued and finished at once (part 1 measures
    the online path alone)."""
    service = VideoService(s, grm)
    service.queue.close()
    service.queue = JobQueue(service.queue.path, lambda job, progress: {}, workers=1, capacity=10**6)
    return service


def serve_in_process(settings_json: str, grm: str, port: int) -> None:
    """The server's own process (spawned): the load generator's threads must not share its interpreter."""
    s = Settings.model_validate_json(settings_json)
    serve(quiet_service(s, Path(grm)), Guard.for_bind("127.0.0.1"), port=port)  # as `recgen serve` does


def online(a, s: Settings, grm: Path, console) -> dict:
    service = quiet_service(s, grm)
    rec = service.recommender
    rng = np.random.default_rng(0)
    users = [rec.data.users[i] for i in rng.choice(len(rec.data.users), a.online_users, replace=False)]
    cached = prefill(service, users, 0.5, tiny_video(Path(s.runs_dir)))
    t0 = time.perf_counter()
    for u in users[:200]:
        service.for_user(u)
    in_process_ms = (time.perf_counter() - t0) / 200 * 1000
    service.close()
    del service, rec
    gc.collect()
    gc.freeze()  # this process measures: a full collection over what it loaded would count as server time
    port = free_port()
    server = mp.get_context("spawn").Process(target=serve_in_process, args=(s.model_dump_json(), str(grm), port))
    server.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):  # up to 60 s for the model to load
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    steps = []
    try:
        open_loop(url, users, 20, 5.0, a.clients)  # warm-up
        for rate in RATES:
            step = open_loop(url, users, rate, a.step_seconds, a.clients, least=400)
            steps.append(step)
            console.print(f"  {rate:>4} req/s: p50 {step['p50_ms']:.1f} ms, p99 {step['p99_ms']:.1f} ms")
            if step["p99_ms"] > 200:
                break
    finally:
        server.terminate()
        server.join(10)
    ok = [x["rate"] for x in steps if x["p99_ms"] <= 100]
    return {"users": len(users), "cached_beforehand": cached, "in_process_ms_per_request": round(in_process_ms, 2),
            "steps": steps, "max_rate_p99_within_100ms": max(ok) if ok else None}  # fmt: skip


def replay(a, s: Settings, grm: Path, render_seconds: float, console) -> dict:
    """Part 2 (see the module's docstring), against the real cache lookups."""
    rec = load_recommender(grm)
    space = load_sid_space(s.data_dir, s.cache_dir, seed=0)
    rng = np.random.default_rng(1)
    users = [rec.data.users[i] for i in rng.choice(len(rec.data.users), a.replay_users, replace=False)]
    arrivals = [(u, t) for t in range(1, 1 + max(len(rec.history(u)) for u in users)) for u in users
                if t <= len(rec.history(u))]  # fmt: skip
    arrivals = arrivals[: a.replay_requests]
    day = 86400.0
    times = np.linspace(0, day, len(arrivals), endpoint=False)
    cache = VideoCache(Path(s.runs_dir) / "replay-cache", space=space.name)
    stand_in = tiny_video(Path(s.runs_dir))
    queue: list[tuple[float, str, tuple, tuple]] = []  # (queued at, product, content, creative), FIFO
    queued: set[tuple[str, tuple]] = set()
    free_at, cases = 0.0, []
    with Progress(console=console) as bar:
        task = bar.add_task("replayed requests", total=len(arrivals))
        for (user, t), now in zip(arrivals, times, strict=True):
            while queue and max(free_at, queue[0][0]) + render_seconds <= now:  # the worker finishes what it can
                at, product, content, creative = queue.pop(0)
                free_at = max(free_at, at) + render_seconds
                cache.put(product, content, creative, stand_in)
            product_id, d, _ = propose(rec, space, None, user, history=rec.history(user)[:t])  # the whole catalog
            content = d.content
            found = cache.lookup(product_id, content, d.creative)
            cases.append(found.case)
            if found.case != "hit" and (product_id, d.creative) not in queued:
                queued.add((product_id, d.creative))
                queue.append((now, product_id, content, d.creative))
            bar.advance(task)
    window = max(1, len(cases) // 20)
    curve = []
    for i in range(0, len(cases), window):
        part = cases[i : i + window]
        shares = {c: round(part.count(c) / len(part), 4) for c in CASES}
        curve.append({"requests_before": i, "hour": round(float(times[i] / 3600), 2), **shares})
    total = {c: round(cases.count(c) / len(cases), 4) for c in CASES}
    return {"users": len(users), "requests": len(cases), "render_seconds": render_seconds,
            "requests_per_second": round(len(cases) / day, 4), "distinct_dsids": len(queued),
            "distinct_products": len({p for p, _ in queued}), "space": space.name, "grm_codes": rec.info.get("codes"),
            "overall": total, "curve": curve}  # fmt: skip


# the first four are the benchmark's usual styles; the other presets make batches past 4 × the catalog distinct
STYLES = ("calm-luxury", "bold-discount", "warm-natural", "energetic-ugc", "playful-pastel", "clean-clinical",
          "dramatic-noir", "fresh-botanical")  # fmt: skip


def steady_rate(done_at: list[float]) -> float | None:
    """Videos per minute after the start: from the first fifth of the videos done to the last, so the actors'
    start (imports, models) and the first video's wait are left out, as in a long batch."""
    if len(done_at) < 5:
        return None
    k = len(done_at) // 5
    return round((len(done_at) - 1 - k) / (done_at[-1] - done_at[k]) * 60, 2)


def batch(a, s: Settings, console) -> dict:
    """Part 3: the same distinct videos by the local executor, then by Ray (a local one) with the rendering
    actors `--ray-renderers` asks for (default: the layout `recgen batch` picks), each into a fresh runs
    folder and cache."""
    import ray

    space = load_sid_space(s.data_dir, s.cache_dir, seed=0)
    styles = STYLES[:4] if a.batch_videos <= 4 * len(space.catalog.products) else STYLES
    products = space.catalog.products
    # distinct (product, style) videos: every product once in a style, then again in the next style, …
    pairs = [(p, styles[(j + k) % len(styles)]) for k in range(len(styles)) for j, p in enumerate(products)]
    if a.batch_videos > len(pairs):
        raise SystemExit(f"--batch-videos: the catalog makes at most {len(pairs)} distinct videos")
    tasks = []
    for p, style in pairs[: a.batch_videos]:
        d = space.dsid_for(p, style)
        tasks.append(Task(p.id, d.content, d.creative))
    out: dict = {"videos": len(tasks), "cores": a.cores}
    t0 = time.perf_counter()
    ray.init(num_cpus=a.cores, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    out["ray_start_seconds"] = round(time.perf_counter() - t0, 1)
    memory = ray.cluster_resources().get("memory")  # what run_batch sizes its actors by, for the names below
    layouts = {n: RayLayout.plan(a.cores, 0, 1, n, memory=memory) for n in (a.ray_renderers or [0])}
    configs = [("local", "local", 0)] + [
        (f"ray, {x.renderers} rendering actor{'s' if x.renderers > 1 else ''} of {x.threads} thread"
         f"{'s' if x.threads > 1 else ''}" + (" (default)" if n == 0 else ""), "ray", n) for n, x in layouts.items()
    ]  # fmt: skip
    for name, executor, renderers in configs:
        settings = s.model_copy(update={"runs_dir": Path(s.runs_dir) / f"batch-{len(out)}"})
        done_at: list[float] = []
        with Progress(console=console) as bar:
            job = bar.add_task(f"batch ({name})", total=len(tasks))
            t_batch = time.perf_counter()

            def done(_key: str, j=job, t_batch=t_batch, done_at=done_at) -> None:
                done_at.append(time.perf_counter() - t_batch)
                bar.advance(j)

            report = run_batch(tasks, settings, executor, renderers=renderers, on_done=done)
        stage = {k: round(float(np.mean([x[k] for x in report.stage_seconds])), 2) for k in report.stage_seconds[0]}
        out[name] = {"made": report.made, "failed": len(report.failed), "seconds": round(report.seconds, 1),
                     "videos_per_minute": round(report.per_minute, 2), "stage_seconds_per_video": stage,
                     "first_video_seconds": round(done_at[0], 1) if done_at else None,
                     "steady_videos_per_minute": steady_rate(done_at)}  # fmt: skip
        if report.layout is not None:  # what ran
            out[name] |= {"rendering_actors": report.layout.renderers, "threads_per_actor": report.layout.threads}
    ray.shutdown()
    name = next((c[0] for c in configs if c[2] == 0 and c[1] == "ray"), configs[-1][0])  # the default layout's
    per_actor = out[name]["stage_seconds_per_video"]
    render = per_actor.get("render", 0.0) + per_actor.get("cache", 0.0)
    out["expected_per_added_render_worker"] = {
        "layout": name,
        "videos_per_minute_each": round(60 / render, 2) if render else None,
        "plan_seconds_per_video": per_actor.get("plan", 0.0),
        "note": "each rendering actor of the layout above took the render seconds above per video; an added "
        "actor on a CPU of its own adds about 60 / those seconds videos per minute, until the planners (plan "
        "seconds per video each, a quarter CPU each) or the driver's cache writes saturate. Only up to this "
        "machine's cores could be measured; the Ray start and the actors' start are paid once per batch",
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_video_args(ap, 144, 256, 12, 6.0)
    ap.add_argument("--grm", type=Path, help="GRM checkpoint with creative codes (default: train a small one)")
    ap.add_argument("--online-users", type=int, default=2000)
    ap.add_argument("--step-seconds", type=float, default=8.0, help="seconds at each request rate")
    ap.add_argument("--clients", type=int, default=64, help="connections of the load generator")
    ap.add_argument("--replay-users", type=int, default=2000)
    ap.add_argument("--replay-requests", type=int, default=8000)
    ap.add_argument("--render-seconds", type=float, help="seconds one worker takes per video (default: part 3's)")
    ap.add_argument("--batch-videos", type=int, default=12)
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--only-batch", action="store_true", help="part 3 alone (a long batch into its own --out)")
    ap.add_argument("--only-replay", action="store_true", help="part 2 alone (give --render-seconds)")
    ap.add_argument("--ray-renderers", type=int, nargs="*",
                    help="Ray rendering actors to measure, 0 for the default layout (default: 0)")  # fmt: skip
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    import os

    a.cores = os.cpu_count() or 2
    console = Console()
    t_start = time.perf_counter()
    result = {**provenance()}
    with tempfile.TemporaryDirectory() as tmp:
        s = Settings(runs_dir=Path(tmp) / "runs", width=a.width, height=a.height, fps=a.fps, duration_s=a.duration)
        if a.only_batch:
            result["settings"] = {"width": a.width, "height": a.height, "fps": a.fps, "duration_s": a.duration}
            result["batch"] = batch(a, s, console)
            return _write(a, result, t_start, console)
        grm = grm_checkpoint(a, s, console)
        result["settings"] = {"width": a.width, "height": a.height, "fps": a.fps, "duration_s": a.duration,
                              "grm": str(grm), "clients": a.clients, "step_seconds": a.step_seconds}  # fmt: skip
        if a.only_replay:
            if not a.render_seconds:
                raise SystemExit("--only-replay needs --render-seconds (a worker's seconds per video)")
            console.print("[bold]2. cache hit rate over a replayed day[/bold]")
            result["replay"] = replay(a, s.model_copy(update={"runs_dir": Path(tmp) / "replay"}), grm, a.render_seconds,
                                      console)  # fmt: skip
            return _write(a, result, t_start, console)
        if not a.skip_batch:
            console.print("[bold]3. batch throughput[/bold]")
            result["batch"] = batch(a, s, console)
        render_s = a.render_seconds or (
            result["batch"]["local"]["seconds"] / max(1, result["batch"]["local"]["made"]) if "batch" in result else 5.0
        )  # one worker: the local executor's seconds per video
        console.print("[bold]1. online path latency[/bold]")
        result["online"] = online(a, s.model_copy(update={"runs_dir": Path(tmp) / "online"}), grm, console)
        console.print("[bold]2. cache hit rate over a replayed day[/bold]")
        result["replay"] = replay(a, s.model_copy(update={"runs_dir": Path(tmp) / "replay"}), grm, render_s, console)
    _write(a, result, t_start, console)


def _write(a, result: dict, t_start: float, console) -> None:
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n")
    report(result, console)


def report(result: dict, console) -> None:
    if "online" not in result and "batch" in result:
        return _report_batch(result["batch"], console)
    if "online" not in result:
        r = result["replay"]
        return console.print(f"replay: {r['requests']} requests, overall {r['overall']}, distinct D-SIDs "
                             f"{r['distinct_dsids']} of {r['distinct_products']} products")  # fmt: skip
    t = Table("rate (req/s)", "p50 ms", "p90 ms", "p99 ms", "statuses")
    for x in result["online"]["steps"]:
        t.add_row(str(x["rate"]), f"{x['p50_ms']:.1f}", f"{x['p90_ms']:.1f}", f"{x['p99_ms']:.1f}", str(x["status"]))
    console.print(t)
    r = result["replay"]
    console.print(f"replay: {r['requests']} requests, overall {r['overall']}, distinct D-SIDs {r['distinct_dsids']}")
    if "batch" in result:
        _report_batch(result["batch"], console)


def _report_batch(b: dict, console) -> None:
    for name, x in b.items():
        if isinstance(x, dict) and "made" in x:
            console.print(
                f"batch, {name}: {x['videos_per_minute']} videos/min ({x.get('steady_videos_per_minute')} after the "
                f"first fifth), stages {x['stage_seconds_per_video']}"
            )


if __name__ == "__main__":
    main()
