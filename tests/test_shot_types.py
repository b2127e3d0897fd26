"""Shots that show what they say: an ingredient as a field of its colour, a feature callout pointing at the
part it names, the label close up. The words, the parts of the product models, the plan and the pixels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from recgen.color import hex_rgb
from recgen.generate import generate_video
from recgen.schemas import Product
from recgen.sid.claim_visuals import ingredient_colour, named_part
from recgen.tools.packshot import draw_packshot, look_for
from recgen.tools.product_models import FAMILIES
from recgen.tools.product_render import part_anchor


@pytest.mark.parametrize(
    ("claim", "family", "part"),
    [  # feature claims of Beauty titles, on the family their product is drawn as
        ("Inch Ceramic Hair Straightener", "straightener", ("ceramic", "metal")),
        ("Fine Mist Sprayer", "spray", ("mist", "cap")),
        ("Fine Mist Sprayer", "dropper", None),  # a dropper has no spray head to point at
        ("Sheer wash of color from water based pigments", "lipstick", ("color", "contents")),
        ("Titanium Alloy Micro Needle Roller", "roller", ("titanium", "metal")),
        ("Long Lasting Waterproof", "pencil", None),
    ],
)
def test_the_part_a_claim_names(claim, family, part):
    assert named_part(claim, family) == part


@pytest.mark.parametrize(
    ("claim", "word", "hue"),
    [  # ingredient claims of Beauty titles, and the hue (degrees) a viewer pictures
        ("Enhanced With Tea Tree Oil & Green Tea Extract", "tea tree", (80, 160)),
        ("Jojoba and Peppermint", "jojoba", (30, 60)),
        ("with Vitamin-C", "vitamin c", (20, 45)),
        ("Pomegranate Rosemary", "pomegranate", (330, 360)),
        ("5% Minoxidil Topical Aerosol", None, None),
        ("Cheeky Brown Tanning Lotion Australian Gold", None, None),  # the brand's gold is no ingredient
    ],
)
def test_the_colour_of_the_ingredient_a_claim_names(claim, word, hue):
    import colorsys

    got = ingredient_colour(claim, brand="Australian Gold")
    if word is None:
        assert got is None
        return
    assert got[0] == word
    h = colorsys.rgb_to_hsv(*(c / 255 for c in got[1]))[0] * 360
    assert hue[0] <= h <= hue[1], h


@pytest.mark.parametrize(("family", "role"), [("pump", "cap"), ("dropper", "dark"), ("straightener", "metal")])
def test_a_callout_points_at_the_part_it_names(family, role, tmp_path):
    """The anchor lands on pixels drawn in that part's colour (the cap, the rubber bulb, the metal plates)."""
    plate = draw_packshot(family, "Lumen", "Test", 240)
    ax, ay = part_anchor(family, role)
    h, w = plate.shape[:2]
    x, y = int(ax * w), int(ay * h)
    assert plate[y, x, 3] > 200  # on the product, not beside it
    patch = plate[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2]
    patch = patch[patch[..., 3] > 200]
    want = np.array(look_for(family, "Lumen", "Test").rgb(role) if role != "metal" else (212, 212, 218), float)
    others = [look_for(family, "Lumen", "Test").rgb(r) for r in ("body",) if r != role]
    got = patch[:, :3].astype(float).mean(0)
    # nearer the part's own colour than the body's (shading darkens both alike)
    assert np.linalg.norm(got - want) < min(np.linalg.norm(got - np.array(o, float)) for o in others) + 40


def test_every_family_with_a_label_has_its_label_on_the_product():
    for family in FAMILIES:
        at = part_anchor(family, "label")
        assert at is not None, family
        assert 0 < at[0] < 1 and 0 < at[1] < 1, (family, at)


TITLE = "Silk Press Hair Straightener, Ceramic Plates, Infused with Argan Oil, Smooth Frizz-Free Hair, 1 Inch"


def test_an_ad_shows_the_ingredient_the_part_and_the_label(small):
    """One product: its ingredient is a field of the ingredient's colour, its ceramic plates get a callout (a
    line in the accent colour from the plates), its proof a close-up of the label on a band."""
    settings = small.model_copy(update={"duration_s": 15.0})
    product = Product(id="shots", title=TITLE, brand="Lumen", category="Hair Care > Styling Tools > Flat Irons")
    r = generate_video(product, "clean-clinical", settings=settings)
    shots = {s.composition: s for s in r.state.visual.shots}
    assert {"ingredient_field", "callout", "label_macro"} <= set(shots), [s.composition for s in shots.values()]
    field = shots["ingredient_field"]
    argan = np.array(ingredient_colour("Argan Oil")[1], float)
    assert hex_rgb(field.field_colour) == tuple(argan)
    clips = {c.index: c for c in r.state.clips}
    bg = np.asarray(Image.open(clips[field.index].scene_path.with_name(f"shot_{field.index:02d}_bg.png")))
    assert np.linalg.norm(bg[-bg.shape[0] // 4 :].reshape(-1, 3).mean(0) - argan) < 60  # the field is its colour
    callout = shots["callout"]
    assert callout.points_at == "metal"
    key = np.asarray(Image.open(clips[callout.index].keyframe_path).convert("RGB")).astype(int)
    accent = np.array(hex_rgb(r.state.visual.palette[2]))
    assert (np.abs(key - accent).max(2) < 30).sum() > 20  # the callout's line is drawn
    macro = shots["label_macro"]
    assert macro.role == "proof"
    scene = json.loads(clips[macro.index].scene_path.read_text())
    product = np.asarray(Image.open(clips[macro.index].scene_path.with_name(scene["plates"]["product"])))
    assert product.shape[0] > 0.6 * settings.height  # close up: the product fills most of the frame's height
    assert scene["plates"]["band"]  # and its headline sits on a band


def test_a_label_seen_close_up_at_full_size_is_printed():
    """A close-up draws the product 0.7 of a 1280-px frame tall: its label is sampled in pieces (one remap
    of more than 32,767 points failed)."""
    plate = draw_packshot("jar", "Lumen", "Whipped Body Butter", 900)
    assert plate.shape[0] == 900
    ax, ay = part_anchor("jar", "label")
    h, w = plate.shape[:2]
    label = plate[int(ay * h) - 20 : int(ay * h) + 20, int(ax * w) - 60 : int(ax * w) + 60, :3].astype(int)
    assert label.std() > 10  # printed: ink on paper, not a blank band
