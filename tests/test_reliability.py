"""Runs that survive faults and misuse: a run keeps its own settings on every resume, one process writes a
run at a time, a killed run resumes to the same video without redoing finished nodes, a full disk or a
file-size limit stops a run cleanly, a damaged checkpoint database says how to recover, and preflight
catches a missing ffmpeg before any work."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from recgen import Settings, generate_video
from recgen.errors import InputError, RunBusyError, RunStoreError
from recgen.runs import CHECKPOINT_DB, RunFolder, RunLock, live_status
from recgen.tools.probes import probe
from recgen.trace import read_events

from .conftest import DATA_DIR, small_settings

HELPER = Path(__file__).with_name("crashing_run.py")
PRODUCT = {"id": "mist", "title": "Rose Face Mist with Aloe Vera, Alcohol-Free", "brand": "Dewly"}


def _env_only(s: Settings) -> Settings:
    """What a user resuming from another shell gives: where things are, not how the video was made."""
    return Settings(runs_dir=s.runs_dir, cache_dir=s.cache_dir, data_dir=DATA_DIR)


def _helper(mode: str, arg: str, s: Settings, run_id: str, wait: bool = True, product: str | None = None):
    fields = s.model_dump(mode="json", include=s.model_fields_set | {"runs_dir", "cache_dir", "data_dir"})
    cmd = [sys.executable, str(HELPER), mode, arg, json.dumps(fields), product or json.dumps(PRODUCT), run_id]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def _nodes(run_dir: Path) -> Counter:
    events, _ = read_events(run_dir, 0)
    return Counter(e["node"] for e in events)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, cache_dir):
    """The uninterrupted run every crashed-and-resumed one must equal."""
    s = small_settings(tmp_path_factory.mktemp("ref"), cache_dir).model_copy(update={"duration_s": 4.0})
    r = generate_video(PRODUCT, "fresh-botanical", settings=s, run_id="ref", seed=3)
    return r, s


def test_a_resume_keeps_the_runs_own_settings(small):
    s = small.model_copy(update={"width": 160, "height": 288, "fps": 10})
    r = generate_video(PRODUCT, "fresh-botanical", settings=s, stop_after="visual")
    with pytest.raises(InputError, match=r"width=720 \(run: 160\)"):
        generate_video(resume=r.run_id, settings=Settings(runs_dir=s.runs_dir, cache_dir=s.cache_dir, width=720))
    with pytest.raises(InputError, match="duration_s"):
        generate_video(resume=r.run_id, settings=_env_only(s), duration_s=9.0)
    done = generate_video(resume=r.run_id, settings=_env_only(s))  # defaults would be 720×1280@24
    sizes = {(p.width, p.height, round(p.fps)) for p in map(probe, [d.path for d in done.state.drafts])}
    assert sizes == {(160, 288, 10)}
    assert probe(done.final_path).width == 160


def test_one_writer_per_run_and_a_dead_writer_shows_as_interrupted(small):
    r = generate_video(PRODUCT, "fresh-botanical", settings=small, stop_after="instruct")
    folder = RunFolder.of(small.runs_dir, r.run_id)
    with RunLock(folder.path):  # another process (or thread) is writing it
        with pytest.raises(RunBusyError, match="being written by another process"):
            generate_video(resume=r.run_id, settings=small)
        folder.update_record(status="running")
        assert live_status(folder.path, folder.record()) == "running"
    assert live_status(folder.path, folder.record()) == "interrupted"  # nobody holds it: never "running"
    assert folder.record()["status"] == "interrupted" and "resume" in folder.record()["error"]  # written down
    assert generate_video(resume=r.run_id, settings=small).final_path.is_file()


BOUNDARIES = ["decode_sids", "instruct", "visual", "render_shot", "audio", "effects", "compose", "critic"]


def test_killed_after_each_node_in_turn_the_run_resumes_to_the_same_video(reference, tmp_path):
    """The OS kills the run right after each node's checkpoint in turn: the first process after decode_sids,
    the process resuming it after instruct, and so on to the critic; a last resume finishes it. Every resume
    goes on from where the killed process left off (no finished node is redone) and the video is the
    uninterrupted run's, byte for byte."""
    ref, ref_settings = reference
    s = ref_settings.model_copy(update={"runs_dir": tmp_path / "runs"})
    folder = None
    for i, node in enumerate(BOUNDARIES):
        done = _helper("kill", node, s if i == 0 else _env_only(s), "crash", product="-" if i else None)
        assert done.returncode == -9, (node, done.stderr[-800:])  # killed by the OS, mid-run
        folder = RunFolder.of(s.runs_dir, "crash")
        assert live_status(folder.path, folder.record()) == "interrupted"
    r = generate_video(resume="crash", settings=_env_only(s))
    assert r.final_path.read_bytes() == ref.final_path.read_bytes()
    # no node ran more often than in one uninterrupted run: what was checkpointed was not redone (the trace
    # may lack each killed node's own event: it is written after the checkpoint)
    after, once = _nodes(folder.path), _nodes(ref.run_dir)
    assert all(after[n] <= once[n] for n in after), (after, once)
    assert sum(after.values()) >= sum(once.values()) - len(BOUNDARIES)
    assert {(p.width, p.height) for p in map(probe, [d.path for d in r.state.drafts])} == {(144, 256)}


def test_two_resumes_at_once_one_runs_the_other_is_refused(reference, tmp_path):
    _, ref_settings = reference
    s = ref_settings.model_copy(update={"runs_dir": tmp_path / "runs"})
    generate_video(PRODUCT, "fresh-botanical", settings=s, run_id="twice", seed=3, stop_after="visual")
    procs = [_helper("resume", "-", _env_only(s), "twice", wait=False) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs
    refused = next(err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode == 2)
    assert "being written by another process" in refused
    folder = RunFolder.of(s.runs_dir, "twice")
    # finished: 'flagged' when the final draft still fails a check (a 4 s ad cannot show its CTA for 1.5 s)
    assert folder.record()["status"] in ("done", "flagged") and folder.final_path.is_file()
    assert not [p for p in folder.path.rglob("*") if {".tmp", ".partial"} & set(p.suffixes)]


@pytest.mark.parametrize("limit", [150_000, 500_000])  # the checkpoint database, then a wav, hits the limit first
def test_a_file_size_limit_stops_the_run_cleanly_and_it_resumes(reference, tmp_path, limit):
    ref, ref_settings = reference
    s = ref_settings.model_copy(update={"runs_dir": tmp_path / "runs"})
    done = _helper("fsize", str(limit), s, "small-disk")
    assert done.returncode == 2, done.stderr[-800:]
    assert "resume" in done.stderr and "Traceback" not in done.stderr
    folder = RunFolder.of(s.runs_dir, "small-disk")
    assert not [p for p in folder.path.rglob("*") if {".tmp", ".partial"} & set(p.suffixes)]
    assert live_status(folder.path, folder.record()) == "failed"
    r = generate_video(resume="small-disk", settings=_env_only(s))  # the cause is gone: it finishes
    assert r.final_path.read_bytes() == ref.final_path.read_bytes()


def test_a_damaged_checkpoint_database_says_how_to_recover_and_harms_no_other_run(small):
    a = generate_video(PRODUCT, "fresh-botanical", settings=small, stop_after="instruct")
    b = generate_video(PRODUCT, "warm-natural", settings=small, stop_after="instruct")
    (a.run_dir / CHECKPOINT_DB).write_bytes(b"this is not a database" * 100)
    with pytest.raises(RunStoreError, match="damaged.*move checkpoints.sqlite aside"):
        generate_video(resume=a.run_id, settings=small)
    assert generate_video(resume=b.run_id, settings=small).final_path.is_file()


def test_a_broken_ffmpeg_is_found_before_any_work(tmp_path, cache_dir):
    """Preflight, in a fresh process (imageio-ffmpeg remembers its binary): one line, no run folder."""
    s = small_settings(tmp_path / "runs", cache_dir)
    code = (
        "from recgen.cli import main; import sys; "
        f"sys.argv=['recgen','generate','--product','8','--runs-dir',{str(s.runs_dir)!r}]; main()"
    )
    env = {"IMAGEIO_FFMPEG_EXE": "/bin/false", "RECGEN_CACHE_DIR": str(cache_dir), "PATH": "/usr/bin:/bin"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert "ffmpeg" in done.stderr and "cannot encode H.264/AAC" in done.stderr and "Traceback" not in done.stderr
    assert not list(s.runs_dir.glob("*/run.json"))  # nothing started
    assert time.perf_counter() - t0 < 60


def test_approving_in_the_ui_resumes_at_the_runs_own_size(small):
    """The UI is started with its defaults (720×1280 @ 24); the run it approves was made at 160×288 @ 10."""
    from fastapi.testclient import TestClient

    from recgen.serving.ui import create_app

    s = small.model_copy(update={"width": 160, "height": 288, "fps": 10})
    r = generate_video(PRODUCT, "fresh-botanical", settings=s, review=True)
    assert r.status == "review"
    app = create_app(_env_only(s))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.post(f"/runs/{r.run_id}/review", data={"action": "approve"}, follow_redirects=False).status_code == 303
        app.state.jobs.futures[r.run_id].result(timeout=300)
    p = probe(RunFolder.of(s.runs_dir, r.run_id).final_path)
    assert (p.width, p.height, round(p.fps)) == (160, 288, 10)
