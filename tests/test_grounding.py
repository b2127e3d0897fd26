"""Grounding: every line labelled against the product's own text, negation-aware; false claims are flagged and
sent back to the agent that wrote them; the built-in policy writes none, for products no test was fitted to."""

from __future__ import annotations

import pytest

from recgen import generate_video
from recgen.agents.builtin import BuiltinPolicy
from recgen.rewards.grounding import label_line, repeated_lines
from recgen.schemas import Product
from recgen.sid.facts import fact_sheet

SUNSCREEN = Product(
    id="s",
    title="Kids Mineral Sunscreen Lotion SPF 50, Fragrance Free, Tear Free, Water Resistant, 3 fl oz",
    description="Gentle on sensitive skin.",
)
LAMP = Product(id="l", title="Gel Nail Kit with UV Lamp, 6 Colors")
BEARD = Product(id="b", title="Beard Grooming Kit for Men - Beard Oil, Balm, Comb")


@pytest.mark.parametrize(
    ("product", "line", "label"),
    [
        (SUNSCREEN, "A scent that lingers.", "unsupported"),
        (SUNSCREEN, "With a fresh fragrance.", "unsupported"),  # the text says fragrance free
        (SUNSCREEN, "Fragrance free.", "supported"),
        (SUNSCREEN, "No fragrance at all.", "supported"),
        (SUNSCREEN, "Gentle on sensitive skin.", "supported"),
        (SUNSCREEN, "SPF 50.", "supported"),
        (SUNSCREEN, "SPF 70.", "unsupported"),
        (SUNSCREEN, "A fresh start for your skin.", "neutral"),
        (SUNSCREEN, "Meet Kids Mineral Sunscreen.", "neutral"),
        (SUNSCREEN, "Meet Kids Mineral Sunscreen Lotion.", "supported"),  # "Lotion SPF 50" follows the name
        (LAMP, "Protects from UV rays.", "unsupported"),
        (LAMP, "6 Colors.", "supported"),
        (BEARD, "Healthy-looking skin.", "unsupported"),  # 'skin' is neutral only for skin care
        (BEARD, "Beard oil.", "supported"),
        (BEARD, "Shop now. 20% OFF today only.", "neutral"),
    ],
)
def test_lines_are_labelled_against_the_products_own_text(product, line, label):
    got, span, reason = label_line(line, fact_sheet(product), offer="20% OFF")
    assert got == label, reason
    assert (span is not None) == (label == "supported")


def test_a_repeated_line_is_found_but_the_cta_may_repeat():
    assert repeated_lines(["Meet X.", "Beard oil.", "Beard oil!", "Shop now.", "Shop now."], ["Shop now"]) == [
        "Beard oil!"
    ]


class FalseClaimFirst(BuiltinPolicy):
    """An instruction model that invents a claim in its first brief."""

    def instruct(self, ctx):
        brief = super().instruct(ctx)
        if ctx.fixes:
            return brief
        shots = tuple(
            s.model_copy(update={"message": "Protects from UV rays."}) if s.role == "benefit" else s
            for s in brief.shots
        )
        return brief.model_copy(update={"shots": shots})


def test_a_false_claim_goes_back_to_the_instruction_model(small):
    lamp = {"id": "lamp", "title": LAMP.title, "description": "Cures gel polish in 60 seconds."}
    r = generate_video(lamp, "bold-discount", settings=small, policy=FalseClaimFirst())
    first, last = r.state.reports[0], r.state.reports[-1]
    flagged = [v for v in first.violations if v.code == "unsupported_claim"]
    assert flagged and flagged[0].agent == "instruct" and "UV rays" in flagged[0].message
    assert first.revise_agent == "instruct"
    assert any(c.label == "unsupported" and "UV rays" in c.text for c in first.claims)
    assert last.verdict == "accept" and not any(c.label == "unsupported" for c in last.claims)


MIST = {"id": "m", "title": "Hydrating Rose Face Mist, Alcohol-Free, 4 fl oz", "description": "Sprays a fine mist."}
BEARD_KIT = {"id": "b", "title": BEARD.title, "description": "Oil and balm with argan. Made in small batches."}
BRIEFS = [
    (MIST, "fresh-botanical"),
    ({"id": "k", "title": SUNSCREEN.title, "brand": "SPF"}, "playful-pastel"),
    (BEARD_KIT, "warm-natural"),
    ({"id": "h", "title": "Wireless Bluetooth Headphones, 40h Battery, Foldable"}, "clean-clinical"),
    ({"id": "p", "title": "<i>Galaxy</i> Nail Polish &amp; Top Coat", "brand": "Nail"}, "energetic-ugc"),
    ({"id": "u", "title": "Quantum Flux Capacitor Mk II"}, "dramatic-noir"),
]  # fmt: skip


@pytest.mark.parametrize(("product", "creative"), BRIEFS)
def test_the_builtin_policy_says_only_what_is_true(small_read_back, product, creative):
    s = small_read_back.model_copy(update={"duration_s": 8.0})
    r = generate_video(product, creative, settings=s)
    final = r.state.reports[-1]
    assert not [c for c in final.claims if c.label == "unsupported" and c.where != "seen"], final.claims
    voice = [ln.text for ln in r.state.tracks.lines]
    assert not repeated_lines(voice, [r.state.brief.cta])
    # read back like a viewer: the planned text is readable in the frames, the voice is understood, and the
    # subtitles follow the words as they were heard
    assert final.measures["ocr_readback"] >= 0.8 and final.measures["voice_wer"] <= 0.4
    assert r.state.tracks.word_timing == "heard" and final.measures["readback_s"] > 0
    # the critic heard the very mix the audio step listened to (the same AAC stream): one recognition per mix
    mixes = sum(call.tool == "transcribe" for call in r.state.tool_calls)
    assert len(list((r.run_dir / "heard").glob("*.json"))) == mixes >= 1
    name = r.state.semantics.content.facts.name
    assert any(name in s.headline for s in r.state.visual.shots)  # the name is shown
    assert any(name.split()[-1] in v for v in voice)  # and said
