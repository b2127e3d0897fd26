"""`recgen ui`: a local web app over the run store, for creatives to see why a video looks the way it does
and to steer it (approve or edit at review, regenerate with another creative code).

Server-rendered (Jinja2, autoescaped) with a little plain JavaScript for live updates over server-sent
events; every asset ships in the package, so it works offline and needs no build step.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from recgen.errors import InputError, RecgenError, RunStoreError
from recgen.generate import settings_like
from recgen.runs import live_status, new_run_id, read_record
from recgen.schemas import Product, ReviewEdits
from recgen.serving.guard import Guard, public_message
from recgen.serving.jobs import Jobs
from recgen.serving.store import RunStore, RunView, progress
from recgen.settings import Settings
from recgen.sid.creative import PRESETS
from recgen.sid.semantics import load_sid_space
from recgen.trace import read_events

_HERE = resources.files("recgen.serving")
FINISHED = {"done", "flagged", "failed", "interrupted", "paused", "review"}


def waveform_svg(peaks, width: int = 960, height: int = 120) -> str:
    """The mix's peak envelope as an SVG path (mirrored around the centre line)."""
    if peaks is None or len(peaks) == 0:
        return ""
    mid = height / 2
    amp = peaks / max(float(peaks.max()), 1e-6) * (mid - 2)
    pts = [(i * width / (len(peaks) - 1 or 1), a) for i, a in enumerate(amp)]
    upper = " ".join(f"L{x:.1f},{mid - a:.1f}" for x, a in pts)
    lower = " ".join(f"L{x:.1f},{mid + a:.1f}" for x, a in reversed(pts))
    return f"M0,{mid:.1f} {upper} {lower} Z"


def _edits_from_form(form: dict[str, str], view: RunView) -> ReviewEdits:
    """Only fields the reviewer actually changed become edits; unchanged text is an approval."""
    brief = view.review_payload["brief"] if view.review_payload else view.brief
    visual = view.review_payload["visual"] if view.review_payload else view.visual
    edits: dict = {"shot_prompts": {}, "voice_lines": {}}
    for key, current in (("headline", brief["headline"]), ("cta", brief["cta"])):
        value = " ".join(form.get(key, "").split())
        if value and value != current:
            edits[key] = value
    for s in brief["shots"]:
        value = " ".join(form.get(f"voice_{s['index']}", "").split())
        if value and value != s["message"]:
            edits["voice_lines"][s["index"]] = value
    for s in visual["shots"]:
        value = " ".join(form.get(f"prompt_{s['index']}", "").split())
        if value and value != s["prompt"]:
            edits["shot_prompts"][s["index"]] = value
    edits["reviewer_note"] = form.get("note", "")[:500]
    return ReviewEdits.model_validate(edits)


def create_app(settings: Settings | None = None, jobs: Jobs | None = None, guard: Guard | None = None) -> FastAPI:
    """The UI app. `guard` (default: loopback names only, no token) decides which requests are served."""
    settings = settings or Settings()
    store = RunStore(settings.runs_dir)
    jobs = jobs or Jobs(settings)
    guard = guard or Guard.for_bind("127.0.0.1")

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        jobs.shutdown()

    app = FastAPI(title="recgen trace UI", docs_url="/api/docs", redoc_url=None, lifespan=lifespan)
    app.state.store, app.state.jobs, app.state.guard = store, jobs, guard

    @app.middleware("http")
    async def only_its_user(request: Request, call_next):
        return guard.check(request) or await call_next(request)

    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.filters["fmt"] = lambda v, nd=2: "–" if v is None else f"{float(v):.{nd}f}"
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    def page(request: Request, name: str, status_code: int = 200, **ctx) -> HTMLResponse:
        return templates.TemplateResponse(request, name, ctx, status_code=status_code)

    def error_page(request: Request, e: Exception, code: int) -> HTMLResponse:
        return page(request, "error.html", status_code=code, message=public_message(str(e), settings.runs_dir))

    _pages(app, store, jobs, page, error_page)
    _actions(app, settings, store, jobs, error_page)
    _api(app, store, settings)
    return app


def _pages(app: FastAPI, store: RunStore, jobs: Jobs, page, error_page) -> None:
    """What a person looks at: the run list, one run's page, its files, and its live progress events."""

    @app.get("/", response_class=HTMLResponse)
    def runs_list(request: Request, product: str = "", creative: str = "", limit: int = 1000) -> HTMLResponse:
        runs = store.summaries(product=product, creative=creative)
        return page(
            request, "runs.html", runs=runs[:limit], total=len(runs), product=product, creative=creative, limit=limit
        )

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        try:
            view = store.view(run_id)
        except RunStoreError as e:
            if jobs.busy(run_id):
                return page(request, "starting.html", run_id=run_id)
            return error_page(request, e, 404)
        return page(
            request,
            "run.html",
            v=view,
            wave=waveform_svg(store.waveform(run_id)),
            busy=jobs.busy(run_id),
            presets=sorted(PRESETS),
        )

    @app.get("/runs/{run_id}/files/{rel:path}")
    def run_file(run_id: str, rel: str) -> Response:
        try:
            return FileResponse(store.file(run_id, rel))
        except RunStoreError as e:
            return JSONResponse({"error": public_message(str(e), store.root)}, status_code=404)

    @app.get("/runs/{run_id}/events", response_class=EventSourceResponse)
    async def run_events(
        request: Request, run_id: str, last_event_id: str | None = Header(None)
    ) -> AsyncIterator[ServerSentEvent]:
        """Each finished node as an event (id = byte offset in the trace, so a reconnect resumes), then a
        final `end` event once the run stops (done, failed, paused or waiting for review)."""
        try:
            folder = store.folder(run_id)
        except RunStoreError as e:
            yield ServerSentEvent(event="error", data={"error": public_message(str(e), store.root)})
            return
        offset = int(last_event_id) if (last_event_id or "").isdigit() else 0
        seen: set[str] = set()
        while not await request.is_disconnected():
            events, offset = read_events(folder, offset)
            for ev in events:
                seen.add(ev["node"])
                yield ServerSentEvent(
                    event="node", id=str(offset), data={"node": ev["node"], "t": ev["t"], "progress": progress(seen)}
                )
            status = live_status(folder, read_record(folder))
            if status in FINISHED and not jobs.busy(run_id) and not events:
                yield ServerSentEvent(event="end", data={"status": status})
                return
            await asyncio.sleep(0.25)


def _actions(app: FastAPI, settings: Settings, store: RunStore, jobs: Jobs, error_page) -> None:
    """What changes runs: approve or edit a review, regenerate with another creative code."""

    @app.post("/runs/{run_id}/review")
    async def review(request: Request, run_id: str) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            view = store.view(run_id)
            if view.summary.status != "review":
                raise InputError(f"run {run_id} is not waiting for review (status: {view.summary.status_label})")
            if jobs.busy(run_id):
                raise InputError(f"run {run_id} is already resuming")
            edits = ReviewEdits() if form.get("action") == "approve" else _edits_from_form(form, view)
        except RunStoreError as e:
            return error_page(request, e, 404)
        except (InputError, ValueError) as e:
            return error_page(request, e, 400)
        jobs.submit(run_id, resume=run_id, decision=edits)
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    @app.post("/runs/{run_id}/regenerate")
    def regenerate(request: Request, run_id: str, creative: str = Form(...)) -> Response:
        """A new run: the same product and seed with another creative code (preset name or D-SID)."""
        try:
            rec = read_record(store.folder(run_id))
            product = Product.model_validate(rec["request"]["product"])
            space = load_sid_space(settings.data_dir, settings.cache_dir, seed=0)
            space.dsid_for(product, creative.strip())  # validates the code before a run starts
        except RunStoreError as e:
            return error_page(request, e, 404)
        except (RecgenError, ValueError) as e:
            return error_page(request, RecgenError(f"creative code {creative.strip()!r}: {e}"), 400)
        new_id = new_run_id(f"{product.id}-{creative.strip()}")
        jobs.submit(
            new_id,
            product=product,
            creative=creative.strip(),
            seed=rec["request"].get("seed"),
            run_id=new_id,
            review=bool(rec["request"].get("review")),
            settings=settings_like(rec, settings),  # the same size, length and backends as the run it varies
        )
        return RedirectResponse(f"/runs/{new_id}", status_code=303)


def _api(app: FastAPI, store: RunStore, settings: Settings) -> None:
    """The same data as JSON."""

    @app.get("/api/runs")
    def api_runs(product: str = "", creative: str = "") -> list[dict]:
        return [s.__dict__ | {"status_label": s.status_label} for s in store.summaries(product, creative)]

    @app.get("/api/runs/{run_id}")
    def api_run(run_id: str) -> Response:
        try:
            v = store.view(run_id)
        except RunStoreError as e:
            return JSONResponse({"error": public_message(str(e), settings.runs_dir)}, status_code=404)
        return JSONResponse(
            {
                "summary": v.summary.__dict__,
                "progress": v.progress,
                "brief": v.brief,
                "visual": v.visual,
                "audio_plan": v.audio_plan,
                "effects": v.effects,
                "rounds": [
                    {"round": r.index, "report": r.report, "changes": [str(c) for c in r.changes]} for r in v.rounds
                ],
                "notes": v.notes,
                "review": v.review_payload,
            }
        )


def serve(settings: Settings, guard: Guard, host: str = "127.0.0.1", port: int = 8765) -> None:
    import uvicorn

    uvicorn.run(create_app(settings, guard=guard), host=host, port=port, log_level="warning")
