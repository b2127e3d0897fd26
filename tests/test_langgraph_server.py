"""The video graph under LangGraph's own server: `langgraph dev` loads langgraph.json, describes the graph's
context as JSON, and runs one short video sent through the LangGraph SDK."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from recgen.tools.probes import probe

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    exe = Path(sys.executable).parent / "langgraph"
    assert exe.is_file(), "langgraph-cli[inmem] is a dev dependency: pip install -e '.[dev]'"
    port = _free_port()
    env = {**os.environ, "LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false", "PYTHONUNBUFFERED": "1"}
    cmd = [str(exe), "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser", "--no-reload"]
    proc = subprocess.Popen(
        [*cmd, "--config", "langgraph.json"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ok", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
                pytest.fail(f"langgraph dev did not start: {out[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_schema_endpoint_describes_a_plain_context(server):
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=server)
    (assistant,) = client.assistants.search(graph_id="video")
    with urllib.request.urlopen(f"{server}/assistants/{assistant['assistant_id']}/schemas", timeout=30) as r:
        assert r.status == 200
        schemas = json.loads(r.read())
    assert schemas["context_schema"]["title"] == "RunConfig"
    assert set(schemas["context_schema"]["properties"]) == {"settings", "policy"}


def test_a_short_video_runs_through_the_sdk(server, small):
    from langgraph_sdk import get_sync_client

    from recgen.sid.semantics import load_sid_space

    space = load_sid_space(small.data_dir, small.cache_dir)
    product = space.catalog.get("8")
    request = {
        "run_id": "via-server",
        "product": product.model_dump(mode="json"),
        "dsid": space.dsid_for(product, "fresh-botanical").model_dump(mode="json"),
    }
    client = get_sync_client(url=server)
    thread = client.threads.create()
    state = client.runs.wait(
        thread["thread_id"],
        "video",
        input={"request": request},
        context={"settings": json.loads(small.model_dump_json()), "policy": "builtin"},
    )
    final = small.runs_dir / "via-server" / "final.mp4"
    assert state["final_path"] == str(final) and final.is_file()
    p = probe(final)
    assert (p.width, p.height) == (small.width, small.height)
    assert abs(p.duration - small.duration_s) < 0.15 and p.has_audio
    assert state["reports"][-1]["verdict"] == "accept"
