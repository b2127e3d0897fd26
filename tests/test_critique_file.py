"""`recgen critique`: a finished run's video re-judged from the file, and defects seeded into the file's
pixels and sound (ffmpeg edits of a real render; the plans untouched) caught and routed to the right agent."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from recgen import generate_video
from recgen.cli import app
from recgen.critique import critique
from recgen.errors import InputError, RunStoreError
from recgen.tools.defects import DEFECTS, Seed, seed_defect

from .test_seeded_defects import PRODUCT


@pytest.fixture(scope="module")
def run(tmp_path_factory, cache_dir):
    from .conftest import small_settings

    s = small_settings(tmp_path_factory.mktemp("critique"), cache_dir, read_back=True)
    s = s.model_copy(update={"duration_s": 8.0})
    r = generate_video(PRODUCT, "fresh-botanical", settings=s, run_id="judged")
    assert r.status == "done", r.state.reports[-1].violations
    return r, s


def test_the_final_video_passes_and_the_report_says_what_was_judged_from_the_file(run):
    r, s = run
    c = critique("judged", s)
    assert c.passed and c.video == r.final_path, c.violations
    assert {"loudness", "perceived", "frozen"} <= set(c.from_file) and "layout" in c.from_plan
    assert c.measures["ocr_readback"] >= 0.9 and "voice_wer" in c.measures


@pytest.mark.parametrize("kind", sorted(DEFECTS))
def test_a_defect_in_the_file_is_caught_and_sent_to_its_agent(run, tmp_path, kind):
    r, s = run
    st = r.state
    draft = st.drafts[-1]
    seed = Seed(
        duration=st.visual.duration_s,
        fps=s.fps,
        boxes=draft.text_boxes,
        music=st.tracks.bgm_path,
        size=(s.width, s.height),
    )
    bad = seed_defect(r.final_path, kind, seed, tmp_path / f"{kind}.mp4")
    c = critique("judged", s, video=bad)
    _, code, agent = DEFECTS[kind]
    seen = [(x.text, x.label) for x in c.claims if x.where == "seen"] if hasattr(c, "claims") else None
    assert (code, agent) in {(v.code, v.agent) for v in c.violations}, (kind, c.violations, c.measures, seen)


def test_the_command_exits_1_on_a_failed_check_and_prints_json(run, tmp_path):
    r, s = run
    st = r.state
    seed = Seed(duration=st.visual.duration_s, fps=s.fps)
    quiet = seed_defect(r.final_path, "quiet", seed, tmp_path / "quiet.mp4")
    cli = CliRunner()
    ok = cli.invoke(
        app, ["critique", "judged", "--runs-dir", str(s.runs_dir)], env={"RECGEN_CACHE_DIR": str(s.cache_dir)}
    )
    assert ok.exit_code == 0, ok.output
    bad = cli.invoke(app, ["critique", "judged", "--video", str(quiet), "--json", "--runs-dir", str(s.runs_dir)])
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)
    assert not report["passed"] and "loudness" in {v["code"] for v in report["violations"]}


def test_bad_input_is_a_clear_error(run, tmp_path):
    r, s = run
    with pytest.raises(RunStoreError, match="no run"):
        critique("nope", s)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(InputError, match="not a video"):
        critique("judged", s, video=junk)
    with pytest.raises(InputError, match="no video"):
        critique("judged", s, video=tmp_path / "missing.mp4")
