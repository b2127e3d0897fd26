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
    from recgen.schemas import Subtitle

    # a caption for every voice line (the plan leaves out those a headline already shows), each 0.5 s late
    late = tuple(
        Subtitle(text=ln.text, start=ln.start + 0.5, end=ln.end + 0.5, words=(), highlight=())
        for ln in good.tracks.lines
    )
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


def test_text_shown_twice_at_once_goes_to_the_agent_that_drew_the_second(good):
    """A subtitle repeating the headline above it is caught; the good draft has none."""
    head = next(b for b in good.draft.text_boxes if b.kind == "headline")
    echo = head.model_copy(update={"kind": "subtitle", "text": f"This is {head.text}.", "box": (0, 0, 1, 1)})
    twice = good.draft.model_copy(update={"text_boxes": (*good.draft.text_boxes, echo)})
    result = evaluate(DraftView(**{**good.__dict__, "draft": twice}))
    assert ("text_twice", "effects") in {(v.code, v.agent) for v in result.violations}
    assert result.measures["text_shown_twice"] == 1
    assert evaluate(good).measures["text_shown_twice"] == 0


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Get the deal.", "GET THE DEAL", True),
        ("This is Vitamin C Serum.", "Vitamin C Serum", True),
        ("This is Organics Oh What", "Organics Oh What a Night Cream", True),
        ("This is Cream Blush.", "Cream Blush", True),
        ("Shop now", "Get it now", False),
        ("Face serum.", "Face serum for your skin-care routine.", True),
        ("Gives skin a radiant glow all day long, every day", "radiant glow", True),
        ("Gives skin a radiant glow all day long, every day", "a glow", False),  # two words, not in order
        ("Here it is.", "It is here", False),
        ("", "", False),
    ],
)
def test_what_counts_as_saying_the_same(a, b, same):
    from recgen.layout import says_same

    assert says_same(a, b) is same and says_same(b, a) is same
