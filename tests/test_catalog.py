"""The Beauty catalog as the one catalog: facts from real titles, ad policy on the seller's words, kinds from
category paths, and the D-SID space's fingerprint guarding caches and runs."""

from __future__ import annotations

import json

import pytest

from recgen.errors import InputError, RunStoreError
from recgen.sid.ad_policy import breach, policy_rules, strip_policy_words
from recgen.sid.catalog import load_catalog
from recgen.sid.facts import fact_sheet, kind_of_path

from .conftest import DATA_DIR

# real catalog items, across top-level categories: (id, kind, a claim kept, (claim dropped, rule) or None)
TITLES = [
    ("0", "nail polish", "Simmer and Shimmer", None),  # Makeup > Nails > Nail Polish
    ("8", "face serum", "With Vegan Hyaluronic Acid & Vitamin E", ("Repairs Wrinkles & Fades Age Spots", "medical")),
    ("8", "face serum", "Gives Skin a Radiant & Youthful Glow", ("Guaranteed Results", "guarantee")),
    ("10", "hair brush", "Popular professional comb styles in an elegant tortoise finish", None),  # Hair > Combs
    ("150", "perfume", "Eau De Parfum Spray", None),  # Fragrance > Women's > Eau de Parfum
    ("536", "conditioner", "Hair Masque", ("Strongest Protein Available", "superlative")),
    (
        "941",
        "bath accessory",
        "Shower or Bath Brush long handled",
        ("1 YEAR GUARANTEE ** Free Dry Brushing eBook **", "guarantee"),
    ),  # noqa: E501
    ("1422", "mascara", None, ("LENGTH AND VOLUME for SUPER LONG LASHES GUARANTEED!", "guarantee")),
    ("81", "face peel", None, ("Sun Damage and Fine Lines", "medical")),  # 'treats Acne, Scars, Sun Damage …'
    ("4622", "eye cream", "Organic Under Eye Cream", ("Facial Lines and Wrinkles Naturally", "unrealistic_result")),
    ("1968", "cleanser", "Original Formula", ("Neutrogena Transparent Facial Bar Bonus Pack", "offer_in_title")),
    ("4528", "body lotion", None, ("Skinny Cream Clinically Proven Cellulite Reduction", "unsubstantiated_proof")),
    ("2041", "wig", None, None),  # Hair Extensions: 'Hot Sale' in a title segment that is not a claim kept
]


@pytest.fixture(scope="module")
def catalog(cache_dir):
    return load_catalog(DATA_DIR, cache_dir)


@pytest.mark.parametrize(("item", "kind", "kept", "dropped"), TITLES)
def test_fact_sheets_from_titles_alone(catalog, item, kind, kept, dropped):
    p = catalog.get(item)
    facts = fact_sheet(p)
    assert facts.kind == kind, (p.title, p.categories)
    claims = [c.text for c in facts.claims]
    if kept:
        assert kept in claims
    if dropped:
        text, rule = dropped
        assert text not in claims
        hit = next(d for d in facts.dropped if d.text == text)
        assert hit.rule == rule and hit.reason and hit.words
        assert facts.title[hit.source.start : hit.source.end] == text  # traceable to the title
    for c in facts.claims:  # nothing kept breaks a rule
        assert breach(c.text) is None, c.text


def test_every_category_path_of_the_catalog_names_a_kind(catalog):
    paths = {p.categories for p in catalog.products}
    assert len(paths) > 200
    missing = [path for path in paths if kind_of_path(path) is None]
    assert missing == []
    # qualified keys win over bare ones: 'Oils' under bath is a soak, under body moisturizers a lotion
    assert kind_of_path(("Beauty", "Bath & Body", "Bath", "Oils")).name == "bath soak"
    assert kind_of_path(("Beauty", "Skin Care", "Body", "Moisturizers", "Oils")).name == "body lotion"
    # another department's segments end the path
    assert kind_of_path(("Beauty", "Makeup", "Eyes", "Eye Shadow", "Clothing, Shoes & Jewelry", "Novelty")).name == (
        "eyeshadow"
    )


def test_category_first_then_the_title_refines_within_the_family():
    from recgen.schemas import Product

    base = {"id": "x", "categories": ("Beauty", "Skin Care", "Face", "Treatments & Masks")}
    clay = fact_sheet(Product(title="Freeman Facial Clay Mask, Avocado & Oatmeal", **base))
    assert clay.kind == "clay mask"  # generic treatments, the title names the kind: same family
    other = fact_sheet(Product(title="Moroccan Argan Hair Oil", **base))
    assert other.kind == "face treatment"  # a hair kind named in a skin-care path does not override it
    lotion = fact_sheet(Product(title="Jergens Ultra Healing Moisturizer", id="y",
                                categories=("Beauty", "Skin Care", "Body", "Moisturizers", "Lotions")))  # fmt: skip
    assert lotion.kind == "body lotion" and lotion.family == "bath and body"


def test_policy_rules_are_data_with_reasons_and_sources():
    rules = policy_rules()
    assert {r.id for r in rules} >= {"superlative", "guarantee", "medical", "unrealistic_result"}
    assert all(r.reason and r.source and r.patterns for r in rules)
    cases = {
        "Best Natural Formula": "superlative",
        "#1 Selling Mirror": "superlative",
        "100% Satisfaction Guarantee": "guarantee",
        "Cures dry skin": "medical",
        "Heals cracked heels": "medical",
        "Repairs Wrinkles": "medical",
        "Treats Acne and Scars": "medical",
        "Regrows thinning hair": "medical",
        "Before and after in 7 days": "unrealistic_result",
        "Clinically Proven To Eliminate Cellulite": "unrealistic_result",
        "As Seen on Dr Oz": "unsubstantiated_proof",
        "LAUNCH SALE": "offer_in_title",
    }
    for text, rule in cases.items():
        hit = breach(text)
        assert hit is not None and hit[0].id == rule, (text, hit and hit[0].id)
    for fine in ("Damage & Color Repair Conditioner", "LED/UV Cured Nail Strengthener", "Light for Curing Gel",
                 "Eliminates spills with droppers", "Reduces the look of fine lines", "Healthy Look Hair Color",
                 "Fragrance Free", "Vitamin C 20%"):  # fmt: skip
        assert breach(fine) is None, fine
    assert strip_policy_words("BEST Anti Aging Serum") == "Anti Aging Serum"
    assert strip_policy_words("#1 BEST Vitamin C+E Serum") == "Vitamin C+E Serum"


def test_the_names_words_are_not_held_against_a_line_but_claims_are():
    from recgen.rewards.grounding import policy_breach
    from recgen.schemas import Product

    facts = fact_sheet(Product(id="c", title="Curel Ultra Healing Lotion, Fragrance Free, 13 Ounce", brand="Curel"))
    assert facts.name == "Ultra Healing Lotion" and "Fragrance Free" in [c.text for c in facts.claims]
    assert policy_breach("Meet Ultra Healing Lotion.", facts) is None
    rule, why = policy_breach("It heals dry skin overnight.", facts)
    assert rule == "medical" and "heals" in why


def test_the_video_cache_refuses_codes_of_another_space(tmp_path):
    from recgen.serving.cache import VideoCache

    video = tmp_path / "v.mp4"
    video.write_bytes(b"x" * 10)
    VideoCache(tmp_path / "cache", space="beauty-text-aaaa").put("8", (1, 2, 3, 0), (3, 1), video)
    again = VideoCache(tmp_path / "cache", space="beauty-text-aaaa")
    assert again.lookup("8", (1, 2, 3, 0), (3, 1)).case == "hit"
    with pytest.raises(InputError, match="keyed by the content codes of D-SID space beauty-text-aaaa"):
        VideoCache(tmp_path / "cache", space="beauty-text-bbbb")
    # a cache from before caches recorded their space is not trusted with any space
    old = VideoCache(tmp_path / "old")
    old.put("8", (1, 2), (3, 1), video)
    with pytest.raises(InputError, match="unrecorded space"):
        VideoCache(tmp_path / "old", space="beauty-text-aaaa")


def test_a_run_made_in_another_space_is_not_resumed(small):
    from recgen import generate_video

    r = generate_video("8", "calm-luxury", settings=small, stop_after="instruct")
    record = json.loads((r.run_dir / "run.json").read_text())
    assert record["request"]["space"].startswith("beauty-text-") and r.status == "paused"
    assert record["space"] == record["request"]["space"]
    dropped = {d["claim"]: d["rule"] for d in record["policy_dropped"]}  # the run record says what was dropped
    assert dropped["Guaranteed Results"] == "guarantee" and dropped["Repairs Wrinkles & Fades Age Spots"] == "medical"
    record["request"]["space"] = "beauty-text-0000000000000000"
    (r.run_dir / "run.json").write_text(json.dumps(record))
    with pytest.raises(RunStoreError, match="made in beauty-text-0000000000000000"):
        generate_video(resume=r.run_id, settings=small)


def test_any_catalog_item_makes_a_video(small, catalog):
    """A sample drawn across the whole id range (seeded), far from the 31 items that once had text: each
    makes a finished video whose record names the shared space, and the critic finds no line that breaks ad
    policy or says what the title does not."""
    import numpy as np

    from recgen import generate_video

    ids = [str(i) for i in np.random.default_rng(37).choice(len(catalog), 3, replace=False)]
    assert all(int(i) > 30 for i in ids)
    for item in ids:
        r = generate_video(item, "bold-discount", settings=small)
        assert r.final_path is not None and r.final_path.is_file(), (item, r.status)
        record = json.loads((r.run_dir / "run.json").read_text())
        assert record["request"]["space"] == record["space"] and record["request"]["product"]["id"] == item
        facts = r.state.semantics.content.facts
        assert facts.kind != "unknown" and facts.title == catalog.get(item).title
        last = r.state.reports[-1]
        assert not [v for v in last.violations if v.code in ("policy_breach", "unsupported_claim")], item


def test_offer_wording_is_the_callers_to_say_when_the_request_has_an_offer():
    from recgen.rewards.grounding import policy_breach
    from recgen.schemas import Product

    facts = fact_sheet(Product(id="n", title="OPI Nail Lacquer, Simmer and Shimmer", brand="OPI"))
    assert policy_breach("40% OFF", facts, offer="40% off") is None  # the request's own discount
    assert policy_breach("40% OFF", facts)[0] == "offer_in_title"  # no offer given: not the ad's to claim
    assert policy_breach("Guaranteed results", facts, offer="40% off")[0] == "guarantee"


def test_a_placeholder_title_is_not_shown_as_a_name(catalog):
    """Seven catalog items have a title like 'title_5336' (a gap in the data): the ad names the kind their
    category path gives, claims nothing from the placeholder, and the fact sheet says why."""
    placeholders = [p for p in catalog.products if p.title.startswith("title_")]
    assert len(placeholders) == 7
    for p in placeholders:
        facts = fact_sheet(p)
        assert facts.name == facts.kind.capitalize() and "title_" not in facts.name and not facts.claims
        assert any("placeholder" in w for w in facts.warnings)
    from recgen.schemas import Product

    assert fact_sheet(Product(id="x", title="Product 5 Hair Oil")).name == "Product 5 Hair Oil"  # a name, kept
