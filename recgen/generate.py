"""generate_video: product + creative (preset or D-SID) → a run folder with final.mp4, resumable."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langgraph.types import Command
from pydantic import ValidationError

from recgen.agents.builtin import BuiltinPolicy
from recgen.agents.context import Policy
from recgen.agents.review import check_edits
from recgen.errors import InputError, RecgenError, RunStoreError, one_line
from recgen.graphs.video import build_video_graph
from recgen.preflight import preflight
from recgen.runs import (
    RunFolder,
    RunLock,
    checkpoint_db,
    checkpoint_error,
    checkpointer,
    ensure_writable,
    new_run_id,
    remove_partials,
    storage_error,
)
from recgen.runtime import RunConfig, attach, build_context, detach
from recgen.schemas import DSID, CriticReport, GenerationRequest, Product, ReviewEdits, VideoState
from recgen.settings import Settings
from recgen.sid.catalog import load_product_json, product_from_dict
from recgen.sid.semantics import SIDSpace, load_sid_space


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    final_path: Path | None
    state: VideoState
    status: str = "done"  # done | flagged (final, with failed checks) | paused | review (waiting for approval)

    @property
    def reports(self) -> list[CriticReport]:
        return self.state.reports


def resolve_product(product: str | Product | dict, space: SIDSpace) -> Product:
    """A catalog id, a product JSON string or file, a dict, or a Product."""
    if isinstance(product, Product):
        return product
    if isinstance(product, dict):
        return product_from_dict(product)
    text = str(product).strip()
    if text.startswith(("{", "[")) or text.endswith(".json"):
        return load_product_json(text)
    return space.catalog.get(text)


def with_offer(product: Product, price: float | None, discount_pct: int | None) -> Product:
    update = {k: v for k, v in (("price", price), ("discount_pct", discount_pct)) if v is not None}
    if not update:
        return product
    try:
        return Product(**{**product.model_dump(), **update})
    except ValueError as e:
        raise InputError(f"invalid offer: {one_line(e)}") from e


def generate_video(
    product: str | Product | dict | None = None,
    creative: str | DSID = "calm-luxury",
    *,
    settings: Settings | None = None,
    seed: int | None = None,
    duration_s: float | None = None,
    price: float | None = None,
    discount_pct: int | None = None,
    policy: Policy | None = None,
    run_id: str | None = None,
    resume: str | None = None,
    stop_after: str | None = None,
    review: bool = False,
    decision: ReviewEdits | dict | None = None,
    on_event: Callable[[str, str], None] | None = None,
    viewer: list[int] | tuple[int, ...] = (),
) -> RunResult:
    """Generate a personalised ad video, or resume an interrupted run (`resume=<run id>`).

    `creative` is a preset name (see recgen.sid.creative.PRESETS), a D-SID as text ('s3.1' or 'c1.2/s3.1'),
    or a DSID (e.g. one the GRM proposed; its creative codes are used).
    Every input is validated before a run folder is created, so bad input leaves nothing behind.
    With `review=True` the run pauses after the visual plan (status "review"); resume it with
    `resume=<run id>, decision=ReviewEdits(...)` (an empty decision approves the plan as it is).
    `viewer`: the interaction history (item ids) of the user the video is for; the feedback reward predicts
    their engagement (without it, the population's).
    """
    _keep_file_size_errors()
    if resume:
        settings = settings or Settings()  # where to find the run; how it was made comes from its record
        folder = RunFolder.of(ensure_writable(settings.runs_dir), resume)
        record = folder.record()
        settings = run_settings(record, settings, duration_s)
        policy = _run_policy(record, policy, resume)
        request = GenerationRequest.model_validate(record["request"])
        check_run_space(request, load_sid_space(settings.data_dir, settings.cache_dir, seed=0))
        inputs = None
        decision = _review_edits(decision)
        preflight(settings, folder.path)
        lock = RunLock(folder.path).acquire()
    else:
        settings = _with_duration(settings or Settings(), duration_s)
        runs_dir = ensure_writable(settings.runs_dir)
        policy = policy or BuiltinPolicy()
        preflight(settings, runs_dir)
        space = load_sid_space(settings.data_dir, settings.cache_dir, seed=0)
        request = _new_request(space, product, creative, settings, seed, price, discount_pct, run_id, review)
        request = request.model_copy(update={"viewer": tuple(int(i) for i in viewer)})
        folder, lock = _create_run(runs_dir, request, settings, policy, creative)
        inputs = VideoState(request=request)
    try:
        return _walk(folder, request, settings, policy, inputs, resume, decision, stop_after, on_event)
    finally:
        lock.release()
        _give_back_memory()


def load_for_render(settings: Settings) -> None:
    """Load now, once per process, what rendering a run loads on first use: the media backends and models
    (renderer, voice, OCR, speech recognition), the critic's feedback model and the audio measures
    (scipy.signal). A batch's rendering worker does it while the first plan is made; planning needs none of it."""
    import importlib

    from recgen.rewards.feedback_cache import load_scorer
    from recgen.tools.backends import load_backends

    load_backends(settings)
    load_scorer(settings.cache_dir, settings.data_dir)
    for module in ("pyloudnorm", "scipy.signal"):
        importlib.import_module(module)


def _walk(folder, request, settings, policy, inputs, resume, decision, stop_after, on_event) -> RunResult:
    """Build the run's context and graph on its own checkpoints, and run (or resume) it; called holding the
    run's lock."""
    config = RunConfig(settings=settings.model_dump(mode="json"), policy=policy.name)
    saver = checkpointer(folder.path)
    attach(request.run_id, build_context(config, request.run_id, policy, on_event))
    graph = build_video_graph(saver, interrupt_after=[stop_after] if stop_after else None)
    thread = {"configurable": {"thread_id": request.run_id}, "recursion_limit": 100}
    start = thread
    try:
        if resume:  # refusals here leave the record as it is (a run waiting for review keeps waiting)
            snapshot = _last_whole(graph, thread, request.run_id)
            start = snapshot.config | {"recursion_limit": 100}
            if not snapshot.next:
                if not snapshot.values:
                    raise RunStoreError(f"run {request.run_id} has no checkpoint to resume from")
                state = VideoState.model_validate(snapshot.values)
                return RunResult(request.run_id, folder.path, state.final_path, state)
            inputs = _resume_inputs(snapshot, request.run_id, decision)
        snapshot = _stream(graph, inputs, start, thread, config, folder, request, policy)
    finally:
        saver.conn.close()
        detach(request.run_id)
    return _finish(folder, snapshot, stop_after)


@functools.cache
def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl, Windows): nothing to give back this way
        return None


def _give_back_memory() -> None:
    """A run decodes and renders frames in large temporary arrays; glibc keeps the freed pages in its
    arenas, so a long-lived process (UI, server, batch) would hold its peak forever. Return them to the OS."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def _keep_file_size_errors() -> None:
    """Past a file-size limit (ulimit -f) the OS kills the process with SIGXFSZ unless it is ignored; ignored,
    the write fails with EFBIG and the run stops with a clear error and can resume."""
    if hasattr(signal, "SIGXFSZ") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


# where a run reads and writes, not what it makes: a resume may give its own
RUN_ENV_FIELDS = frozenset({"runs_dir", "data_dir", "cache_dir", "render_threads", "otel", "diffusers_model_path"})


def run_settings(record: dict, given: Settings | None, duration_s: float | None = None) -> Settings:
    """A resumed run's own settings (resolution, fps, length, backends, …) as stored with it; the caller's
    environment (paths, threads) is kept. Asking for other video settings on resume is refused."""
    stored = {k: v for k, v in record.get("settings", {}).items() if k in Settings.model_fields}
    base = Settings(**stored)
    asked = {} if given is None else {f: getattr(given, f) for f in given.model_fields_set - RUN_ENV_FIELDS}
    if duration_s is not None:
        asked["duration_s"] = duration_s
    changed = {f: v for f, v in asked.items() if v != getattr(base, f)}
    if changed:
        wanted = ", ".join(f"{f}={v} (run: {getattr(base, f)})" for f, v in sorted(changed.items()))
        raise InputError(
            f"run {record.get('run_id')} keeps the settings it was made with; a resume cannot change {wanted}. "
            "Resume without them, or start a new run"
        )
    env = {f: getattr(given, f) for f in RUN_ENV_FIELDS} if given is not None else {}
    return base.model_copy(update=env)


def settings_like(record: dict, env: Settings) -> Settings:
    """A new run made like an old one (regenerate with another creative code): the old run's video settings,
    this process's paths."""
    return run_settings(record, None).model_copy(update={f: getattr(env, f) for f in RUN_ENV_FIELDS})


def _run_policy(record: dict, policy: Policy | None, rid: str) -> Policy:
    """A run resumes with the policy that planned it."""
    made_with = record.get("policy", "builtin")
    if policy is None and made_with == "builtin":
        return BuiltinPolicy()
    if policy is None or policy.name != made_with:
        raise InputError(
            f"run {rid} was planned by the {made_with!r} policy; resume it with the same policy"
            + (" (--llm openai:<model>, as when it started)" if made_with == "llm" else "")
        )
    return policy


def _with_duration(settings: Settings, duration_s: float | None) -> Settings:
    if duration_s is None:
        return settings
    try:
        return Settings(**{**settings.model_dump(), "duration_s": duration_s})
    except ValidationError as e:
        raise InputError(f"duration: {e.errors()[0]['msg']}") from e


def _review_edits(decision: ReviewEdits | dict | None) -> ReviewEdits | None:
    if decision is None:
        return None
    try:
        return ReviewEdits.model_validate(decision)
    except ValidationError as e:
        raise InputError(f"review edits: {e.errors()[0]['msg']}") from e


def _new_request(space, product, creative, settings, seed, price, discount_pct, run_id, review) -> GenerationRequest:
    if product is None:
        raise InputError("give a product: a catalog id, a product JSON, or a Product")
    prod = with_offer(resolve_product(product, space), price, discount_pct)
    dsid = space.dsid_for(prod, creative)
    rid = run_id or new_run_id(f"{prod.id}-{creative.creative if isinstance(creative, DSID) else creative}")
    return GenerationRequest(
        run_id=rid, product=prod, dsid=dsid, seed=settings.seed if seed is None else seed, review=review,
        space=space.name,
    )  # fmt: skip


def check_run_space(request: GenerationRequest, space: SIDSpace) -> None:
    """A run's D-SID belongs to the space it was made in: resumed under another fit, its codes would be
    decoded and re-encoded as other products."""
    if request.space != space.name:
        made = request.space or "a D-SID space from before spaces were recorded"
        raise RunStoreError(
            f"run {request.run_id} was made in {made}; this catalog's D-SID space is {space.name}, so its codes "
            "would be misread. Start a new run for the product instead of resuming this one"
        )


def _create_run(runs_dir: Path, request: GenerationRequest, settings: Settings, policy: Policy, creative):
    folder = RunFolder.of(runs_dir, request.run_id)
    try:
        folder.path.mkdir(parents=True)
    except FileExistsError:
        raise RunStoreError(
            f"run {request.run_id} exists already; use resume={request.run_id!r} or another run id"
        ) from None
    lock = RunLock(folder.path).acquire()
    folder.update_record(
        run_id=request.run_id,
        status="running",
        started=time.time(),
        policy=policy.name,
        creative=str(creative) if isinstance(creative, DSID) else creative,
        request=request.model_dump(mode="json"),
        settings=settings.model_dump(mode="json"),
    )
    return folder, lock


def _finish(folder: RunFolder, snapshot, stop_after: str | None) -> RunResult:
    state = VideoState.model_validate(snapshot.values)
    rid = folder.run_id
    if snapshot.interrupts:
        folder.update_record(status="review", notes=state.notes)
        return RunResult(rid, folder.path, None, state, status="review")
    if not state.final_path:
        folder.update_record(status="paused", paused_after=stop_after)
        return RunResult(rid, folder.path, None, state, status="paused")
    failed = open_checks(state)
    status = "flagged" if failed else "done"  # a video with a failed check is not called done
    folder.update_record(
        notes=state.notes,
        status=status,
        open_checks=failed,
        finished=time.time(),
        final=state.final_path,
        reports=[r.model_dump(mode="json") for r in state.reports],
    )
    return RunResult(rid, folder.path, state.final_path, state, status=status)


def open_checks(state: VideoState) -> list[str]:
    """The failed checks of the draft that became final (the best-ranked one), e.g. ['loudness']."""
    from recgen.agents.critic import ranking

    if not state.reports:
        return []
    best = max(state.reports, key=ranking)
    return list(dict.fromkeys(v.code for v in best.violations))


def _stream(graph, inputs, start, thread, config: RunConfig, folder: RunFolder, request, policy: Policy):
    """Run the graph from `start` (the thread, or one of its checkpoints), appending every node's update to
    the run trace (and to OpenTelemetry when on); a failure is written to the run record before it
    propagates. Returns the thread's newest checkpoint snapshot."""
    tele = _telemetry(request, policy) if config.settings.get("otel") else None
    try:
        folder.update_record(status="running", error=None)
        for chunk in graph.stream(inputs, start, context=config, stream_mode="updates", durability="sync"):
            for node, update in chunk.items():
                if node == "__interrupt__":
                    event = folder.trace("review_wait", {"payload": [i.value for i in update]})
                else:
                    event = folder.trace(node, update)
                if tele:
                    tele.node(event)
        snapshot = graph.get_state(thread)
    except BaseException as e:
        e = _as_run_error(e, folder)
        ours = isinstance(e, RecgenError)
        status, error = ("failed", str(e)) if ours else ("interrupted", f"{type(e).__name__}: {e}")
        # the record may not be writable either (full or read-only disk): the free lock then shows it stopped
        with contextlib.suppress(OSError):
            folder.update_record(status=status, error=error)
        if tele:
            tele.close(status, error)
        raise e
    if tele:
        final = "review" if snapshot.interrupts else ("done" if snapshot.values.get("final_path") else "paused")
        tele.close(final)
    return snapshot


def _last_whole(graph, thread: dict, rid: str):
    """The checkpoint to resume from. A write that failed mid-step (full disk, file-size limit) can leave the
    newest checkpoint without the tasks it scheduled, so it looks finished without a video; then the newest
    checkpoint that still has work ahead is used, and the step that lost its writes runs again."""
    snapshot = graph.get_state(thread)
    if snapshot.next or not snapshot.values or snapshot.values.get("final_path"):
        return snapshot
    for older in graph.get_state_history(thread):
        if older.next:
            return older
    raise RunStoreError(f"run {rid} has no checkpoint to resume from; start it again")


def _as_run_error(e: BaseException, folder: RunFolder) -> BaseException:
    """A full, read-only or size-limited disk, or a broken checkpoint database, as an error that says what to
    do; the partial files such a failure left are removed (the checkpoint holds only finished nodes)."""
    chain, cause = [], e
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for c in chain:
        if isinstance(c, OSError | RuntimeError) and (err := storage_error(c, folder.path)) is not None:
            remove_partials(folder.path)
            return err
    cause = next((c for c in chain if isinstance(c, sqlite3.Error)), None)
    if isinstance(cause, sqlite3.Error) and not isinstance(e, RecgenError):
        remove_partials(folder.path)
        return checkpoint_error(checkpoint_db(folder.path), cause)
    return e


def _telemetry(request: GenerationRequest, policy: Policy):
    from recgen.telemetry import RunTelemetry

    return RunTelemetry(
        request.run_id,
        {
            "recgen.product_id": request.product.id,
            "recgen.product_title": request.product.title,
            "recgen.dsid": str(request.dsid),
            "recgen.policy": policy.name,
        },
    )


def _resume_inputs(snapshot, rid: str, decision: ReviewEdits | None):
    """What to feed a paused graph: nothing (go on from the checkpoint), or the review decision."""
    waiting = bool(snapshot.interrupts)
    if decision is not None and not waiting:
        raise InputError(f"run {rid} is not waiting for review; a review decision cannot be applied")
    if not waiting:
        return None
    if decision is None:
        raise InputError(f"run {rid} is waiting for review: approve or edit it (decision=...)")
    check_edits(decision, VideoState.model_validate(snapshot.values).brief)
    return Command(resume=decision.model_dump(mode="json"))
