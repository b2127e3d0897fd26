"""Resume after an interruption, tool masks, and the critic's revision loop on deliberately broken plans."""

import pytest

from recgen import generate_video
from recgen.agents.builtin import BuiltinPolicy
from recgen.agents.llm_tools import tools_for
from recgen.agents.toolbox import ToolBox
from recgen.errors import InputError, ToolMaskError
from recgen.schemas import VoiceLinePlan
from recgen.tools.specs import RenderArgs, ToolSpec, TtsArgs


class CountingPolicy(BuiltinPolicy):
    def __init__(self, crash_in_audio: bool = False) -> None:
        self.calls: dict[str, int] = {}
        self.crash_in_audio = crash_in_audio

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def instruct(self, ctx):
        self._count("instruct")
        return super().instruct(ctx)

    def plan_visual(self, ctx):
        self._count("visual")
        return super().plan_visual(ctx)

    def plan_audio(self, ctx):
        self._count("audio")
        if self.crash_in_audio:
            raise RuntimeError("simulated crash in the audio agent")
        return super().plan_audio(ctx)


def test_stop_after_visual_then_resume_does_not_redo_finished_nodes(small):
    first = CountingPolicy()
    paused = generate_video("0", "playful-pastel", settings=small, policy=first, stop_after="visual")
    assert paused.final_path is None and paused.state.visual is not None
    assert first.calls == {"instruct": 1, "visual": 1}
    second = CountingPolicy()
    done = generate_video(settings=small, policy=second, resume=paused.run_id)
    assert done.final_path and done.final_path.is_file()
    assert "instruct" not in second.calls and "visual" not in second.calls
    assert second.calls["audio"] >= 1


def test_crash_mid_run_resumes_from_the_checkpoint(small):
    crashing = CountingPolicy(crash_in_audio=True)
    with pytest.raises(RuntimeError, match="simulated crash"):
        generate_video("0", "clean-clinical", settings=small, policy=crashing, run_id="crash-test")
    run = small.runs_dir / "crash-test"
    assert (run / "shots").is_dir() and not (run / "final.mp4").exists()
    healthy = CountingPolicy()
    done = generate_video(settings=small, policy=healthy, resume="crash-test")
    assert done.final_path.is_file()
    assert healthy.calls.get("instruct") is None and healthy.calls.get("visual") is None


def _specs() -> dict[str, ToolSpec]:
    return {
        "text_to_video": ToolSpec("text_to_video", "render", RenderArgs, lambda a: 1),
        "tts": ToolSpec("tts", "speak", TtsArgs, lambda a: f"{a.text}@{a.rate}", lambda r: {"said": r}),
    }


def test_tool_mask_refuses_other_agents_tools():
    box = ToolBox("audio", _specs())
    assert box.call("tts", text="hi") == "hi@1.0"
    with pytest.raises(ToolMaskError, match="may not call 'text_to_video'"):
        box.call("text_to_video", shot=None)
    refused = [c for c in box.calls if not c.ok]
    assert refused and refused[0].tool == "text_to_video" and "refused" in refused[0].error


def test_tool_arguments_are_declared_once_for_the_rules_and_the_model():
    box = ToolBox("audio", _specs())
    with pytest.raises(InputError, match="tts: rate"):
        box.call("tts", text="hi", rate=9.0)  # the same limit the model is told
    (tool,) = tools_for("audio", box.registry)  # only the measuring tool, with the declared schema
    assert tool.name == "tts" and tool.args_schema is TtsArgs
    assert tool.args_schema.model_json_schema()["properties"]["rate"]["maximum"] == 2.5


class GreedyEffectsPolicy(BuiltinPolicy):
    """An effects agent that reaches for the renderer: the run must stop with a tool-mask error."""

    def plan_effects(self, ctx):
        ctx.tools.call("text_to_video", shot=None)
        return super().plan_effects(ctx)


def test_tool_mask_holds_inside_the_graph(small):
    with pytest.raises(ToolMaskError):
        generate_video("0", "warm-natural", settings=small, policy=GreedyEffectsPolicy(), run_id="greedy")
    assert not (small.runs_dir / "greedy" / "final.mp4").exists()


class NoCtaFirst(BuiltinPolicy):
    def plan_effects(self, ctx):
        plan = super().plan_effects(ctx)
        return plan if ctx.fixes else plan.model_copy(update={"cta": None})


class OverlongVoiceFirst(BuiltinPolicy):
    def plan_audio(self, ctx):
        plan = super().plan_audio(ctx)
        if ctx.fixes:
            return plan
        long = "This line goes on and on about the product, far longer than any shot could ever hold."
        return plan.model_copy(
            update={"lines": tuple(VoiceLinePlan(shot_index=ln.shot_index, text=long) for ln in plan.lines)}
        )


def test_critic_catches_missing_cta_and_the_revision_fixes_it(small):
    r = generate_video("3", "energetic-ugc", settings=small, policy=NoCtaFirst())
    first, last = r.reports[0], r.reports[-1]
    assert "cta_missing" in {v.code for v in first.violations}
    assert first.verdict == "revise" and first.revise_agent == "effects"
    assert last.verdict == "accept" and len(r.reports) == 2
    assert r.state.effects.cta is not None


def test_critic_catches_voice_longer_than_video_and_the_revision_fixes_it(small):
    r = generate_video("3", "calm-luxury", settings=small, policy=OverlongVoiceFirst())
    first = r.reports[0]
    assert "voice_overrun" in {v.code for v in first.violations} and first.revise_agent == "audio"
    assert r.reports[-1].measures["voice_overrun_s"] == 0.0
    assert r.state.tracks.voice_end_s <= r.state.visual.duration_s


def test_shortened_voice_lines_still_read():
    from recgen.agents.audio import shorten

    assert shorten("Made for stays on all day.") == "Stays on all day."
    assert shorten("Slow down. Your skin care ritual starts here.") == "Slow down."
    assert shorten("What your skin care routine is missing.") == "What your skin care routine is missing."


def test_a_long_list_of_violations_still_makes_a_valid_decision():
    from recgen.agents.critic import builtin_critique
    from recgen.schemas import Violation

    many = tuple(Violation(code=f"c{i}", agent="audio", message="x" * 120, fix="y" * 60) for i in range(12))
    d = builtin_critique(many)
    assert d.verdict == "revise" and d.revise_agent == "audio" and len(d.instruction) <= 600


class Stubborn(BuiltinPolicy):
    """An instruction model that ignores the critic: the same false claim in every brief."""

    def instruct(self, ctx):
        brief = super().instruct(ctx)
        shots = tuple(
            s.model_copy(update={"message": "Clears every rash overnight."}) if s.role == "benefit" else s
            for s in brief.shots
        )
        return brief.model_copy(update={"shots": shots})


def test_a_revision_that_changes_nothing_stops_before_rendering_and_the_run_is_not_called_done(small):
    """The critic sends the false claim back; the agent writes the same brief again, so every plan is as it
    was: the draft is not composed or measured again, the critic stops there saying why, and the run's
    status says its checks failed (run record, result) instead of 'done'."""
    import json

    mist = {"id": "m", "title": "Hydrating Rose Face Mist, Alcohol-Free, 4 fl oz"}
    r = generate_video(
        mist, "fresh-botanical", settings=small.model_copy(update={"max_revisions": 2}), policy=Stubborn()
    )
    assert [rep.verdict for rep in r.state.reports] == ["revise", "stop"]
    assert "would change nothing" in r.state.reports[-1].instruction
    assert r.state.drafts[-1].unchanged_from == 0 and r.state.drafts[-1].path == r.state.drafts[0].path
    assert sorted(p.name for p in r.run_dir.rglob("draft*.mp4")) == [r.state.drafts[0].path.name]
    assert r.status == "flagged" and r.final_path.is_file()
    record = json.loads((r.run_dir / "run.json").read_text())
    assert record["status"] == "flagged" and "unsupported_claim" in record["open_checks"]


class StubbornInWords(Stubborn):
    """Keeps the false claim, and on the revision rewrites what no viewer sees: the shots' prompts for a
    generative renderer (the procedural one draws the same frames)."""

    visual_plans = 0

    def plan_visual(self, ctx):
        plan, self.visual_plans = super().plan_visual(ctx), self.visual_plans + 1
        shots = tuple(s.model_copy(update={"prompt": s.prompt + " Really."}) for s in plan.shots)
        return plan.model_copy(update={"shots": shots}) if self.visual_plans > 1 else plan


def test_a_revision_whose_file_is_the_last_one_again_is_not_measured_and_the_run_is_flagged(small):
    r = generate_video(
        {"id": "m", "title": "Hydrating Rose Face Mist, Alcohol-Free, 4 fl oz"},
        "fresh-botanical",
        settings=small.model_copy(update={"max_revisions": 2}),
        policy=StubbornInWords(),
    )
    assert [rep.verdict for rep in r.state.reports] == ["revise", "stop"]
    last = r.state.drafts[-1]
    assert last.unchanged_from == 0 and last.render_seconds > 0 and last.plan_digest != r.state.drafts[0].plan_digest
    assert "changed no frame or sound" in r.state.reports[-1].instruction
    assert r.status == "flagged"


class StubbornButBusy(Stubborn):
    """Changes something it was not asked to (the call to action) and keeps the false claim it was."""

    def instruct(self, ctx):
        brief = super().instruct(ctx)
        return brief.model_copy(update={"cta": "Shop the mist."}) if ctx.fixes else brief


def test_a_revision_that_leaves_its_faults_as_they_were_stops_after_one_render(small):
    r = generate_video(
        {"id": "m", "title": "Hydrating Rose Face Mist, Alcohol-Free, 4 fl oz"},
        "fresh-botanical",
        settings=small.model_copy(update={"max_revisions": 2}),
        policy=StubbornButBusy(),
    )
    assert [rep.verdict for rep in r.state.reports] == ["revise", "stop"]
    assert r.state.drafts[-1].unchanged_from is None and r.state.drafts[-1].path != r.state.drafts[0].path
    assert "changed nothing it was asked to fix (unsupported_claim)" in r.state.reports[-1].instruction
    assert r.status == "flagged"


def test_a_fault_no_agent_can_fix_is_reported_at_once_not_sent_back(small, monkeypatch):
    """The product's colour comes from its title, not from any agent's plan: a colour mismatch is reported
    and the run ends flagged after one draft, instead of re-rendering the same product twice."""
    from recgen.rewards import quality

    def wrong_colour(d):
        r = quality.Result({"colour_agreement": 0.0})
        r.fail("colour_mismatch", "visual", "the title names 'Navy'; shown in 0 of 3 product shots", "draw it navy")
        return r

    checks = tuple(wrong_colour if c is quality.product_colour else c for c in quality.CHECKS)
    monkeypatch.setattr(quality.evaluate, "__defaults__", (checks,))
    r = generate_video("0", "calm-luxury", settings=small.model_copy(update={"max_revisions": 2}))
    assert [rep.verdict for rep in r.state.reports] == ["stop"]
    assert "not sent back" in r.state.reports[0].instruction
    assert len(r.state.drafts) == 1 and r.status == "flagged"


class MusicOnly(BuiltinPolicy):
    """An audio agent that plans music and no voice line."""

    def plan_audio(self, ctx):
        return super().plan_audio(ctx).model_copy(update={"lines": ()})


def test_a_run_without_voice_lines_does_not_say_the_voice_is_missing(small):
    r = generate_video("0", "calm-luxury", settings=small, policy=MusicOnly(), run_id="music-only")
    assert r.state.tracks is not None and not r.state.tracks.lines
    assert r.state.tracks.voice_backend != small.tts_backend  # the case the note was once wrongly given for
    assert not [n for n in r.state.notes if "voice is not installed" in n], r.state.notes
