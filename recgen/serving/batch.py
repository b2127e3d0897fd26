"""Batch generation: many videos, each made once, written to the serving cache; on Ray or in-process.

Three stages, each a class that loads what it needs once and then handles one task at a time:
- `PlanStage` (CPU): the agents plan the video (the run stops after the visual plan, checkpointed);
- `RenderStage` (a GPU share when there is a GPU, a CPU otherwise): resumes the run: shots, audio, effects,
  compositing and the critic's rounds;
- `CacheStage` (CPU, one writer): adds the chosen draft to the video cache. On Ray the driver is that
  writer, as each row comes back: no actor process to start for a few milliseconds of work per video.

A task's run id is derived from its (product, creative codes), so a task retried after a worker died
resumes its own run from the last checkpoint instead of starting a second one, and the cache holds one
entry per key: nothing is lost or made twice. Tasks whose video is already cached are skipped, so a batch
that stopped part way is finished by running it again.

`local` runs the same stages in this process; `ray` runs them as Ray Data actor pools (`ray.data`, the
`batch` extra) on the cluster `ray.init()` finds, or a local one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from recgen.errors import InputError, RecgenError
from recgen.generate import generate_video
from recgen.schemas import DSID
from recgen.serving.cache import VideoCache, entry_key
from recgen.settings import Settings

PLAN_LAST = "visual"  # the plan is complete after this node; rendering starts at the next
PLAN_CPUS = 0.25  # a planning actor's CPU share on Ray: planning is about 2 % of a video's time (measured)
# one rendering actor per CPU, each held to one thread: a video's work (drawing, encoding, the voice, OCR,
# speech recognition) split over two threads keeps two cores only 86 % busy, and idle inference threads spin;
# two one-thread workers side by side made 12 videos in 32 s where one two-thread process took 44 s (measured)
RENDER_CPUS = 1
RENDER_MEMORY = 1.5 * 2**30  # a rendering actor held 1.4 GB at 144×256 (its models and frames; measured)
Executor = Literal["local", "ray"]


@dataclass(frozen=True)
class Task:
    product: str
    content: tuple[int, ...]  # the product's catalog content codes (the cache's nearest-content lookup)
    creative: tuple[int, ...]
    viewer: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return entry_key(self.product, self.creative)

    @property
    def run_id(self) -> str:
        return "batch-" + hashlib.sha1(self.key.encode()).hexdigest()[:16]

    def row(self) -> dict[str, str]:
        """The task as the stages pass it on (every stage's rows have these columns)."""
        return {"key": self.key, "product": self.product, "content": ".".join(map(str, self.content)),
                "creative": ".".join(map(str, self.creative)),
                "viewer": json.dumps(list(self.viewer)), "run_id": self.run_id, "final": "", "error": "",
                "seconds": "{}"}  # fmt: skip


def cache_of(settings: Settings) -> VideoCache:
    """The serving API's cache (the same folder `recgen serve` reads), for the catalog's D-SID space."""
    from recgen.sid.semantics import load_sid_space

    space = load_sid_space(settings.data_dir, settings.cache_dir, seed=0)
    return VideoCache(Path(settings.runs_dir) / "serving" / "cache", space=space.name)


def _settings(text: str) -> Settings:
    return Settings.model_validate_json(text)


class Stage:
    """One task at a time; a task that failed earlier passes through untouched, and a failure here is
    written into the row (one bad task must not stop a Ray dataset)."""

    name = "stage"  # (Ray wraps the class, so its own name is not the stage's)

    def run(self, row: dict[str, str]) -> dict[str, str]:
        raise NotImplementedError

    def step(self, row: dict[str, str]) -> dict[str, str]:
        """Run this stage on the row, adding its seconds to the row's `seconds` (by stage name)."""
        if row["error"]:
            return row
        t0 = time.perf_counter()
        try:
            out = self.run(row)
        except RecgenError as e:
            return {**row, "error": f"{self.name} stage: {e}"}
        seconds = json.loads(out["seconds"]) | {self.name: round(time.perf_counter() - t0, 3)}
        return {**out, "seconds": json.dumps(seconds)}

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        """Ray hands batches as columns; every stage takes batches of one task."""
        row = {k: str(np.asarray(v)[0]) for k, v in batch.items()}
        return {k: np.asarray([v]) for k, v in self.step(row).items()}


class PlanStage(Stage):
    name = "plan"

    def __init__(self, settings: str) -> None:
        from recgen.sid.semantics import load_sid_space

        self.s = _settings(settings)
        self.space = load_sid_space(self.s.data_dir, self.s.cache_dir, seed=0)  # loaded once per actor

    def run(self, row: dict[str, str]) -> dict[str, str]:
        folder = Path(self.s.runs_dir) / row["run_id"]
        if folder.is_dir() and not (folder / "run.json").is_file():  # died before its record: nothing to keep
            shutil.move(folder, folder.with_name(f"{folder.name}.broken-{int(time.time())}"))
        if not folder.is_dir():  # a run that exists was planned (or started) before: the next stage resumes it
            creative = DSID(content=(), creative=tuple(int(c) for c in row["creative"].split(".")))
            generate_video(self.space.catalog.get(row["product"]), creative, settings=self.s,
                           viewer=json.loads(row["viewer"]), run_id=row["run_id"], stop_after=PLAN_LAST)  # fmt: skip
        return row


class RenderStage(Stage):
    name = "render"

    def __init__(self, settings: str, crash_marker: str | None = None, own_process: bool = False) -> None:
        """`own_process`: this stage owns its process (a Ray worker), so torch's thread count, which is the
        process's, is held to the render threads too."""
        from recgen.generate import load_for_render

        self.s = _settings(settings)
        if own_process:
            import torch

            torch.set_num_threads(self.s.render_threads)
        load_for_render(self.s)  # a diffusers pipeline, the voice, OCR, ASR: once per actor, during the first plan
        self.crash_marker = Path(crash_marker) if crash_marker else None

    def _maybe_crash(self, node: str, _message: str) -> None:
        """Fault injection for the tests: the first worker to render a shot dies on the spot."""
        if self.crash_marker and node == "render_shot" and not self.crash_marker.exists():
            self.crash_marker.write_text(str(os.getpid()))
            os._exit(1)

    def run(self, row: dict[str, str]) -> dict[str, str]:
        r = generate_video(resume=row["run_id"], settings=self.s, on_event=self._maybe_crash)
        if r.final_path is None:
            raise RecgenError(f"run {row['run_id']} ended without a video (status {r.status})")
        return {**row, "final": str(r.final_path)}


class CacheStage(Stage):
    name = "cache"

    def __init__(self, settings: str) -> None:
        self.s = _settings(settings)
        self.cache = cache_of(self.s)

    def run(self, row: dict[str, str]) -> dict[str, str]:
        from recgen.runs import read_record
        from recgen.schemas import CriticReport
        from recgen.serving.service import cache_run

        record = read_record(Path(self.s.runs_dir) / row["run_id"])
        reports = [CriticReport.model_validate(r) for r in record.get("reports", [])]
        content, creative = (tuple(int(c) for c in row[k].split(".") if c) for k in ("content", "creative"))
        cache_run(self.cache, row["product"], DSID(content=content, creative=creative), Path(row["final"]),
                  row["run_id"], reports)  # fmt: skip
        return row


@dataclass
class BatchReport:
    total: int  # distinct videos asked for
    skipped: int  # already in the cache
    made: int
    failed: list[tuple[str, str]]  # (key, error)
    seconds: float
    executor: str
    stage_seconds: list[dict[str, float]] = field(default_factory=list)  # per video made, by stage
    layout: RayLayout | None = None  # the actors Ray ran (None: local, or nothing to make)

    @property
    def per_minute(self) -> float:
        return 60.0 * self.made / self.seconds if self.seconds > 0 else 0.0


def pending_tasks(tasks: Iterable[Task], settings: Settings) -> tuple[list[Task], int]:
    """The distinct tasks (one per product × creative codes) whose video is not cached yet, and how many
    were skipped for being cached."""
    cache, seen, todo, skipped = cache_of(settings), set(), [], 0
    for t in tasks:
        if t.key in seen:
            continue
        seen.add(t.key)
        if cache.get(t.key) is not None and cache.get(t.key).path.is_file():
            skipped += 1
        else:
            todo.append(t)
    return todo, skipped


@dataclass(frozen=True)
class RayLayout:
    renderers: int  # rendering actors
    render_cpus: float  # each one's CPU share
    gpu_share: float  # each one's GPU share (0: none)
    threads: int  # CPU threads each one's video may use

    @classmethod
    def plan(cls, cpus: float, gpus: float, planners: int, renderers: int = 0, gpu_share: float | None = None,
             on_gpu: bool = False, memory: float | None = None) -> RayLayout:  # fmt: skip
        """`renderers=0`: one rendering actor per GPU when shots are drawn on GPUs (each actor holds its own
        pipeline), else one per CPU the planners leave, but no more than the cluster's `memory` (bytes) holds,
        so a many-core machine with little memory runs fewer actors with more threads each. Each actor's
        threads are what its CPU share pays for."""
        free = max(0.5, cpus - PLAN_CPUS * planners)
        if not renderers:
            renderers = max(1, int(gpus)) if on_gpu and gpus else max(1, round(free / RENDER_CPUS))
            if memory:
                renderers = max(1, min(renderers, int(memory // RENDER_MEMORY)))
        render_cpus = max(0.5, free / renderers)
        if gpu_share is None:
            gpu_share = min(1.0, gpus / renderers) if on_gpu and gpus else 0.0
        return cls(renderers, render_cpus, gpu_share, max(1, round(render_cpus)))


def run_batch(tasks: Iterable[Task], settings: Settings, executor: Executor = "local", *, planners: int = 1,
              renderers: int = 0, gpu_share: float | None = None, on_done: Callable[[str], None] | None = None,
              crash_marker: Path | None = None) -> BatchReport:  # fmt: skip
    """Make every task's video not cached yet. `on_done(key)` after each video (progress displays). On Ray,
    `renderers=0` starts the actors `RayLayout.plan` sizes to the cluster."""
    todo, skipped = pending_tasks(tasks, settings)
    t0 = time.perf_counter()
    rows: list[dict[str, str]] = []
    layout = None
    if executor == "local":
        _run_local(todo, settings, on_done, rows)
    elif executor == "ray":
        layout = _run_ray(todo, settings, planners, renderers, gpu_share, on_done, crash_marker, rows)
    else:
        raise InputError(f"executor {executor!r}: choose local or ray")
    seconds = time.perf_counter() - t0
    failed = {r["key"]: r["error"] for r in rows if r["error"]}
    came_back = {r["key"] for r in rows}
    failed |= {t.key: "no result came back (see the Ray logs)" for t in todo if t.key not in came_back}
    made = sum(cache_of(settings).get(t.key) is not None for t in todo)
    stages = [json.loads(r["seconds"]) for r in rows if not r["error"]]
    return BatchReport(len(todo) + skipped, skipped, made, sorted(failed.items()), seconds, executor, stages, layout)


def _run_local(todo: list[Task], settings: Settings, on_done, rows: list) -> None:
    if not todo:
        return
    text = settings.model_dump_json()
    stages = (PlanStage(text), RenderStage(text), CacheStage(text))
    for t in todo:
        row = t.row()
        for stage in stages:
            row = stage.step(row)
        rows.append(row)
        if not row["error"] and on_done:
            on_done(t.key)


def _run_ray(todo, settings: Settings, planners: int, renderers: int, gpu_share: float | None, on_done,
             crash_marker: Path | None, rows: list) -> RayLayout | None:  # fmt: skip
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise InputError("--executor ray needs Ray Data: pip install 'recgen[batch]' (ray[data])") from e
    if not todo:
        return None
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    ray.data.DataContext.get_current().enable_progress_bars = False  # the caller shows its own
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    res = ray.cluster_resources()
    layout = RayLayout.plan(float(res.get("CPU", 1)), float(res.get("GPU", 0)), planners, renderers, gpu_share,
                            on_gpu=settings.video_backend == "diffusers", memory=res.get("memory"))  # fmt: skip
    text = settings.model_copy(update={"render_threads": 1}).model_dump_json()  # a planner's quarter CPU
    render_text = settings.model_copy(update={"render_threads": layout.threads}).model_dump_json()
    ds = ray.data.from_items([t.row() for t in todo], override_num_blocks=len(todo))
    ds = ds.map_batches(PlanStage, batch_size=1, fn_constructor_kwargs={"settings": text}, num_cpus=PLAN_CPUS,
                        compute=ray.data.ActorPoolStrategy(size=planners))  # fmt: skip
    ds = ds.map_batches(RenderStage, batch_size=1, num_cpus=layout.render_cpus, num_gpus=layout.gpu_share or None,
                        fn_constructor_kwargs={"settings": render_text, "own_process": True,
                                               "crash_marker": str(crash_marker or "") or None},
                        compute=ray.data.ActorPoolStrategy(size=layout.renderers))  # fmt: skip
    writer, done = CacheStage(text), set()
    for row in _rows_as_done(ds):
        if row["key"] in done:
            continue  # a retried block can come back twice; the cache holds it once either way
        row = writer.step(dict(row))
        rows.append(row)
        if not row["error"]:
            done.add(row["key"])
            if on_done:
                on_done(row["key"])
    return layout


def _rows_as_done(ds) -> Iterable[dict[str, str]]:
    """Each row as soon as its video is done: `iter_rows` (and any prefetching) holds a finished row back
    until the next one is done, a whole render later (its cache entry and progress with it)."""
    for batch in ds.iter_batches(batch_size=None, prefetch_batches=0, batch_format="numpy"):
        for i in range(len(next(iter(batch.values())))):
            yield {k: str(v[i]) for k, v in batch.items()}
