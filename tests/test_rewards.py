"""The critic's checks on a real rendered draft: the good draft passes, each seeded fault is flagged and sent
to the agent that owns it, a new check is one function in the list, and the total penalises violations."""

from __future__ import annotations

import pytest

from recgen import generate_video
from recgen.rewards.combine import VIOLATION_PENALTY, scores, total
from recgen.rewards.quality import CHECKS, DraftView, Result, evaluate
from recgen.tools.probes import probe


@pytest.fixture(scope="module")
def good(tmp_path_factory, cache_dir) -> DraftView:
    from .conftest import small_settings

    s = small_settings(tmp_path_factory.mktemp("rewards"), cache_dir)
    r = generate_video("8", "fresh-botanical", settings=s, discount_pct=20)
    st = r.state
    draft = st.drafts[-1]
    return DraftView(draft, probe(draft.path), st.visual, st.tracks, st.effects, s.width, s.height, s.target_lufs)


def _codes(view: DraftView) -> set[tuple[str, str]]:
    return {(v.code, v.agent) for v in evaluate(view).violations}


def test_the_good_draft_passes_every_check(good):
    result = evaluate(good)
    assert result.violations == []
    assert {"lufs", "cut_beat_error_s", "subtitle_sync_error_s", "cta_seconds_at_end"} <= set(result.measures)


def test_cuts_off_the_beat_go_to_the_visual_agent(good):
    beat = 60 / 120  # any shift of a quarter beat or more is well past the tolerance at these tempos
    shots = [good.visual.shots[0]] + [
        s.model_copy(update={"start": round(s.start + 0.3 * beat, 3)}) for s in good.visual.shots[1:]
    ]
    view = DraftView(**{**good.__dict__, "visual": good.visual.model_copy(update={"shots": tuple(shots)})})
    assert ("cut_off_beat", "visual") in _codes(view)


def test_late_subtitles_and_a_missing_cta_go_to_the_effects_agent(good):
    late = tuple(s.model_copy(update={"start": s.start + 0.5, "end": s.end + 0.5}) for s in good.effects.subtitles)
    view = DraftView(**{**good.__dict__, "effects": good.effects.model_copy(update={"subtitles": late})})
    assert ("subtitle_sync", "effects") in _codes(view)
    no_cta = good.draft.model_copy(update={"text_boxes": tuple(b for b in good.draft.text_boxes if b.kind != "cta")})
    assert ("cta_missing", "effects") in _codes(DraftView(**{**good.__dict__, "draft": no_cta}))


def test_a_new_reward_is_one_function_in_the_list(good):
    def short_ad(d: DraftView) -> Result:
        r = Result({"ad_seconds": d.probe.duration})
        if d.probe.duration < 30:
            r.fail("too_short", "visual", "the ad is under 30 s", "plan more shots")
        return r

    result = evaluate(good, (*CHECKS, short_ad))
    assert abs(result.measures["ad_seconds"] - good.visual.duration_s) < 0.2
    assert [v.code for v in result.violations] == ["too_short"]


def test_total_is_the_mean_score_less_a_penalty_per_violation(good):
    result = evaluate(good)
    sc = scores(result.measures, good.target_lufs)
    late = evaluate(DraftView(**{**good.__dict__, "tracks": good.tracks.model_copy(update={"voice_end_s": 99.0})}))
    assert total(sc, []) == pytest.approx(sum(sc.values()) / 3, abs=1e-4)
    assert total(sc, late.violations) == pytest.approx(total(sc, []) - VIOLATION_PENALTY * len(late.violations))
