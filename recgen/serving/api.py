"""The serving API (`recgen serve`): a video for a user, a video for a product and creative code, job status,
the video files, and feedback events. Versioned under /v1, documented at /v1/docs (OpenAPI at
/v1/openapi.json). The same guard as the trace UI decides who may call it: loopback Host names only,
no cross-site POSTs, and a bearer token when bound beyond loopback.

Status codes: 200 a video is served now (the body says which cache case applied); 202 nothing to serve
yet, a job is making it; 400/422 bad input; 404 unknown user, product, job or video; 409 an idempotency
key reused for another request, or an event id for another event; 413 a body over its limit; 503 the queue
is full (Retry-After) or the server has no GRM. The schema declares each endpoint's statuses and patterns.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Body, Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import Field
from starlette.exceptions import HTTPException

from recgen.errors import CatalogError, ConflictError, InputError, RecgenError, SIDError
from recgen.feedback import check_events
from recgen.schemas import (
    USER_ID,
    ErrorBody,
    FeedbackEvent,
    FeedbackReceipt,
    JobView,
    ServedVideo,
    VideoRef,
    VideoRequest,
)
from recgen.serving.cache import Entry
from recgen.serving.guard import Guard, public_message
from recgen.serving.queue import Job, QueueFull
from recgen.serving.service import NoGRM, Served, VideoService, key_of, video_id
from recgen.sid.catalog import strict_json
from recgen.sid.creative import PRESETS

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
    body = ServedVideo(case=s.case, requested=str(s.dsid), basis=s.basis, product=s.product,
                       video=_ref(s.entry) if s.entry is not None else None,
                       job=_job_view(s.job, service) if s.job is not None else None)  # fmt: skip
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if s.entry is not None else 202)


# request bodies past these sizes are refused before they are read (413); the feedback batch is larger
MAX_BODY_BYTES = 64 * 1024
MAX_BODY_BYTES_AT = {"/v1/feedback": 2 * 1024 * 1024}


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


# what each refusal means, for the schema (every endpoint declares the ones it can answer)
WHY = {
    400: "bad input: a value the schema cannot rule out (not in the catalog, outside the code space, a key given "
    "twice); the guard's 'unknown Host header' in plain text",
    401: "beyond loopback without the server's token (plain text)",
    403: "a request from another site (plain text)",
    404: "no such user, product, job or video",
    409: "an idempotency key reused for another request, or an event id for another event",
    413: "the request body is over the endpoint's limit",
    416: "a range outside the file",
    422: "the request does not match the schema: one line naming the field, and the detail",
    503: "the job queue is full (retry after Retry-After seconds) or the server has no GRM",
}
_PLAIN = {"text/plain": {"schema": {"type": "string"}}}


def _errors(*codes: int) -> dict[int | str, dict]:
    out: dict[int | str, dict] = {}
    for code in sorted({*codes, 401, 403}):
        out[code] = {"model": ErrorBody, "description": WHY[code]}
        if code in (400, 401, 403):
            out[code]["content"] = _PLAIN  # the guard answers before the app, in plain text
        if code == 416:
            out[code] = {"description": WHY[code], "content": _PLAIN}
        if code == 503:
            out[code]["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    return out


SERVED = {202: {"model": ServedVideo, "description": "nothing to serve yet: the job making it"}}
MP4 = {"content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}}}


def _numbers_below(n: int) -> str:
    return "(" + "|".join(str(i) for i in range(n)) + ")"


def _this_catalog(app: FastAPI, service: VideoService) -> None:
    """The schema of this server's catalog: the largest item id, and the D-SID and creative patterns of its code
    space (each level's codes spelled out), so that what the schema allows, the server accepts."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            space, schema = service.space, build()
            parts = schema["components"]["schemas"]
            creative = r"\.".join(_numbers_below(len(cb)) for cb in space.creative_rq.codebooks)
            content = r"\.".join(_numbers_below(len(cb)) for cb in space.content_rq.codebooks) + r"\.[0-9]{1,4}"
            grm = r"g[0-9]{1,4}(\.[0-9]{1,4}){0,7}"
            event = parts["FeedbackEvent"]["properties"]
            event["dsid"]["pattern"] = f"^(c{content}|{grm})/s{creative}$"
            for branch in event["item"].get("anyOf", [event["item"]]):
                if branch.get("type") == "integer":
                    branch["maximum"] = len(space.catalog) - 1
            presets = "|".join(sorted(PRESETS))
            parts["VideoRequest"]["properties"]["creative"]["pattern"] = f"^({presets}|s{creative})$"
        return app.openapi_schema

    app.openapi = openapi


MAX_EVENTS = 5000  # events per feedback request
Events = Annotated[
    FeedbackEvent | Annotated[list[FeedbackEvent], Field(min_length=1, max_length=MAX_EVENTS)],
    Body(description=f"one feedback event, or a list of 1 to {MAX_EVENTS:,}; a key given twice is refused"),
]
UserId = Annotated[str, Path(max_length=128, pattern=USER_ID, description="a user id of the GRM's interactions")]
JobId = Annotated[str, Path(pattern="^[0-9a-f]{16}$", description="a job id, as the 202 answer gave it")]
VideoId = Annotated[str, Path(max_length=1000, pattern="^[A-Za-z0-9_-]+$", description="a video id, as served")]


async def _strict_body(request: Request) -> None:
    """The body again, as strict JSON: a key given twice is refused, as the CLI refuses it (JSON keeps the
    last one silently)."""
    try:
        strict_json((await request.body()).decode("utf-8", "replace"), "the request body")
    except CatalogError as e:
        raise InputError(str(e)) from None


async def _http_error(_: Request, e: HTTPException) -> JSONResponse:
    """Starlette's own refusals (an unknown path, a body that is not JSON) in the API's one shape."""
    return JSONResponse({"error": str(e.detail)[:300]}, status_code=e.status_code, headers=e.headers)


def _is_type_name(part: object) -> bool:
    """A union branch in an error's location ('FeedbackEvent', 'list[FeedbackEvent]'), not a field."""
    return isinstance(part, str) and (part[:1].isupper() or "[" in part)


async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
    """One readable line naming the field, and the machine-readable detail beside it — never the input sent
    (a 20 MB body is not answered with 20 MB)."""
    detail = [{k: v for k, v in d.items() if k in ("loc", "msg", "type")} for d in e.errors()[:20]]
    # a body of one event or a list: the branch the body did not take says only 'wrong type'; name the other
    said = [d for d in detail if not d["type"].endswith("_type")] or detail
    first = said[0] if said else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(x) for x in first["loc"] if x != "body" and not _is_type_name(x)) or "body"
    return JSONResponse({"error": f"{where}: {first['msg']}"[:300], "detail": detail}, status_code=422)


STATUS_OF = {QueueFull: 503, NoGRM: 503, ConflictError: 409, CatalogError: 404, SIDError: 400}  # else 400


def _refusal(e: RecgenError, runs_dir) -> JSONResponse:
    status = next((c for t, c in STATUS_OF.items() if isinstance(e, t)), 400)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if isinstance(e, QueueFull) else None
    return JSONResponse({"error": public_message(str(e), runs_dir)}, status_code=status, headers=headers)


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
    app.add_exception_handler(HTTPException, _http_error)

    @app.exception_handler(RecgenError)
    async def recgen_error(_: Request, e: RecgenError) -> JSONResponse:
        return _refusal(e, runs_dir)

    @app.post("/v1/users/{user}/video", response_model=ServedVideo,
              responses={**SERVED, **_errors(400, 404, 409, 413, 422, 503)})  # fmt: skip
    def user_video(user: UserId, idempotency_key: str | None = Header(None, max_length=128)) -> JSONResponse:
        """The user's video now: the GRM proposes their D-SID; the cache answers with the exact video (hit),
        the product in its nearest creative (content) or the nearest product (nearest), and a job makes
        the exact one in the background when it is missing."""
        return _served(service.for_user(user, idempotency_key), service)

    @app.post("/v1/videos", response_model=ServedVideo, responses={**SERVED, **_errors(400, 404, 409, 413, 422, 503)})
    def product_video(req: VideoRequest, idempotency_key: str | None = Header(None, max_length=128)) -> JSONResponse:
        """A catalog product in a creative: served from the cache when made before, else queued."""
        return _served(service.for_product(req.product, req.creative, idempotency_key), service)

    @app.get("/v1/jobs/{job_id}", response_model=JobView, responses=_errors(400, 404, 422))
    def job(job_id: JobId) -> JobView:
        found = service.queue.get(job_id)
        if found is None:
            raise CatalogError(f"no job {job_id!r}")
        return _job_view(found, service)

    @app.get(
        "/v1/videos/{vid}",
        response_class=FileResponse,
        responses={200: MP4, 206: {**MP4, "description": "the range asked for"}, **_errors(400, 404, 416, 422)},
    )
    def video(vid: VideoId) -> FileResponse:
        """The mp4 (range requests answered, so players can seek)."""
        entry = service.video(vid)
        return FileResponse(entry.path, media_type="video/mp4", filename=f"{vid}.mp4")

    @app.post("/v1/feedback", response_model=FeedbackReceipt, responses=_errors(400, 409, 413, 422),
              dependencies=[Depends(_strict_body)])  # fmt: skip
    def feedback(events: Events) -> FeedbackReceipt:
        """One feedback event or a list (impression, click, watch, like, purchase); idempotent by event_id.
        Events are about what exists: a user of the GRM's interactions (a new user is one with an empty
        history there), a catalog item, a D-SID of the catalog's code space."""
        parsed = [events] if isinstance(events, FeedbackEvent) else list(events)
        check_events(parsed, service.space)
        service.check_users(parsed)
        r = service.feedback.record(parsed)
        return FeedbackReceipt(added=r.added, duplicates=r.duplicates)

    @app.get("/v1/health", responses=_errors())
    def health() -> dict:
        beams = service.beam_batch_sizes()
        return {"queue": service.queue.counts(), "capacity": service.queue.capacity,
                "videos": len(service.cache.entries()), "grm": service.grm_path is not None,
                "beam_searches_by_batch_size": {str(k): v for k, v in sorted(beams.items())}}  # fmt: skip

    _this_catalog(app, service)
    return app


def serve(service: VideoService, guard: Guard, host: str = "127.0.0.1", port: int = 8766) -> None:
    import uvicorn

    service.warm()
    uvicorn.run(create_api(service, guard), host=host, port=port, log_level="warning")
