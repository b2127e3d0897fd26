"""Product facts from text no test fixture was fitted to: markup, brands that are not brands, kinds named in
the title or found by meaning, unknown and non-beauty products, negated attributes and traceable claims."""

from __future__ import annotations

import pytest

from recgen.schemas import Product
from recgen.sid.facts import fact_sheet, kinds
from recgen.sid.semantics import load_sid_space


@pytest.fixture(scope="module")
def encode(cache_dir):
    from .conftest import DATA_DIR

    return load_sid_space(DATA_DIR, cache_dir).encoder.encode


def _facts(encode, **fields):
    return fact_sheet(Product(**{"id": "x", **fields}), encode)


def test_the_kind_list_is_typed_and_wide():
    ks = kinds()
    assert len(ks) >= 40 and len({k.name for k in ks}) == len(ks)
    assert {k.family for k in ks} >= {"skin care", "make-up", "hair", "nails", "tools", "fragrance", "other"}
    assert any(not k.drawn for k in ks)  # non-beauty kinds are recognised, not advertised as beauty


@pytest.mark.parametrize(
    ("title", "kind", "family"),
    [
        ("Hydrating Rose Face Mist with Aloe, 4 fl oz", "face mist", "skin care"),
        ("Beard Grooming Kit for Men - Beard Oil, Balm, Comb", "beard care", "men's grooming"),
        ("Volume Mascara 黒", "mascara", "make-up"),
        ("Ultra Glossy Lip Gloss, Cherry", "lip gloss", "make-up"),  # the longer phrase wins over 'gloss'
        ("Silicone Detangling Brush for Curly Hair", "hair brush", "tools"),  # what it is, not what it is for
        ("Wireless Bluetooth Headphones, 40h Battery", "audio device", "other"),
    ],
)
def test_kinds_named_in_the_title(encode, title, kind, family):
    f = _facts(encode, title=title)
    assert (f.kind, f.family, f.kind_score) == (kind, family, 1.0)


def test_a_kind_found_by_meaning_and_an_unknown_one(encode):
    near = _facts(encode, title="Velvet Matte Lip Paint in Ruby")  # no phrase of the list, close in meaning
    assert near.family == "make-up" and 0.52 <= near.kind_score < 1.0
    unknown = _facts(encode, title="Quantum Flux Capacitor Mk II")
    assert unknown.kind == "unknown" and unknown.packshot == "box" and not unknown.drawn


def test_markup_entities_and_symbols_are_cleaned(encode):
    f = _facts(encode, title="<b>Galaxy</b> Nail Polish &amp;amp; Top Coat 💅", brand="💅")
    assert f.title == "Galaxy Nail Polish & Top Coat 💅" and "<" not in f.name and "💅" not in f.name
    assert f.brand is None and any("not a name" in w for w in f.warnings)


@pytest.mark.parametrize("brand", ["SPF", "Nail", "2024", "✨✨", "Wireless", "Generic", "UNBRANDED", "N/A"])
def test_type_words_numbers_symbols_and_no_brand_words_are_never_a_brand(encode, brand):
    assert _facts(encode, title="Daily Sunscreen SPF 30", brand=brand).brand is None


def test_a_real_brand_is_kept(encode):
    assert _facts(encode, title="Glossier Balm Dotcom", brand="Glossier").brand == "Glossier"


def test_negated_attributes_and_claims_keep_their_source(encode):
    title = "Kids Mineral Sunscreen Lotion SPF 50, Fragrance Free, Tear-Free, Water Resistant, 3 fl oz"
    f = _facts(encode, title=title, description="Gentle on sensitive skin. Made without parabens or oxybenzone.")
    negated = {a.name for a in f.attributes if a.negated}
    assert {"fragrance", "tear", "parabens"} <= negated
    assert "spf 50" in {a.name for a in f.attributes if not a.negated}
    claims = {c.text: c.source for c in f.claims}
    types = {c.text: c.type for c in f.claims}
    assert types["3 fl oz"] == "size" and types["Water Resistant"] == "benefit" and types["Fragrance Free"] == "feature"
    for text, src in claims.items():
        field = f.title if src.field == "title" else f.description
        assert field[src.start : src.end] == text
    assert "Gentle on sensitive skin" in claims and claims["Gentle on sensitive skin"].field == "description"


def test_an_emoji_only_title_still_gets_a_name_and_a_warning(encode):
    f = _facts(encode, title="💅✨💖")
    assert f.name and "💅" not in f.name and any("no drawable words" in w for w in f.warnings)


def test_what_cannot_be_drawn_is_said_not_dropped_silently(small):
    from recgen import generate_video
    from recgen.tools.typography import drawing_warnings

    warned = drawing_warnings(["Volume マスカラ", "كريم مرطب"], "sans")
    assert any("cannot draw" in w and "マ" in w for w in warned) and any("right-to-left" in w for w in warned)
    assert drawing_warnings(["Plain Latin, Ελληνικά, Кириллица"], "sans") == []
    r = generate_video({"id": "jp", "title": "Volume マスカラ Mascara, Black"}, "dramatic-noir", settings=small)
    assert any(n.startswith("effects: cannot draw") and "マ" in n for n in r.state.notes)
