"""The serving API (`recgen serve`): a video for a user, a video for a product and creative code, job status,
the video files, and feedback events. Versioned under /v1, documented at /v1/docs (OpenAPI at
/v1/openapi.json). The same guard as the trace UI decides who may call it: loopback Host names only,
no cross-site POSTs, and a bearer token when bound beyond loopback.

Status codes: 200 a video is served now (the body says which cache case applied); 202 nothing to serve
yet, a job is making it; 400/422 bad input; 404 unknown user, product, job or video; 409 an idempotency
key reused for another request; 503 the queue is full (Retry-After) or the server has no GRM.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

from fastapi import Body, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse

from recgen.errors import CatalogError, InputError, RecgenError, SIDError
from recgen.feedback import check_events, parse_events
from recgen.schemas import FeedbackReceipt, JobView, ServedVideo, VideoRef, VideoRequest
from recgen.serving.cache import Entry
from recgen.serving.guard import Guard, public_message
from recgen.serving.queue import IdempotencyConflict, Job, QueueFull
from recgen.serving.service import NoGRM, Served, VideoService, key_of, video_id

RETRY_AFTER_S = 5


def _ref(e: Entry) -> VideoRef:
    vid = video_id(e.key)
    return VideoRef(id=vid, url=f"/v1/videos/{vid}", product=e.product, dsid=e.dsid, run_id=e.run_id,
                    measured=e.measured, hits=e.hits)  # fmt: skip


def _job_view(job: Job, service: VideoService) -> JobView:
    video = None
    if job.status == "done" and job.result:
        entry = service.cache.get(key_of(job.result["video"]))
        video = _ref(entry) if entry is not None else None
    return JobView(id=job.id, status=job.status, progress=job.progress, note=job.note, url=f"/v1/jobs/{job.id}",
                   video=video, error=job.error, created=job.created, started=job.started,
                   finished=job.finished)  # fmt: skip


def _served(s: Served, service: VideoService) -> JSONResponse:
    body = ServedVideo(case=s.case, requested=str(s.dsid), product=s.product,
                       video=_ref(s.entry) if s.entry is not None else None,
                       job=_job_view(s.job, service) if s.job is not None else None)  # fmt: skip
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if s.entry is not None else 202)


# request bodies past these sizes are refused before they are read (413); the feedback batch is larger
MAX_BODY_BYTES = 64 * 1024
MAX_BODY_BYTES_AT = {"/v1/feedback": 2 * 1024 * 1024}
MAX_EVENTS = 5000  # events per feedback request


async def _too_large(request: Request) -> JSONResponse | None:
    """413 for a body over its endpoint's limit: by its declared length, or as it is read."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    limit = MAX_BODY_BYTES_AT.get(request.url.path, MAX_BODY_BYTES)
    too_big = JSONResponse(
        {"error": f"the request body is over {limit:,} bytes, the most {request.url.path} accepts"}, status_code=413
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        return too_big if int(declared) > limit else None
    chunks, size = [], 0  # no declared length (chunked): read it, up to the limit
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return too_big
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette hands a body read in a middleware on to the endpoint
    return None


async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
    """One readable line naming the field, and the machine-readable detail beside it — never the input sent
    (a 20 MB body is not answered with 20 MB)."""
    detail = [{k: v for k, v in d.items() if k in ("loc", "msg", "type")} for d in e.errors()[:20]]
    first = detail[0] if detail else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(x) for x in first["loc"] if x != "body") or "body"
    return JSONResponse({"error": f"{where}: {first['msg']}"[:300], "detail": detail}, status_code=422)


def create_api(service: VideoService, guard: Guard | None = None) -> FastAPI:
    guard = guard or Guard.for_bind("127.0.0.1")
    runs_dir = service.settings.runs_dir

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        service.close()

    app = FastAPI(title="recgen serving API", version="1", docs_url="/v1/docs", openapi_url="/v1/openapi.json",
                  redoc_url=None, lifespan=lifespan, description=__doc__)  # fmt: skip
    app.state.service = service

    @app.middleware("http")
    async def only_its_users(request: Request, call_next):
        t0 = time.perf_counter()
        response = guard.check(request) or await _too_large(request) or await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - t0) * 1000:.1f}"
        return response

    app.add_exception_handler(RequestValidationError, _invalid)

    def error(e: Exception) -> JSONResponse:
        code = {QueueFull: 503, NoGRM: 503, IdempotencyConflict: 409, CatalogError: 404, SIDError: 400}
        status = next((c for t, c in code.items() if isinstance(e, t)), 400)
        headers = {"Retry-After": str(RETRY_AFTER_S)} if isinstance(e, QueueFull) else None
        return JSONResponse({"error": public_message(str(e), runs_dir)}, status_code=status, headers=headers)

    @app.exception_handler(RecgenError)
    async def recgen_error(_: Request, e: RecgenError) -> JSONResponse:
        return error(e)

    @app.post("/v1/users/{user}/video", response_model=ServedVideo, responses={202: {"model": ServedVideo}})
    def user_video(user: str, idempotency_key: str | None = Header(None, max_length=128)) -> JSONResponse:
        """The user's video now: the GRM proposes their D-SID; the cache answers with the exact video (hit),
        the product in its nearest creative (content) or the nearest product (nearest), and a job makes
        the exact one in the background when it is missing."""
        return _served(service.for_user(user, idempotency_key), service)

    @app.post("/v1/videos", response_model=ServedVideo, responses={202: {"model": ServedVideo}})
    def product_video(req: VideoRequest, idempotency_key: str | None = Header(None, max_length=128)) -> JSONResponse:
        """A catalog product in a creative: served from the cache when made before, else queued."""
        return _served(service.for_product(req.product, req.creative, idempotency_key), service)

    @app.get("/v1/jobs/{job_id}", response_model=JobView)
    def job(job_id: str) -> JobView:
        found = service.queue.get(job_id)
        if found is None:
            raise CatalogError(f"no job {job_id!r}")
        return _job_view(found, service)

    @app.get("/v1/videos/{vid}", response_class=FileResponse)
    def video(vid: str) -> FileResponse:
        """The mp4 (range requests answered, so players can seek)."""
        entry = service.video(vid)
        return FileResponse(entry.path, media_type="video/mp4", filename=f"{vid}.mp4")

    @app.post("/v1/feedback", response_model=FeedbackReceipt)
    def feedback(events: dict | list = Body(...)) -> FeedbackReceipt:  # noqa: B008 (FastAPI's idiom)
        """One feedback event or a list (impression, click, watch, like, purchase); idempotent by event_id."""
        if isinstance(events, list) and len(events) > MAX_EVENTS:
            raise InputError(f"{len(events):,} events in one request; send at most {MAX_EVENTS:,} at a time")
        parsed = parse_events(events)
        check_events(parsed, service.space)
        r = service.feedback.record(parsed)
        return FeedbackReceipt(added=r.added, duplicates=r.duplicates)

    @app.get("/v1/health")
    def health() -> dict:
        beams = service.beam_batch_sizes()
        return {"queue": service.queue.counts(), "capacity": service.queue.capacity,
                "videos": len(service.cache.entries()), "grm": service.grm_path is not None,
                "beam_searches_by_batch_size": {str(k): v for k, v in sorted(beams.items())}}  # fmt: skip

    return app


def serve(service: VideoService, guard: Guard, host: str = "127.0.0.1", port: int = 8766) -> None:
    import uvicorn

    service.warm()
    uvicorn.run(create_api(service, guard), host=host, port=port, log_level="warning")
