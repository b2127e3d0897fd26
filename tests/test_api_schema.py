"""The serving API against its own OpenAPI schema: schemathesis generates requests from /v1/openapi.json —
schema-valid ones and ones that break it — and runs all of its checks on every answer: no server error but
the declared 503, every status, header and body as declared, invalid data refused, valid data accepted.

One check is narrowed, not dropped: a schema-valid request may still name a thing the schema cannot list
(a user, an item that is not in this catalog, a job nobody made); that refusal must be a 400/404 saying
which thing, never any other 4xx. The queue's worker is one that finishes at once: this tests the
HTTP layer, not rendering."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette_testclient import TestClient

from recgen.serving.api import create_api
from recgen.serving.queue import JobQueue
from recgen.serving.service import VideoService

BASE = "http://127.0.0.1:8766"
EXAMPLES = 150  # per generation mode, over all operations (about 20 s; a fixed derandomized draw)
SCHEMA_CANNOT_SAY = (
    "unknown user",
    "not in the catalog",
    "no product",
    "no job",
    "no video",
    "not a video id",
)


@schemathesis.check
def valid_data_accepted_unless_not_there(ctx, response, case) -> bool | None:
    """positive_data_acceptance, except a 400/404 whose one-line error names what the schema cannot say."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code in (400, 404):
        try:
            error = str(response.json().get("error", ""))
        except ValueError:  # the guard's plain text
            error = response.text
        assert any(s in error for s in SCHEMA_CANNOT_SAY), (
            f"schema-valid request refused: {response.status_code} {error}"
        )
        return True
    return positive_data_acceptance(ctx, response, case)


@pytest.fixture()
def api(small, rec2video_ckpt):
    """The app as a server runs it (started once, stopped at the end) and its schema as a client reads it."""
    service = VideoService(small, rec2video_ckpt, workers=1, capacity=64, timeout_s=30)
    service.queue.close(wait=True)
    service.queue = JobQueue(service.queue.path, lambda job, progress: {}, workers=1, capacity=64)
    with TestClient(create_api(service), base_url=BASE) as client:
        schema = schemathesis.openapi.from_dict(client.get("/v1/openapi.json").json())
        yield client, schema


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_to_its_schema(api, mode):
    client, schema = api

    @given(case=schema.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True
    )
    def run(case):
        case.call_and_validate(base_url=BASE, session=client, excluded_checks=[positive_data_acceptance],
                               additional_checks=[valid_data_accepted_unless_not_there])  # fmt: skip

    run()
