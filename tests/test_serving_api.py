"""The serving API: the online path's cache cases, jobs, idempotency, a full queue, range requests, feedback,
and who may call it."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recgen.serving.api import create_api
from recgen.serving.guard import Guard
from recgen.serving.queue import IdempotencyConflict, JobQueue, QueueFull
from recgen.serving.service import VideoService

from .conftest import NEW_USER

HOST = {"host": "127.0.0.1:8766"}


@pytest.fixture()
def service(small, rec2video_ckpt):
    s = VideoService(small, rec2video_ckpt, workers=1, capacity=4, timeout_s=120)
    yield s
    s.queue.close(wait=True)


@pytest.fixture()
def client(service):
    with TestClient(create_api(service), base_url="http://127.0.0.1:8766") as c:
        yield c


def wait_job(client, url: str, timeout_s: float = 120) -> dict:
    end = time.time() + timeout_s
    while time.time() < end:
        body = client.get(url).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} did not finish")


def test_user_video_miss_then_hit_then_content_and_range(client, service):
    first = client.post("/v1/users/0/video")
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["case"] == "miss" and body["video"] is None and body["job"]["status"] in ("queued", "running")
    job = wait_job(client, body["job"]["url"])
    assert job["status"] == "done", job["error"]
    assert job["video"]["product"] == body["product"] and job["video"]["dsid"] == body["requested"]
    entry = service.video(job["video"]["id"])  # the critic's scores of the chosen draft are kept with it
    assert entry.run_id == job["video"]["run_id"] and entry.scores["total"] > 0

    again = client.post("/v1/users/0/video")
    assert again.status_code == 200 and again.json()["case"] == "hit" and again.json()["job"] is None
    url = again.json()["video"]["url"]
    whole = client.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    part = client.get(url, headers={"range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == whole.content[:100]

    # the same product in another creative: served at once from the cache, the exact one queued
    other = client.post("/v1/videos", json={"product": body["product"], "creative": "bold-discount"})
    assert other.status_code == 200 and other.json()["case"] == "content"
    assert other.json()["video"]["url"] == url and other.json()["job"] is not None
    # a product with nothing cached: the nearest product's video, and a job
    far = next(p.id for p in service.space.catalog.products if p.id != body["product"])
    near = client.post("/v1/videos", json={"product": far, "creative": "calm-luxury"})
    assert near.status_code == 200 and near.json()["case"] == "nearest" and near.json()["video"]["product"] != far


def test_bad_requests_get_clear_errors(client):
    r = client.post("/v1/users/no-such-user/video")
    assert r.status_code == 404 and "unknown user" in r.json()["error"]
    r = client.post("/v1/videos", json={"product": "no-such-product", "creative": "calm-luxury"})
    assert r.status_code == 422 and r.json()["error"].startswith("product:")  # not an id: the schema says so
    r = client.post("/v1/videos", json={"product": "99999", "creative": "calm-luxury"})
    assert r.status_code == 404 and "no product" in r.json()["error"]  # an id, of no product
    r = client.post("/v1/users/0/nope")
    assert r.status_code in (404, 405) and "error" in r.json()  # Starlette's own refusals in the one shape
    r = client.post("/v1/videos", json={"product": "1", "creative": "s999.999"})
    assert r.status_code == 400
    assert client.post("/v1/videos", json={"product": "1"}).status_code == 422
    assert client.get("/v1/jobs/nope").status_code == 422  # not a job id (the schema's pattern)
    assert client.get("/v1/jobs/0123456789abcdef").status_code == 404
    assert client.get("/v1/videos/%%%").status_code == 422  # not a video id (the schema's pattern)
    assert client.get("/v1/videos/" + "QUJD").status_code == 404  # a well-formed id nobody made
    assert client.get("/v1/openapi.json").json()["info"]["version"] == "1"


@pytest.fixture()
def held(service):
    """The service's queue with a worker that holds its first job until the test ends (so jobs stay queued)."""
    gate = threading.Event()
    service.queue.close(wait=True)
    service.queue = JobQueue(service.queue.path, lambda job, progress: gate.wait(30) and {}, workers=1, capacity=3)
    yield service
    gate.set()


def test_idempotency_keys(client, held):
    req = {"product": "1", "creative": "calm-luxury"}
    a = client.post("/v1/videos", json=req, headers={"idempotency-key": "k1"})
    b = client.post("/v1/videos", json=req, headers={"idempotency-key": "k1"})
    assert a.status_code == 202 and a.json()["job"]["id"] == b.json()["job"]["id"]
    c = client.post("/v1/videos", json={**req, "product": "2"}, headers={"idempotency-key": "k1"})
    assert c.status_code == 409 and "different request" in c.json()["error"]
    # without a key, the same request joins the unfinished job instead of queueing it again
    d = client.post("/v1/videos", json=req)
    assert d.json()["job"]["id"] == a.json()["job"]["id"]
    assert sum(held.queue.counts().values()) == 1


def test_full_queue_answers_503_with_retry_after(client, held):
    for creative in ("calm-luxury", "bold-discount", "fresh-botanical"):
        assert client.post("/v1/videos", json={"product": "1", "creative": creative}).status_code == 202
    r = client.post("/v1/videos", json={"product": "1", "creative": "warm-natural"})
    assert r.status_code == 503 and int(r.headers["retry-after"]) > 0 and "full" in r.json()["error"]
    assert client.get("/v1/health").json()["queue"] == {"queued": 2, "running": 1}


def test_a_user_without_history_is_offered_the_most_popular_dsid_said_as_such(client, held):
    rec = held.recommender
    assert rec.cold(NEW_USER) and not rec.cold("0")
    counts = np.bincount(np.concatenate([s for s in rec.data.sequences if s.size]))
    top = rec.popular_entries(1)[0]
    assert counts[top] == counts.max()
    r = client.post(f"/v1/users/{NEW_USER}/video")
    assert r.status_code == 202 and r.json()["basis"] == "popular", r.text
    assert r.json()["product"] == str(rec.item_of_entry[top])
    assert r.json()["requested"].endswith("/s" + ".".join(map(str, rec.dsid(rec.tok.item_codes[top]).creative)))
    assert client.post("/v1/users/0/video").json()["basis"] == "history"
    popular_items = [int(rec.item_of_entry[e]) for e in rec.popular_entries(3, items=True)]
    assert [i for i, _ in rec.recommend(NEW_USER, 3)] == popular_items and len(set(popular_items)) == 3


def test_feedback_is_recorded_once(client, service):
    codes = ".".join(map(str, service.space.content_codes(service.space.catalog.get("1"))))
    ev = {"event_id": "e1", "user": "0", "dsid": f"c{codes}/s3.1", "kind": "click", "item": 1}
    outside = client.post("/v1/feedback", json={**ev, "dsid": "c1.2/s3.1"})  # not the catalog's code space
    assert outside.status_code == 400 and "outside" in outside.json()["error"]
    assert client.post("/v1/feedback", json={**ev, "item": 99_999}).status_code == 400
    assert client.post("/v1/feedback", json=ev).json() == {"added": 1, "duplicates": 0}
    assert client.post("/v1/feedback", json=[ev]).json() == {"added": 0, "duplicates": 1}
    bad = client.post("/v1/feedback", json={**ev, "event_id": "e2", "kind": "watch"})
    assert bad.status_code == 422 and "watch_seconds" in bad.json()["error"]
    clash = client.post("/v1/feedback", json={**ev, "kind": "like"})  # e1 again, as another event
    assert clash.status_code == 409 and "other contents" in clash.json()["error"]
    body = b'{"event_id": "e3", "event_id": "e4", "user": "0", "dsid": "%s", "kind": "click"}' % ev["dsid"].encode()
    twice = client.post("/v1/feedback", content=body, headers={"content-type": "application/json"})
    assert twice.status_code == 400 and "appears twice" in twice.json()["error"]  # strict JSON, as the CLI
    stranger = client.post("/v1/feedback", json={**ev, "event_id": "e5", "user": "nobody"})
    assert stranger.status_code == 400 and "unknown user" in stranger.json()["error"]
    new_user = client.post("/v1/feedback", json={**ev, "event_id": "e6", "user": NEW_USER})  # declared, no history
    assert new_user.json() == {"added": 1, "duplicates": 0}


def test_guard_rules(service):
    with TestClient(create_api(service), base_url="http://evil.example:8766") as c:
        assert c.get("/v1/health").status_code == 400  # DNS rebinding: unknown Host
    with TestClient(create_api(service), base_url="http://127.0.0.1:8766") as c:
        r = c.post("/v1/feedback", json={}, headers={"origin": "http://evil.example"})
        assert r.status_code == 403
    guard = Guard.for_bind("0.0.0.0", token="s3cret")
    with TestClient(create_api(service, guard), base_url="http://10.0.0.5:8766") as c:
        assert c.get("/v1/health").status_code == 401
        assert c.get("/v1/health", headers={"authorization": "Bearer s3cret"}).status_code == 200


def test_no_grm_is_a_503(small):
    s = VideoService(small, None)
    try:
        with TestClient(create_api(s), base_url="http://127.0.0.1:8766") as c:
            r = c.post("/v1/users/0/video")
            assert r.status_code == 503 and "--grm" in r.json()["error"]
    finally:
        s.queue.close()


def test_a_warmed_server_has_loaded_what_its_first_render_needs(small_read_back):
    """`recgen serve` warms its process before it listens: the first job must not load the voice, OCR,
    speech recognition or the feedback model inside itself."""
    import gc

    from recgen.rewards import feedback_cache as feedback
    from recgen.tools import asr, ocr, tts

    loaded = (tts.get_tts, ocr.get_ocr, asr.get_asr, feedback._scorer)
    for f in loaded:
        f.cache_clear()
    s = VideoService(small_read_back, None)
    try:
        s.warm()
        assert [f.cache_info().currsize for f in loaded] == [1, 1, 1, 1]
    finally:
        gc.unfreeze()
        s.queue.close()


def test_queue_timeout_and_restart(tmp_path):
    gate = threading.Event()

    def slow(job, progress):
        progress(0.5, "half")
        gate.wait(10)
        progress(0.9, "after the deadline")
        return {"ok": 1}

    q = JobQueue(tmp_path / "jobs.sqlite", slow, workers=1, capacity=3, timeout_s=0.2)
    a, _ = q.submit("x", {"n": 1})
    b, _ = q.submit("x", {"n": 2})
    q.submit("y", {"n": 1}, key="k")
    with pytest.raises(IdempotencyConflict):
        q.submit("y", {"n": 2}, key="k")
    with pytest.raises(QueueFull):
        q.submit("x", {"n": 4})
    time.sleep(0.4)
    # the process dies here: a is running, b and k are queued; a new queue on the same file runs them all
    done = JobQueue(tmp_path / "jobs.sqlite", lambda job, progress: {"n": job.payload["n"]}, workers=1, timeout_s=5)
    for job in (a, b):
        assert done.wait(job.id, 10).result == {"n": job.payload["n"]}
    assert done.get(a.id).note == "restarted" and done.get(b.id).note is None  # a was running, b only queued
    gate.set()
    q.close()
    done.close()
    # a job past its limit fails at its next step, saying so
    t = JobQueue(tmp_path / "t.sqlite", slow, workers=1, timeout_s=0.2)
    gate.clear()
    threading.Timer(0.5, gate.set).start()
    job, _ = t.submit("x", {"n": 9})
    failed = t.wait(job.id, 10)
    assert failed.status == "failed" and "time limit" in failed.error
    t.close()


def test_a_requeued_job_resumes_its_own_run(service):
    """A job's run is named after the job: after the server died mid-render (here: the run stopped after
    its visual plan), the requeued job resumes that run from its checkpoint instead of starting over."""
    from collections import Counter

    from recgen import generate_video
    from recgen.serving.queue import Job
    from recgen.trace import read_events

    product = service.space.catalog.get("2")
    dsid = service.space.dsid_for(product, "calm-luxury")
    rid = "job-requeued0001"
    generate_video(product, dsid, settings=service.settings, run_id=rid, stop_after="visual")
    job = Job("requeued0001", None, "video", {"product": "2", "creative": list(dsid.creative)}, "running", 0.0,
              "restarted", None, None, time.time(), None, None)  # fmt: skip
    notes: list[str] = []
    out = service._render(job, lambda fraction, note: notes.append(note))
    assert out["run_id"] == rid and notes[0] == f"resuming run {rid} from its checkpoint"
    nodes = Counter(e["node"] for e in read_events(service.settings.runs_dir / rid)[0])
    assert nodes["decode_sids"] == 1 and nodes["instruct"] == 1 and nodes["compose"] >= 1


def test_large_bodies_are_refused_before_they_are_read_and_errors_never_echo_input(client):
    import json as _json

    huge = "x" * (3 * 1024 * 1024)
    r = client.post("/v1/videos", content=_json.dumps({"product": "1", "creative": huge}),
                    headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and len(r.content) < 500 and "bytes" in r.json()["error"]

    def chunked():  # no Content-Length: counted as it is read
        for _ in range(100):
            yield b" " * 1024

    r = client.post("/v1/videos", content=chunked(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    long = "y" * 30_000  # under the body limit, over the field's
    r = client.post("/v1/videos", json={"product": "1", "creative": long})
    assert r.status_code == 422 and len(r.content) < 2000 and long[:200] not in r.text
    assert r.json()["error"].startswith("creative:") and r.json()["detail"][0]["loc"][-1] == "creative"
    many = [{"event_id": f"e{i}", "user": "0", "dsid": "c1.2.3.0/s1.0", "kind": "click"} for i in range(5001)]
    r = client.post("/v1/feedback", json=many)
    assert r.status_code == 422 and "at most 5000" in r.json()["error"] and len(r.content) < 2000
