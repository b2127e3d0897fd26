"""The product looks like the product: every family's 3-D model renders a solid silhouette with its label
inside it, every kind the catalog produces has a model, the camera can turn round it, a title's colour word
is parsed (real Beauty titles) and drawn, and the critic sees when the product on screen is not that colour."""

from __future__ import annotations

import numpy as np
import pytest

from recgen.rewards.appearance import colour_share, shows_colour
from recgen.sid.catalog import load_catalog
from recgen.sid.colour_words import colour_of
from recgen.sid.facts import fact_sheet, kinds
from recgen.tools.packshot import draw_packshot, look_for
from recgen.tools.product_models import FAMILIES, model_for
from recgen.tools.product_render import render
from recgen.tools.readback import product_view

from .conftest import DATA_DIR

PAPER = (250, 250, 250)
BODY = (200, 40, 40)


def _look(family: str):
    look = look_for(family, "Acme", "Face Serum", BODY)
    return look.__class__(**{**look.__dict__, "label": PAPER, "body": BODY, "contents": BODY, "ink": (10, 10, 10)})


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_renders_a_solid_product_with_its_label_inside(family):
    model = model_for(family)
    img = render(model, _look(family), ("Acme", "Face Serum"), 160)
    assert img.shape[0] == 160 and img.shape[2] == 4
    solid = img[..., 3] == 255
    share = solid.mean()
    assert 0.05 < share < 0.95, f"{family}: silhouette covers {share:.0%} of its frame"
    ys, xs = np.nonzero(solid)
    assert xs.min() > 0 and xs.max() < img.shape[1] - 1, f"{family}: cut at the frame's side"
    rgb = img[..., :3].astype(int)
    assert rgb[solid].std(axis=0).max() > 12, f"{family}: flat colour, no shading"
    if model.label_part is None:
        return
    # the label: the pixels that change with the paper's colour; all on the product, none outside it
    look = _look(family)
    blue = render(model, look.__class__(**{**look.__dict__, "label": (60, 90, 250)}), ("Acme", "Face Serum"), 160)
    label = np.abs(blue[..., :3].astype(int) - rgb).max(axis=2) > 40
    assert label.sum() >= 12, f"{family}: no label seen"
    assert (label & ~(img[..., 3] > 128)).sum() <= 0.02 * label.sum(), f"{family}: label outside the product"


def test_the_camera_turns_round_the_product_at_one_scale():
    model = model_for("bottle")
    look = _look("bottle")
    front, turned = render(model, look, ("Acme", "Serum"), 140), render(model, look, ("Acme", "Serum"), 140, yaw=14)
    assert front.shape[0] == turned.shape[0]
    h_front = np.nonzero(front[..., 3].max(axis=1) == 255)[0]
    h_turned = np.nonzero(turned[..., 3].max(axis=1) == 255)[0]
    assert abs(len(h_front) - len(h_turned)) <= 2  # the same product size at both angles
    assert np.abs(front[..., :3].astype(int).mean((0, 1)) - turned[..., :3].astype(int).mean((0, 1))).max() < 40
    w = min(front.shape[1], turned.shape[1])
    assert not np.array_equal(front[:, :w], turned[:, :w])  # the label moved with the turn


def test_every_drawn_kind_has_its_own_model_and_box_is_rare():
    names = set(FAMILIES) | {"sheet_mask", "device"}
    drawn = [k for k in kinds() if k.drawn]
    assert all(k.packshot in names for k in kinds()), [k.name for k in kinds() if k.packshot not in names]
    boxed = [k.name for k in drawn if k.packshot == "box"]
    # cartons and sets are boxes in life; the rest have a shape of their own
    assert len(boxed) <= 10, boxed


@pytest.mark.parametrize(
    ("item", "phrase", "name"),
    [
        (10140, "Navy", "navy"),  # OPI Nail Lacquer - Russian Navy Suede
        (2084, "Dark Navy Blue", "navy blue"),  # ... Midnight Sky Dark Navy Blue
        (1076, "Rose Gold", "rose gold"),  # Revlon Rose Gold Professional Curling Iron
        (4172, "Jet Black", "jet black"),  # NYX ... The Curve Liner Jet Black
        (2349, "Medium Beige", "beige"),  # Maybelline ... Eraser Treatment Makeup, Medium Beige 300
        (194, "Dark Burgundy", "burgundy"),  # L'Oreal Feria Hair Color, 36 Dark Burgundy Brown
        (71, "Medium Ash Brown", "ash brown"),  # Clairol Root Touch-Up 5A Medium Ash Brown
        (1242, "Hot Pink", "hot pink"),  # Herstyler ... Hot Pink Flat Iron
        (592, None, None),  # Body Wash African Black Soap: an ingredient
        (130, None, None),  # ... Green Tea Extract: an ingredient
        (7825, None, None),  # Black Seed Facial Cream
        (1415, None, None),  # Moroccan Rose Water
        (4936, None, None),  # Pacifica French Lilac Body Wash: a scent on a body wash
        (4216, None, None),  # Naked Bee lotion - Orange Blossom Honey: a scent
        (3585, None, None),  # Blue Lizard Australian Sunscreen: the brand's word
        (100, None, None),  # Red Cherry False Eyelashes: the brand's words
    ],
)
def test_colour_words_from_real_titles(catalog, item, phrase, name):
    facts = fact_sheet(catalog.products[item], None)
    got = facts.colour
    assert (got.phrase if got else None) == phrase, facts.title
    assert (got.name if got else None) == name


def test_modifiers_change_the_colour_and_scents_count_only_on_shade_products():
    blue = colour_of("Nail Polish Blue", None, "nail polish", "nails")
    deep = colour_of("Nail Polish Deep Blue", None, "nail polish", "nails")
    pale = colour_of("Nail Polish Pale Blue", None, "nail polish", "nails")
    assert sum(deep.rgb) < sum(blue.rgb) < sum(pale.rgb)
    assert colour_of("Lavender Lipstick", None, "lipstick", "make-up").name == "lavender"
    assert colour_of("Lavender Body Lotion", None, "body lotion", "bath and body") is None


def test_the_named_colour_is_drawn_where_a_viewer_looks():
    navy = colour_of("OPI Nail Lacquer Russian Navy Suede", "OPI", "nail polish", "nails")
    polish = draw_packshot("polish", "OPI", "Russian Navy Suede", 140, navy.rgb)
    solid = polish[..., 3] == 255
    assert colour_share(polish[..., :3][solid], navy.rgb) > 0.25  # the lacquer behind the glass
    other = draw_packshot("polish", "OPI", "Russian Navy Suede", 140, (40, 160, 60))
    assert colour_share(other[..., :3][other[..., 3] == 255], navy.rgb) < 0.05


def _frame_with(sprite: np.ndarray, background: tuple[int, int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    frame = np.zeros((320, 180, 3), np.uint8) + np.array(background, np.uint8)
    h, w = sprite.shape[:2]
    x, y = (180 - w) // 2, 80
    a = sprite[..., 3:4] / 255.0
    frame[y : y + h, x : x + w] = (sprite[..., :3] * a + frame[y : y + h, x : x + w] * (1 - a)).astype(np.uint8)
    ys, xs = np.nonzero(sprite[..., 3] > 60)
    return frame, (x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1)


def test_the_critic_sees_a_product_that_is_not_the_colour_its_title_names():
    navy = colour_of("Russian Navy Polish", None, "nail polish", "nails").rgb
    right = draw_packshot("polish", "OPI", "Russian Navy", 150, navy)
    wrong = draw_packshot("polish", "OPI", "Russian Navy", 150, (40, 160, 60))
    for sprite, expected in ((right, True), (wrong, False)):
        frame, box = _frame_with(sprite, (236, 200, 210))
        view = product_view(frame, box, 1.0, (180, 320))
        assert shows_colour(view.inside, view.ring, navy)[0] is expected
    # a navy background is not a navy product: a white bottle on it fails
    white = draw_packshot("polish", "OPI", "Russian Navy", 150, (245, 245, 245))
    frame, box = _frame_with(white, navy)
    view = product_view(frame, box, 1.0, (180, 320))
    assert shows_colour(view.inside, view.ring, navy)[0] is False
    # and a navy bottle on navy is no false alarm: judged navy, or not judged where it melts into the background
    frame, box = _frame_with(right, navy)
    view = product_view(frame, box, 1.0, (180, 320))
    assert shows_colour(view.inside, view.ring, navy)[0] is not False


@pytest.fixture(scope="module")
def catalog(cache_dir):
    return load_catalog(DATA_DIR, cache_dir)
