"""The trace UI over a runs folder with damaged run folders in it (real files, damaged as a disk or a hand
edit would): the list and the API stay up with every good run in them, a damaged run is listed with why,
its page is a readable error, odd trace lines are skipped, and only a viewer's files are served."""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient

from recgen import generate_video
from recgen.serving.ui import create_app
from tests.conftest import small_settings

RECORDS = {  # run.json as damage leaves it
    "list": b"[]",
    "date-string": None,  # the good record with "started": "yesterday"
    "not-utf8": b'{"run_id": "x", "status": "done\xff\xfe"}',
    "truncated": None,  # the good record cut in half
    "zeros": b"\x00" * 512,
    "empty": b"",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cache_dir):
    settings = small_settings(tmp_path_factory.mktemp("damaged") / "runs", cache_dir)
    good = generate_video("8", "fresh-botanical", settings=settings, run_id="good")
    record = (good.run_dir / "run.json").read_bytes()
    for name, data in RECORDS.items():
        folder = settings.runs_dir / f"bad-{name}"
        shutil.copytree(good.run_dir, folder)
        if name == "date-string":
            data = json.dumps({**json.loads(record), "started": "yesterday", "reports": "none"}).encode()
        elif name == "truncated":
            data = record[: len(record) // 2]
        (folder / "run.json").write_bytes(data)
    odd = settings.runs_dir / "odd-trace"
    shutil.copytree(good.run_dir, odd)
    lines = (odd / "trace.jsonl").read_bytes().splitlines(keepends=True)
    (odd / "trace.jsonl").write_bytes(b'[1,2]\nnull\n"node"\n' + b"\xef\xbb\xbf" + b"".join(lines) + b'{"node": 3}\n')
    return settings


@pytest.fixture()
def client(runs):
    with TestClient(create_app(runs), base_url="http://127.0.0.1") as c:
        yield c


def test_the_list_and_the_api_stay_up_with_each_damaged_run_named(client):
    page = client.get("/")
    assert page.status_code == 200
    for name in ("good", "odd-trace", *(f"bad-{n}" for n in RECORDS)):
        assert f"/runs/{name}" in page.text, name
    listed = {r["run_id"]: r for r in client.get("/api/runs").json()}
    assert listed["good"]["status"] == "done" and listed["odd-trace"]["status"] == "done"
    for name in ("list", "not-utf8", "truncated", "zeros", "empty"):
        assert listed[f"bad-{name}"]["status"] == "damaged", name
        assert "damaged" in listed[f"bad-{name}"]["product_title"]
    assert "not UTF-8" in listed["bad-not-utf8"]["product_title"]
    assert "a JSON list" in listed["bad-list"]["product_title"]
    # wrong types inside a readable record read as unknown: listed, not a crash, not damaged
    assert listed["bad-date-string"]["status"] == "done" and listed["bad-date-string"]["started"] == 0.0


@pytest.mark.parametrize("name", [f"bad-{n}" for n in RECORDS if n != "date-string"])
def test_a_damaged_runs_page_is_a_readable_error(client, name):
    page = client.get(f"/runs/{name}")
    assert page.status_code == 404 and "damaged" in page.text
    api = client.get(f"/api/runs/{name}")
    assert api.status_code == 404 and "damaged" in api.json()["error"]


def test_trace_lines_that_are_not_events_are_skipped(client):
    page = client.get("/runs/odd-trace")
    assert page.status_code == 200 and "critic" in page.text
    assert client.get("/api/runs/odd-trace").json()["rounds"]
    assert client.get("/runs/bad-date-string").status_code == 200


@pytest.mark.parametrize("rel", ["checkpoints.sqlite", ".lock", "run.json%00.png", "shots/%00"])
def test_only_a_viewers_files_are_served(client, rel):
    assert client.get(f"/runs/good/files/{rel}").status_code == 404
    assert client.get("/runs/good/files/final.mp4").status_code == 200
