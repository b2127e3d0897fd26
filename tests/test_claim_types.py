"""Copy from the facts: claims typed from real Beauty titles, names parsed (never cut mid-phrase), warnings
and notices never sold as benefits, and a brief whose lines carry the product."""

from __future__ import annotations

import random

import pytest

from recgen.rewards.grounding import check_plan, fine_print_sold, words_of
from recgen.schemas import Brief, Product, ShotBrief
from recgen.sid.catalog import load_catalog
from recgen.sid.claim_types import claim_type, split_size
from recgen.sid.facts import JOINERS, fact_sheet, parted_figure, without_brand

from .conftest import DATA_DIR


@pytest.fixture(scope="module")
def catalog(cache_dir):
    return load_catalog(DATA_DIR, cache_dir)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Water Resistant", "benefit"),
        ("Reduces Appearance of Wrinkles", "benefit"),
        ("SPF 30", "benefit"),
        ("Paraben Free", "feature"),
        ("Eau De Parfum Spray", "feature"),
        ("with Argan Oil", "ingredient"),
        ("Pure Oat Extract", "ingredient"),
        ("for Dry Skin", "use"),
        ("Suitable for Men & Women", "use"),
        ("Blackest Black", "variant"),
        ("in Aloe Fresh", "variant"),
        ("3 fl oz", "size"),
        ("Pack of 3", "size"),
        ("1 Month Supply", "size"),
        ("Packaging May Vary", "legal"),
        ("Colors may vary", "legal"),
        ("Made in Korea", "legal"),
        ("May cause irritation", "warning"),
        ("Keep out of reach of children", "warning"),
        ("NLB56", "not_a_claim"),
        ("Model No. 1936", "not_a_claim"),
        ("5.0%", "not_a_claim"),
    ],
)
def test_claim_types(text, kind):
    assert claim_type(text) == kind


def test_a_size_at_either_end_of_a_segment_is_its_own_statement():
    text = "Facial Cleanser with Activated Charcoal 4.85 oz"
    parts = [text[a:b] for a, b in split_size(text)]
    assert parts == ["Facial Cleanser with Activated Charcoal", "4.85 oz"]
    beige = "Pure Beige- 0.28 Ounce"
    assert [beige[a:b] for a, b in split_size(beige)] == ["Pure Beige", "0.28 Ounce"]
    assert split_size("32 Ounce Bottle") == [(0, len("32 Ounce Bottle"))]  # all size: one statement


# real Beauty titles (ids of Beauty.item.json): the parsed name, claims with their types, and fine print
TITLES = [
    ("518", "Men Hair Regrowth Treatment",
     {("5% Minoxidil Topical Aerosol", "ingredient"), ("Easy-to-Use Foam", "feature"), ("3 Month Supply", "size")},
     {"Packaging May Vary"}),
    ("1288", "Hair Balm", {("4 Ounce", "size")}, {"Packaging may Vary"}),
    ("1542", "Spray and Go Moisturizer", {("in Aloe Fresh", "variant"), ("6.5 Ounce", "size")}, set()),
    ("1674", "Mimi's Diva Dryer", {("Pink", "variant"), ("19 x 39-Inches", "size")}, set()),
    ("5874", "Vanish Extreme Under Eye Cream",
     {("for Dark Circles and Puffiness", "use"), ("1/2oz", "size"), ("1 Month Supply", "size")}, set()),
    ("6468", "Lure Steam Facial Hydration System", set(), set()),
    ("1311", "Total Moisture",
     {("Body Lotion", "feature"), ("Pure Oat Extract", "ingredient")}, {"Packaging May Vary"}),
    ("839", "Effortless Beauty Wide Stretch Basic Neutral Headwraps", set(), {"Colors may vary"}),
    # the brand "Its a 10" opens the title as "It's A 10": taken off all the same, not left as the name "It's"
    ("9457", "Miracle Five Minute Hair Repair Conditioner", {("for Blondes", "use"), ("5 Ounce", "size")}, set()),
    # a name cut at its length keeps a number with its unit: not 'S5500 Digital Anti Static 1' + 'Inch Ceramic …'
    ("98", "S5500 Digital Anti Static", {("1 Inch", "size"), ("Ceramic Hair Straightener", "benefit")}, set()),
    ("7311", "Vidal Sassoon Pro Series", {("1 Inch", "size"), ("Touch Control Digital Curling Iron", "benefit")},
     set()),
    # the serum's strength stays with the serum: the use is 'for Face', not 'for Face 20%'
    ("8", "Vitamin C Serum", {("for Face", "use")}, set()),
]  # fmt: skip


@pytest.mark.parametrize(("pid", "name", "claims", "fine"), TITLES)
def test_facts_from_real_titles(catalog, pid, name, claims, fine):
    f = fact_sheet(catalog.get(pid))
    assert f.name == name
    assert claims <= {(c.text, c.type) for c in f.claims}, [(c.text, c.type) for c in f.claims]
    assert {c.text for c in f.fine_print} == fine
    assert not {c.text for c in f.claims} & fine  # a notice is never a selling claim
    for c in (*f.claims, *f.fine_print):  # every statement is a span of the title, as said
        assert f.title[c.source.start : c.source.end] == c.text


def test_names_are_parsed_not_cut(catalog):
    """Over 1,500 random catalog items: no name ends on a joiner ('… Dryer by'), leaves a quote or bracket
    open, or starts on a joiner; names longer than five words end on a product noun or are whole phrases."""
    rng = random.Random(11)
    bad = []
    for p in rng.sample(catalog.products, 1500):
        name = fact_sheet(p).name
        words = name.lower().split()
        if not words:
            bad.append((p.id, name, "empty"))
            continue
        if words[-1].strip(".,") in JOINERS or words[0] in JOINERS - {"the", "a"}:
            bad.append((p.id, name, "joiner"))
        if name.count('"') % 2 or name.count("(") != name.count(")") or name.count("[") != name.count("]"):
            bad.append((p.id, name, "open quote or bracket"))
        after = p.title[p.title.find(name) + len(name) :].split()
        if name in p.title and after and parted_figure(name.split(), after[0]):
            bad.append((p.id, name, f"number parted from its unit {after[0]!r}"))
    assert not bad, bad[:10]


def test_a_number_is_parted_from_its_unit_only_where_it_measures_the_next_word():
    assert parted_figure(["Anti", "Static", "1"], "Inch")
    assert not parted_figure(["Broad", "Spectrum", "SPF", "30"], "Lotion")  # SPF takes the number
    assert not parted_figure(["Static", "1"], "-")
    assert not parted_figure(["Hair", "Dryer"], "Pink")


@pytest.mark.parametrize(
    ("title", "brand", "rest"),
    [
        ("It's A 10 Miracle Leave-In", "Its a 10", "Miracle Leave-In"),
        ("L'Oreal Paris Revitalift Cream", "L'Oreal Paris", "Revitalift Cream"),
        ("LOREAL Paris Revitalift Cream", "L'Oréal Paris", "Revitalift Cream"),  # accents folded
        ("Burt's Bees Lip Balm", "Burts Bees", "Lip Balm"),
        ("Bees Lip Balm", "Burts Bees", "Bees Lip Balm"),
        ("Dove Body Wash", None, "Dove Body Wash"),
        ("Dove", "Dove", ""),
    ],
)
def test_the_brand_opening_a_title_is_matched_without_case_or_punctuation(title, brand, rest):
    assert without_brand(title, brand) == rest


def test_a_warning_sold_as_a_benefit_is_caught():
    facts = fact_sheet(Product(id="w", title="Glow Serum, Brightens Skin, May cause irritation, 30 ml"))
    assert [c.text for c in facts.fine_print] == ["May cause irritation"]
    assert fine_print_sold("May cause irritation.", facts) == "May cause irritation"
    assert fine_print_sold("Brightens skin.", facts) is None
    brief = Brief(
        content_instruction="x", creative_instruction="y", duration_s=6.0, headline=facts.name, cta="Get yours",
        offer=None,
        shots=(ShotBrief(index=0, role="benefit", message="May cause irritation.", visual_idea="v"),),
    )  # fmt: skip
    checks = check_plan(facts, brief, ["May cause irritation.", "Brightens skin."], [], [], [], None)
    assert [c.fine_print for c in checks] == [True, False]


def test_builtin_copy_sells_with_the_facts(small, catalog):
    """40 random catalog items × the presets in turn, 15 s ads: no line sells with fine print, the hook
    leads with a benefit where the title has a short one (a long one would not be said in the hook's
    time), and at most one line (hook or CTA) carries nothing of the product (its name, brand, kind,
    family, claims or attributes)."""
    from recgen import generate_video
    from recgen.sid.creative import PRESETS
    from recgen.vocabulary import VOCAB

    rng, presets = random.Random(5), sorted(PRESETS)
    problems = []
    for i, p in enumerate(rng.sample(catalog.products, 40)):
        r = generate_video(p, presets[i % len(presets)], settings=small, stop_after="instruct", duration_s=15.0)
        f, shots = r.state.semantics.content.facts, r.state.brief.shots
        fam = VOCAB.copy_.family_words.get(f.family)
        own = set(words_of(" ".join([f.name, f.brand or "", f.kind, *(fam.model_dump().values() if fam else ())])))
        own |= {w for c in f.claims for w in words_of(c.text)} | {w for a in f.attributes for w in words_of(a.text)}
        empty = [s for s in shots if not set(words_of(s.message)) & own]
        if len(empty) > 1 or any(s.role not in ("hook", "cta") for s in empty):
            problems.append((p.id, "lines without the product", [s.message for s in empty]))
        if any(fine_print_sold(s.message, f) for s in shots):
            problems.append((p.id, "fine print sold", [s.message for s in shots]))
        benefits = [c.text for c in f.claims if c.type == "benefit" and len(c.text.split()) <= 2]
        if benefits and not any(b.lower() in shots[0].message.lower() for b in benefits):
            problems.append((p.id, "hook without the benefit", shots[0].message, benefits))
    assert not problems, problems[:5]


def test_a_line_spoken_as_a_cut_of_the_shown_one_is_one_filler_line():
    from recgen.rewards.grounding import filler_lines
    from recgen.schemas import ClaimCheck

    facts = fact_sheet(Product(id="c", title="Nose up Beauty Clip", brand="Generic"))
    said = [("voice", "Your day."), ("headline", "Made for your day."), ("voice", "Take a look."),
            ("cta", "Get yours"), ("voice", "Get yours.")]  # fmt: skip
    checks = [ClaimCheck(text=t, where=w, agent="instruct", label="neutral") for w, t in said]
    assert filler_lines(checks, facts, None, ("Get yours",)) == ["Made for your day.", "Take a look."]


@pytest.mark.parametrize(
    ("title", "brand", "opens_with"),
    [
        ("Zq-7 Clip", "Kovalen", "Kovalen"),  # no claim, no kind: the brand opens
        ("Zq-7 Clip, Paraben Free", "Kovalen", "Paraben Free"),  # no benefit: a feature opens
    ],
)
def test_a_hook_without_a_benefit_still_carries_the_product(small, title, brand, opens_with):
    from recgen import generate_video

    r = generate_video({"id": "h", "title": title, "brand": brand}, "calm-luxury", settings=small,
                       stop_after="instruct", duration_s=15.0)  # fmt: skip
    assert r.state.brief.shots[0].message.lower().startswith(opens_with.lower()), r.state.brief.shots[0].message


@pytest.mark.parametrize(
    ("line", "per_chunk", "chunks"),
    [
        ("By Its a 10.", 3, ["By Its a 10."]),  # no lone '10.' after a chunk ending on 'a'
        ("Nature's Gate Organics Oh What a Night Cream.", 4, ["Nature's Gate Organics Oh", "What a Night Cream."]),
        ("Made for dry skin. Try it today with a friend", 4, ["Made for dry skin.", "Try it today", "with a friend"]),
        ("Conditioner for Blondes, 5 Ounce.", 3, ["Conditioner for Blondes,", "5 Ounce."]),
    ],
)
def test_subtitles_break_between_phrases(line, per_chunk, chunks):
    from recgen.agents.effects import chunk_end

    words, i, out = line.split(), 0, []
    while i < len(words):
        n = chunk_end(words, i, per_chunk)
        out.append(" ".join(words[i:n]))
        i = n
    assert out == chunks
    assert not any(c.split()[-1].lower().strip(".,") in JOINERS for c in out)
