"""The trace UI over HTTP (no browser): list and filters, one run's data flow, live events, review and
regenerate from the page, and the security bar (no path traversal, user text escaped)."""

import json
import os
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from recgen import generate_video
from recgen.agents.builtin import BuiltinPolicy
from recgen.serving.ui import create_app
from tests.conftest import small_settings


class NoCtaFirst(BuiltinPolicy):
    """The first effects plan forgets the CTA, so the critic sends one revision back."""

    def plan_effects(self, ctx):
        plan = super().plan_effects(ctx)
        return plan if ctx.fixes else plan.model_copy(update={"cta": None})


EVIL_TITLE = '<script>alert("owned")</script> Glow Serum'


@pytest.fixture(scope="module")
def store(tmp_path_factory, cache_dir):
    settings = small_settings(tmp_path_factory.mktemp("ui") / "runs", cache_dir)
    evil = {"id": "evil", "title": EVIL_TITLE, "brand": "Acme", "description": "A serum", "category": "skin care"}
    runs = {
        "done": generate_video("8", "fresh-botanical", settings=settings, run_id="r1-serum-fresh"),
        "evil": generate_video(evil, "bold-discount", settings=settings, run_id="r2-evil"),
        "review": generate_video("0", "calm-luxury", settings=settings, run_id="r3-review", review=True),
        "revised": generate_video(
            "0", "calm-luxury", settings=settings, run_id="r0-revised", seed=0, policy=NoCtaFirst()
        ),
    }
    assert len(runs["revised"].state.reports) == 2  # this case is revised once by the critic (no CTA at first)
    (settings.runs_dir / "secret.txt").write_text("outside any run")
    return settings, runs


@pytest.fixture()
def client(store):
    settings, _ = store
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        yield c


def test_list_shows_runs_newest_first_and_filters(client, store):
    html = client.get("/").text
    ids = re.findall(r'href="/runs/([^"]+)"', html)
    assert ids == ["r0-revised", "r3-review", "r2-evil", "r1-serum-fresh"]
    assert "waiting for review" in html and "done" in html
    assert re.search(r'src="/runs/r1-serum-fresh/files/shots/shot_00_key.png"', html)
    only_serum = re.findall(r'href="/runs/([^"]+)"', client.get("/?product=vitamin").text)
    assert only_serum == ["r1-serum-fresh"]
    creative = str(store[1]["evil"].state.request.dsid).split("/")[1]
    by_code = re.findall(r'href="/runs/([^"]+)"', client.get(f"/?creative={creative}").text)
    assert "r2-evil" in by_code and "r3-review" not in by_code
    calm = re.findall(r'href="/runs/([^"]+)"', client.get("/?creative=calm-luxury").text)
    assert calm == ["r0-revised", "r3-review"]


def test_run_page_follows_the_data_flow(client, store):
    state = store[1]["done"].state
    html = client.get("/runs/r1-serum-fresh").text
    order = [html.index(f'id="{s}"') for s in ("semantics", "brief", "shots", "audio", "effects", "drafts", "tools")]
    assert order == sorted(order)
    figures = re.findall(r'<figure class="shot" data-index="(\d+)">\s*<img src="([^"]+)"', html)
    assert [int(i) for i, _ in figures] == [s.index for s in state.visual.shots]
    for _, src in figures:
        assert client.get(src).headers["content-type"] == "image/png"
    for shot in state.visual.shots:
        assert str(escape(shot.prompt.split(";")[0])) in html and f"{shot.duration:.2f} s" in html
    assert '<path class="env" d="M0,' in html  # waveform of the mix
    assert html.count('class="line"') == len(state.tracks.lines)
    assert html.count('class="beat"') >= 4
    for r in state.reports:
        assert f"Round {r.round} — {r.verdict}" in html
    draft = client.get("/runs/r1-serum-fresh/files/drafts/draft_r0.mp4")
    assert draft.status_code == 200 and draft.content[4:8] == b"ftyp"
    assert '<details class="tools"><summary>visual' in html  # tool calls folded by default
    assert state.semantics.creative.preset in html and str(escape(state.brief.cta)) in html
    claims = [c for r in state.reports for c in r.claims]  # every line labelled, per round
    assert claims and html.count('<tr class="claim-') == len(claims)
    last = state.reports[-1].claims
    assert f"{sum(c.label == 'supported' for c in last)} supported" in html
    assert html.count('<table class="scores rewards">') == len(state.reports) and "<td>feedback</td>" in html
    assert "combined reward" in html


def test_round_changes_are_listed_field_by_field(client, store):
    run = store[1]["revised"].state
    html = client.get("/runs/r0-revised").text
    assert "What changed since round 0" in html
    changed = re.findall(r"<li class=\"changed\"><code>([^<]+)</code>", html)
    assert changed, "no field-level change listed"
    agent = {"effects": "effects", "visual": "visual", "audio_plan": "audio", "brief": "instruct"}
    assert {agent[p.split(".")[0]] for p in changed} == {run.reports[0].revise_agent}


def test_user_text_is_escaped(client):
    for url in ("/", "/runs/r2-evil", "/?product=glow"):
        body = client.get(url).text
        assert "<script>alert" not in body, url
    api = client.get("/api/runs/r2-evil")
    assert api.headers["content-type"] == "application/json" and api.json()["summary"]["product_title"] == EVIL_TITLE
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in client.get("/runs/r2-evil").text


@pytest.mark.parametrize(
    "path",
    [
        "/runs/r1-serum-fresh/files/../secret.txt",
        "/runs/r1-serum-fresh/files/%2e%2e/secret.txt",
        "/runs/r1-serum-fresh/files/..%2fsecret.txt",
        "/runs/r1-serum-fresh/files/%2fetc%2fpasswd",
        "/runs/r1-serum-fresh/files/../checkpoints.sqlite",
        "/runs/..%2f/files/secret.txt",
        "/runs/r1-serum-fresh/files/shots/../../r2-evil/run.json",
        "/runs/r1-serum-fresh/files/link-out",
    ],
)
def test_files_are_served_only_from_inside_one_run(client, store, path):
    link = store[0].runs_dir / "r1-serum-fresh" / "link-out"
    if not link.exists():
        os.symlink(store[0].runs_dir / "secret.txt", link)
    r = client.get(path)
    assert r.status_code == 404 and "outside any run" not in r.text


def test_events_stream_the_finished_nodes_then_end(client):
    with client.stream("GET", "/runs/r1-serum-fresh/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    events = []
    for block in body.strip().split("\n\n"):
        kind = re.search(r"^event: (\w+)", block, re.M).group(1)
        events.append((kind, json.loads(re.search(r"^data: (.*)$", block, re.M).group(1))))
    nodes = [d["node"] for kind, d in events if kind == "node"]
    assert nodes[:3] == ["decode_sids", "instruct", "visual"] and nodes[-1] == "critic"
    assert [d["progress"] for kind, d in events if kind == "node"][-1] == 1.0
    assert events[-1] == ("end", {"status": "done"})


def test_review_from_the_page_resumes_the_run(client, store):
    html = client.get("/runs/r3-review").text
    assert 'id="review"' in html and 'name="voice_1"' in html
    form = {k: unescape(v) for k, v in re.findall(r'<input name="(\w+)" value="([^"]*)"', html)}
    form |= {f"{k}_{i}": unescape(t) for k, i, t in re.findall(r'<textarea name="(\w+)_(\d+)" rows="\d">([^<]*)', html)}
    assert {"headline", "cta", "voice_0", "prompt_0"} <= set(form)
    form |= {"action": "edit", "headline": "Midnight Shine", "voice_1": "Pure shine."}
    r = client.post("/runs/r3-review/review", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/runs/r3-review"
    client.app.state.jobs.futures["r3-review"].result(timeout=300)
    page = client.get("/runs/r3-review").text
    assert "Midnight Shine" in page and "Pure shine." in page and 'id="final-video"' in page
    assert "review: edited headline, voice_lines" in page
    again = client.post("/runs/r3-review/review", data={"action": "approve"})
    assert again.status_code == 400 and "not waiting for review" in again.text


def test_regenerate_with_another_creative_code_starts_a_new_run(client):
    bad = client.post("/runs/r1-serum-fresh/regenerate", data={"creative": "s99.99"})
    assert bad.status_code == 400 and "s99.99" in bad.text
    r = client.post("/runs/r1-serum-fresh/regenerate", data={"creative": "dramatic-noir"}, follow_redirects=False)
    assert r.status_code == 303
    new_id = r.headers["location"].rsplit("/", 1)[1]
    client.app.state.jobs.futures[new_id].result(timeout=300)
    run = client.get(f"/api/runs/{new_id}").json()
    assert run["summary"]["status"] == "done" and run["summary"]["product_id"] == "8"
    assert run["summary"]["creative"] == "dramatic-noir"


def test_unknown_run_is_a_clear_404(client):
    r = client.get("/runs/no-such-run")
    assert r.status_code == 404 and "no run 'no-such-run'" in unescape(r.text)


def test_only_its_user_can_drive_the_ui(store):
    """A page on another site cannot approve a review or start a render; a rebinding DNS name is not
    served; error pages do not say where files live."""
    settings, _ = store
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        runs_before = len(c.get("/api/runs").json())
        evil = c.post(
            "/runs/r1-serum-fresh/regenerate",
            data={"creative": "dramatic-noir"},
            headers={"origin": "http://evil.example"},
            follow_redirects=False,
        )
        assert evil.status_code == 403
        via_referer = c.post(
            "/runs/r3-review/review",
            data={"action": "approve"},
            headers={"referer": "http://evil.example/page"},
            follow_redirects=False,
        )
        assert via_referer.status_code == 403
        assert len(c.get("/api/runs").json()) == runs_before  # no run was started
        assert c.get("/", headers={"host": "rebound.example:8765"}).status_code == 400
        missing = c.get("/runs/no-such-run")
        assert missing.status_code == 404 and str(settings.runs_dir.resolve()) not in missing.text
        assert "/" + settings.runs_dir.resolve().parts[1] not in c.get("/api/runs/no-such-run").text
        same = c.post(
            "/runs/r1-serum-fresh/regenerate",
            data={"creative": "s99.99"},
            headers={"origin": "http://127.0.0.1"},
        )
        assert same.status_code == 400  # judged on its content, not refused as cross-site


def test_beyond_loopback_the_ui_needs_its_token(store):
    from recgen.serving.guard import Guard

    settings, _ = store
    guard = Guard.for_bind("0.0.0.0", token="s3cret-token")
    with TestClient(create_app(settings, guard=guard), base_url="http://192.168.1.5:8765") as c:
        assert c.get("/").status_code == 401
        assert c.get("/?token=wrong").status_code == 401
        assert c.get("/api/runs", headers={"authorization": "Bearer s3cret-token"}).status_code == 200
        entry = c.get("/?token=s3cret-token", follow_redirects=False)
        assert entry.status_code == 303 and "token" not in entry.headers["location"]
        assert c.get("/").status_code == 200  # the cookie it set lets the browser in
    assert Guard.for_bind("0.0.0.0").token  # a token is made when none is given
