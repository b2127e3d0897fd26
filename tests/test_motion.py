"""Motion design on the procedural renderer: kinetic type (a headline's words rise one by one out of a mask
and end as the headline drawn whole) and backdrops that differ between products of one brand and style."""

from __future__ import annotations

import numpy as np
import pytest

from recgen.schemas import Product, ShotPlan
from recgen.tools.typography import text_block
from recgen.tools.video_gen import (
    WORD_RISE,
    WORD_START,
    RenderContext,
    ShotRenderer,
    render_procedural_shot,
)

CTX = RenderContext(width=180, height=320, fps=12, typeface="sans", text_color="#ffffff")
PALETTE = ("#101418", "#2a3440", "#e0b050", "#ffffff")


def _shot(headline: str, background: str = "gradient", asset: str = "none") -> ShotPlan:
    return ShotPlan(index=1, role="benefit", start=0.0, duration=2.0, composition="hero_center", camera="static",
                    motion=0.0, background=background, asset=asset, headline=headline, prompt="")  # fmt: skip


def test_the_words_of_a_block_tile_it_in_reading_order():
    sprite, boxes = text_block("Deep hydration for dry skin all day", "sans", 24, "#ffffff", 120, max_lines=3)
    assert len(boxes) == 7
    cover = np.zeros(sprite.shape[:2], int)
    for x0, y0, x1, y1 in boxes:
        cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()  # every pixel belongs to exactly one word
    assert sorted(boxes, key=lambda b: (b[1], b[0])) == boxes


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    out = tmp_path_factory.mktemp("motion")
    product = Product(id="k", title="Glow Serum")
    clip = render_procedural_shot(_shot("Deep hydration for dry skin"), product, PALETTE, "serum", CTX, out, seed=0)
    empty = render_procedural_shot(
        _shot(""), product, PALETTE, "serum", CTX, tmp_path_factory.mktemp("motion_bare"), seed=0
    )
    return ShotRenderer.load(clip.scene_path), ShotRenderer.load(empty.scene_path)


def _ink(frame: np.ndarray, bare: np.ndarray) -> np.ndarray:
    """Columns × rows where the headline changed the frame."""
    return np.abs(frame.astype(int) - bare.astype(int)).sum(axis=2) > 30


def _word_regions(r: ShotRenderer) -> list[tuple[slice, slice]]:
    from recgen.layout import headline_top

    hh, hw = r.headline.shape[:2]
    x, y = (r.W - hw) // 2, headline_top(r.s["layout"][3], hh, r.H)
    return [(slice(y + y0, y + y1), slice(x + x0, x + x1)) for x0, y0, x1, y1 in r.words]


def test_the_headline_rises_word_by_word_and_ends_whole(scene):
    r, bare = scene
    assert len(r.words) == 5
    mid = WORD_START + WORD_RISE * 0.9
    before, early = _ink(r.frame(0.0), bare.frame(0.0)), _ink(r.frame(mid), bare.frame(mid))
    done, later = _ink(r.frame(1.5), bare.frame(1.5)), _ink(r.frame(1.9), bare.frame(1.9))
    regions = _word_regions(r)
    assert not before.any()  # nothing before the first word starts
    assert early[regions[0]].any() and not early[regions[-1]].any()  # the first word is coming up, the last not
    assert all(done[reg].any() for reg in regions)
    assert (done == later).all()  # all up: the headline stands whole and still


def test_words_come_up_in_reading_order(scene):
    r, bare = scene
    first: dict[int, float] = {}
    for t in np.arange(0.0, 1.4, 1 / 48):
        ink = _ink(r.frame(float(t)), bare.frame(float(t)))
        for k, reg in enumerate(_word_regions(r)):
            if k not in first and ink[reg].any():
                first[k] = float(t)
    times = [first[k] for k in range(len(r.words))]
    assert times == sorted(times) and times[-1] - times[0] >= 0.2


def test_two_products_of_one_brand_and_style_get_different_backdrops(tmp_path):
    plates = []
    for pid in ("a", "b"):
        p = Product(id=pid, title="Garnier Fructis Shampoo", brand="Garnier")
        for kind in ("gradient", "spotlight", "shapes", "stripes"):
            clip = render_procedural_shot(_shot("", kind), p, PALETTE, "shampoo", CTX, tmp_path / pid / kind, seed=0)
            plates.append((pid, kind, ShotRenderer.load(clip.scene_path).bg))
    for kind in ("gradient", "spotlight", "shapes", "stripes"):
        a, b = (bg for pid, k, bg in plates if k == kind)
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0, kind
