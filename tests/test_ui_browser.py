"""The trace UI in a real browser: Playwright drives Debian's headless Chromium (installed by `make test`,
never downloaded by Playwright) against a live server on a run made here. Screenshots of each page are
kept in test-artifacts/ui/ (or $RECGEN_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from recgen import generate_video
from recgen.serving.ui import create_app
from tests.conftest import small_settings

CHROMIUM = os.environ.get("RECGEN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("RECGEN_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts")) / "ui"
# flags for a closed network: no background calls home, no sandbox as root, no GPU
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
if not Path(CHROMIUM).is_file():
    pytest.skip(
        f"Debian's chromium is not installed at {CHROMIUM} (`make test` installs it with apt-get; "
        "set RECGEN_CHROMIUM to another Chromium binary)",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, cache_dir):
    import uvicorn

    settings = small_settings(tmp_path_factory.mktemp("browser") / "runs", cache_dir)
    generate_video("8", "fresh-botanical", settings=settings, run_id="b1-done")
    generate_video("0", "calm-luxury", settings=settings, run_id="b2-review", review=True)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "the UI server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as e:  # a broken install is a skip with its reason, not a failure of the UI
            pytest.skip(f"Chromium at {CHROMIUM} does not start: {str(e).splitlines()[0]}")
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_list_then_run_page_with_shot_strip_and_playing_video(server, page):
    page.goto(server + "/")
    rows = page.locator("table#runs tbody tr")
    assert rows.count() == 2
    assert "waiting for review" in rows.nth(0).inner_text()
    page.screenshot(path=ARTIFACTS / "runs-list.png", full_page=True)

    page.click("a[href='/runs/b1-done']")
    page.wait_for_selector("#shot-strip")
    shots = page.locator("#shot-strip figure.shot")
    assert shots.count() >= 4
    # wait until every thumbnail has finished (a broken one finishes too, with width 0), then check them
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#shot-strip img')).every(i => i.complete)", timeout=20000
    )
    widths = page.eval_on_selector_all("#shot-strip img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert len(widths) == shots.count() and all(w > 0 for w in widths), "a keyframe thumbnail did not load"
    assert page.locator("#waveform path.env").count() == 1
    assert not page.locator("#tools details").first.evaluate("d => d.open")  # tool calls folded by default

    played = page.evaluate(
        """async () => {
        const v = document.getElementById('final-video');
        v.muted = true; await v.play();
        await new Promise(r => setTimeout(r, 700));
        return {t: v.currentTime, w: v.videoWidth, err: v.error && v.error.code};
    }"""
    )
    assert played["err"] is None and played["w"] > 0 and played["t"] > 0.1, played
    page.screenshot(path=ARTIFACTS / "run-done.png", full_page=True)


def test_approve_a_review_and_watch_the_run_finish(server, page):
    page.goto(server + "/runs/b2-review")
    assert page.inner_text("#status") == "waiting for review"
    assert page.locator("#shot-strip figure.shot .nokey").count() >= 4  # planned, not rendered yet
    page.fill("input[name=headline]", "Midnight Shine")
    page.screenshot(path=ARTIFACTS / "run-review.png", full_page=True)
    page.click("#apply-edits")
    page.wait_for_function("document.getElementById('status').textContent === 'done'", timeout=180_000)
    assert "Midnight Shine" in page.inner_text("#brief")
    assert page.locator("#shot-strip img").count() >= 4 and page.locator("#final-video").count() == 1
    assert page.locator("#review").count() == 0
    page.screenshot(path=ARTIFACTS / "run-after-review.png", full_page=True)


def test_regenerate_with_another_creative_code(server, page):
    page.goto(server + "/runs/b1-done")
    page.fill("#regenerate input[name=creative]", "dramatic-noir")
    page.click("#regenerate button")
    page.wait_for_function("document.getElementById('status')?.textContent === 'done'", timeout=180_000)
    assert "dramatic-noir" in page.inner_text("section.head")
    page.screenshot(path=ARTIFACTS / "run-regenerated.png", full_page=True)
