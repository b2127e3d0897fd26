"""Golden plans: the built-in policy's full plan for cases that cover the space, compared field by field.

Each case is rendered small (the critic's verdicts are part of the plan), then the brief, the visual, audio
and effects plans and the critic's verdicts are compared with the stored golden JSON; a mismatch prints the
changed fields (`~ visual.shots[2].camera: 'static' → 'push_in'`). Update the goldens after a reviewed change with:
pytest tests/golden --snapshot-update
Plans are also checked for meaning, so a golden cannot silently record a bad plan.
"""

from __future__ import annotations

import json

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from recgen import generate_video
from recgen.agents.builtin import BuiltinPolicy
from recgen.plandiff import describe, field_changes

LONG_TITLE = (
    "Radiance Renewal Overnight Recovery Cream with Peptides, Ceramides, Niacinamide and Squalane for "
    "Dry, Sensitive and Mature Skin - Fragrance Free, Dermatologist Tested, Non-Comedogenic, Vegan "
    "Formula in a Recyclable Glass Jar, 1.7 Fluid Ounce / 50 Millilitres, Limited Edition Gift Set"
)


class NoCtaFirst(BuiltinPolicy):
    """A user-facing revision: the first effects plan forgets the CTA, the critic sends it back."""

    def plan_effects(self, ctx):
        plan = super().plan_effects(ctx)
        return plan if ctx.fixes else plan.model_copy(update={"cta": None})


CASES = {
    "skincare_serum_calm_luxury": ("8", "calm-luxury", {}),
    "makeup_blush_playful": ("13", "playful-pastel", {}),
    "hair_color_warm": ("21", "warm-natural", {}),
    "tools_detangler_clinical": ("10", "clean-clinical", {}),
    "nails_loud_discount": ("0", "bold-discount", {"discount_pct": 40}),
    "lashes_energetic_no_price": ("15", "energetic-ugc", {}),
    "long_title_dramatic": (
        {"id": "long", "title": LONG_TITLE, "brand": "Radiance", "price": 34.0},
        "dramatic-noir",
        {},
    ),
    "non_latin_fresh": (
        {"id": "intl", "title": "Крем для лица Свежесть", "brand": "Λάμψη", "price": 12.5, "currency": "EUR"},
        "fresh-botanical",
        {},
    ),
    "revision_missing_cta": ("3", "energetic-ugc", {"policy": NoCtaFirst()}),
}


def plan_of(r) -> dict:
    s = r.state
    return {
        "dsid": str(s.request.dsid),
        "brief": s.brief.model_dump(mode="json"),
        "visual": s.visual.model_dump(mode="json"),
        "audio": s.audio_plan.model_dump(mode="json"),
        "voice_lines": [
            {"shot": ln.shot_index, "span": ln.span, "text": ln.text, "start": ln.start, "end": ln.end}
            for ln in s.tracks.lines
        ],
        "effects": s.effects.model_dump(mode="json"),
        "critic": [
            {
                "round": c.round,
                "verdict": c.verdict,
                "revise": c.revise_agent,
                "violations": sorted(v.code for v in c.violations),
            }
            for c in s.reports
        ],
    }


def check_meaning(r) -> None:
    s = r.state
    total = sum(sh.duration for sh in s.visual.shots)
    assert abs(total - s.brief.duration_s) < 1e-3, "shot durations must sum to the target length"
    assert s.visual.shots[-1].role == "cta" and s.effects.cta is not None
    assert s.effects.cta.start >= s.visual.shots[-1].start - 1e-6, "the CTA belongs to the last shot"
    ends = {sh.index: sh.start + sh.duration for sh in s.visual.shots}
    for ln in s.tracks.lines:
        last = ln.shot_index + ln.span - 1
        assert ln.end <= ends[last] + 1e-3, f"voice line of shot {ln.shot_index} overruns the shots it spans"
    covered = [i for ln in s.tracks.lines for i in range(ln.shot_index, ln.shot_index + ln.span)]
    assert len(covered) == len(set(covered)), "two voice lines claim the same shot"
    assert s.reports[-1].verdict == "accept"


class PlanFieldsExtension(JSONSnapshotExtension):
    """A failing golden reports the plan fields that changed (path: old → new), not a JSON line diff."""

    def diff_lines(self, serialized_data, snapshot_data):
        try:
            old, new = json.loads(str(snapshot_data)), json.loads(str(serialized_data))
        except json.JSONDecodeError:
            yield from super().diff_lines(serialized_data, snapshot_data)
            return
        changes = field_changes(old, new)
        yield f"{len(changes)} plan field(s) differ from the golden (golden → now):"
        yield from describe(changes).splitlines()


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(PlanFieldsExtension)


@pytest.mark.parametrize("case", list(CASES))
def test_golden_plan(case, small, snapshot_json):
    product, creative, extra = CASES[case]
    r = generate_video(product, creative, settings=small.model_copy(update={"duration_s": 10.0}), seed=0, **extra)
    check_meaning(r)
    assert plan_of(r) == snapshot_json


def test_creative_codes_change_pace_palette_and_music(small):
    calm = generate_video("8", "calm-luxury", settings=small.model_copy(update={"duration_s": 12.0}))
    loud = generate_video("8", "bold-discount", settings=small.model_copy(update={"duration_s": 12.0}))
    assert len(loud.state.visual.shots) > len(calm.state.visual.shots)  # pace
    assert loud.state.visual.palette != calm.state.visual.palette  # palette
    assert loud.state.audio_plan.bgm.tempo_bpm > calm.state.audio_plan.bgm.tempo_bpm + 30  # music
    assert loud.state.audio_plan.bgm.mood != calm.state.audio_plan.bgm.mood


def test_a_failing_golden_names_the_changed_fields():
    golden = {"visual": {"shots": [{"camera": "static", "duration": 2.5}]}, "critic": [{"verdict": "accept"}]}
    now = {"visual": {"shots": [{"camera": "push_in", "duration": 2.5}]}, "critic": [{"verdict": "revise"}]}
    ext = PlanFieldsExtension.__new__(PlanFieldsExtension)
    lines = list(ext.diff_lines(json.dumps(now), json.dumps(golden)))
    assert lines == [
        "2 plan field(s) differ from the golden (golden → now):",
        "~ visual.shots[0].camera: 'static' → 'push_in'",
        "~ critic[0].verdict: 'accept' → 'revise'",
    ]


def test_fast_cuts_keep_their_voice_by_spanning_shots(small):
    r = generate_video("15", "energetic-ugc", settings=small.model_copy(update={"duration_s": 10.0}), seed=0)
    shots, lines = r.state.visual.shots, r.state.tracks.lines
    assert max(s.duration for s in shots) < 2.0  # fast cuts: no single shot holds a full line
    assert len(lines) >= 3 and any(ln.span == 2 for ln in lines)
    spoken = {ln.shot_index for ln in lines}
    assert {s.index for s in shots if s.role in ("product", "cta")} <= spoken  # the name and the ask are said
    check_meaning(r)
