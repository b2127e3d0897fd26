"""The --review pause: nothing renders before a creative answers; edits reach the video; bad answers leave the
run waiting; the trace records every node across the pause."""

import json

import pytest

from recgen import generate_video
from recgen.errors import InputError
from recgen.plandiff import describe, field_changes
from recgen.trace import read_events


def _nodes(folder):
    return [e["node"] for e in read_events(folder)[0]]


def test_review_pauses_before_rendering_and_edits_reach_the_video(small):
    paused = generate_video("0", "calm-luxury", settings=small, review=True)
    assert paused.status == "review" and paused.final_path is None
    assert json.loads((paused.run_dir / "run.json").read_text())["status"] == "review"
    assert not list((paused.run_dir / "shots").glob("*.png")), "something was rendered before the review"
    assert _nodes(paused.run_dir) == ["decode_sids", "instruct", "visual", "review_wait"]

    with pytest.raises(InputError, match="waiting for review"):
        generate_video(settings=small, resume=paused.run_id)
    with pytest.raises(InputError, match="no shot 42"):
        generate_video(settings=small, resume=paused.run_id, decision={"voice_lines": {42: "Hi."}})
    with pytest.raises(InputError, match="empty"):
        generate_video(settings=small, resume=paused.run_id, decision={"shot_prompts": {0: "   "}})
    assert json.loads((paused.run_dir / "run.json").read_text())["status"] == "review"

    edits = {"headline": "Velvet Shine", "cta": "Try it today", "voice_lines": {1: "Pure shine."}}
    edits["shot_prompts"] = {2: "macro shot of lacquer drops on glass"}
    done = generate_video(settings=small, resume=paused.run_id, decision=edits)
    assert done.status == "done" and done.final_path.is_file()
    st = done.state
    assert st.brief.headline == "Velvet Shine" and st.brief.cta == "Try it today"
    assert st.visual.shots[2].prompt == "macro shot of lacquer drops on glass"
    assert any(s.headline == "Velvet Shine" for s in st.visual.shots)
    assert "Pure shine." in [line.text for line in st.tracks.lines if line.shot_index == 1]
    assert st.effects.cta.text == "Try it today"
    assert any("review: edited" in n for n in st.notes)
    nodes = _nodes(done.run_dir)
    assert nodes[:5] == ["decode_sids", "instruct", "visual", "review_wait", "review"]
    assert nodes.count("render_shot") >= len(st.visual.shots) and nodes[-1] == "critic"
    assert nodes.count("review_wait") == 1, "a critic revision must not ask for review again"


def test_approval_renders_the_plan_unchanged(small):
    paused = generate_video("8", "fresh-botanical", settings=small, review=True)
    planned = paused.state.visual
    done = generate_video(settings=small, resume=paused.run_id, decision={})
    assert done.final_path.is_file()
    first_visual = [e for e in read_events(done.run_dir)[0] if e["node"] == "visual"][0]["update"]["visual"]
    assert first_visual == planned.model_dump(mode="json")
    assert "review: approved as planned" in done.state.notes


def test_decision_for_a_run_not_waiting_is_refused(small):
    run = generate_video("8", "fresh-botanical", settings=small, stop_after="visual")
    with pytest.raises(InputError, match="not waiting for review"):
        generate_video(settings=small, resume=run.run_id, decision={})


def test_field_changes_name_the_paths_that_changed():
    old = {"shots": [{"camera": "static", "d": 1.0}, {"camera": "pan_left", "d": 2.0}], "cta": "Shop"}
    new = {"shots": [{"camera": "push_in", "d": 1.0}], "cta": "Shop", "offer": "20% OFF"}
    changes = field_changes(old, new)
    assert [(c.path, c.kind) for c in changes] == [
        ("shots[0].camera", "changed"),
        ("shots[1]", "removed"),
        ("offer", "added"),
    ]
    text = describe(changes)
    assert "~ shots[0].camera: 'static' → 'push_in'" in text and "+ offer: '20% OFF'" in text
    assert field_changes(old, old) == []
