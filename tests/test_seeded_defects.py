"""Seeded defects: fourteen kinds of fault put into an otherwise good, really rendered draft. The good draft
passes every check; each fault is caught and sent to the agent that owns it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from recgen import generate_video
from recgen.rewards.quality import DraftView, evaluate
from recgen.schemas import TextBox
from recgen.tools.asr import Heard
from recgen.tools.compositor import compose
from recgen.tools.probes import probe
from recgen.tools.readback import ReadBack, read_back

PRODUCT = {
    "id": "kids-sun",
    "title": "Kids Mineral Sunscreen Lotion SPF 50, Fragrance Free, Tear Free, 3 fl oz",
    "description": "Gentle on sensitive skin.",
}


@pytest.fixture(scope="module")
def good(tmp_path_factory, cache_dir):
    from .conftest import small_settings

    s = small_settings(tmp_path_factory.mktemp("seeded"), cache_dir, read_back=True)
    s = s.model_copy(update={"duration_s": 8.0})
    r = generate_video(PRODUCT, "fresh-botanical", settings=s)
    st = r.state
    draft = st.drafts[-1]
    p = probe(draft.path)
    facts = st.semantics.content.facts
    rb = read_back(draft.path, draft.text_boxes, st.visual.duration_s, p.audio, p.audio_rate, s, facts.title)
    view = DraftView(
        draft, p, st.visual, st.tracks, st.effects, s.width, s.height, s.target_lufs,
        st.brief, facts, (), rb,
    )  # fmt: skip
    return view, st, s


def _flags(view: DraftView) -> set[tuple[str, str]]:
    return {(v.code, v.agent) for v in evaluate(view).violations}


def _say(view: DraftView, line: str) -> DraftView:
    """The brief's benefit line and the voice say `line` instead."""
    lines = list(view.tracks.lines)
    k = next(i for i, ln in enumerate(lines) if "Fragrance" in ln.text or "Gentle" in ln.text or "Tear" in ln.text)
    shot = lines[k].shot_index
    lines[k] = lines[k].model_copy(update={"text": line})
    shots = tuple(s.model_copy(update={"message": line}) if s.index == shot else s for s in view.brief.shots)
    return replace(
        view,
        tracks=view.tracks.model_copy(update={"lines": tuple(lines)}),
        brief=view.brief.model_copy(update={"shots": shots}),
    )


def _boxes(view: DraftView, boxes) -> DraftView:
    return replace(view, draft=view.draft.model_copy(update={"text_boxes": tuple(boxes)}))


def _first(view: DraftView, kind: str) -> TextBox:
    return next(b for b in view.draft.text_boxes if b.kind == kind)


def test_the_good_draft_passes(good):
    view, _, _ = good
    assert evaluate(view).violations == []


def test_a_title_colour_the_product_shows_passes_the_colour_check(good):
    """The colour check on the same file: the product's own body colour named in the title passes."""
    from recgen.schemas import ProductColour
    from recgen.tools.packshot import look_for

    view, st, _ = good
    facts = st.semantics.content.facts
    body = look_for(facts.packshot, facts.brand, facts.name).body
    named = replace(view, facts=facts.model_copy(update={"colour": ProductColour(phrase="x", name="x", rgb=body)}))
    result = evaluate(named)
    assert result.measures["colour_agreement"] == 1.0
    assert not any(v.code == "colour_mismatch" for v in result.violations)


def false_claim(v):
    return _say(v, "Protects from UV rays all day."), ("unsupported_claim", "instruct")


def negated_attribute(v):
    return _say(v, "With a fresh fragrance."), ("unsupported_claim", "instruct")


def foreign_voice_line(v):
    return _say(v, "Крем для рук с маслом ши."), ("voice_foreign", "instruct")


def markup(v):
    shots = tuple(
        s.model_copy(update={"headline": f"<b>{s.headline}</b>"}) if s.role == "product" else s for s in v.visual.shots
    )
    return replace(v, visual=v.visual.model_copy(update={"shots": shots})), ("markup_shown", "visual")


def repeated_line(v):
    lines = v.tracks.lines
    twice = (*lines[:-1], lines[1].model_copy(update={"shot_index": lines[-1].shot_index}), lines[-1])
    return replace(v, tracks=v.tracks.model_copy(update={"lines": twice})), ("repeated_line", "instruct")


def text_over_product(v):
    boxes = v.draft.text_boxes
    product, sub = next(
        (p, b)
        for p in boxes
        if p.kind == "product"
        for b in boxes
        if b.kind == "subtitle" and min(b.end, p.end) - max(b.start, p.start) > 0.3
    )
    x0, y0, x1, y1 = product.box
    moved = sub.model_copy(update={"box": (x0, (y0 + y1) // 2, x1, (y0 + y1) // 2 + 20)})
    return _boxes(v, [moved if b is sub else b for b in v.draft.text_boxes]), ("collision", "effects")


def sticker_over_headline(v):
    head = _first(v, "headline")
    tag = TextBox(kind="sticker", text="SALE", start=head.start, end=head.end, box=head.box, color="#fff", contrast=9)
    return _boxes(v, [*v.draft.text_boxes, tag]), ("collision", "effects")


def overflow(v):
    head = _first(v, "headline")
    wide = head.model_copy(update={"box": (head.box[0], head.box[1], v.width + 30, head.box[3])})
    return _boxes(v, [wide if b is head else b for b in v.draft.text_boxes]), ("safe_area", "visual")


def low_contrast_highlight(v):
    """Re-composed for real: highlight words drawn in the subtitle box's own colour."""
    fx = v.effects.model_copy(update={"accent_color": "#f4f1ec", "subtitle_backdrop": True, "text_color": "#16141a"})
    draft = compose(v.visual, GOOD_CLIPS[0], fx, v.tracks, GOOD_SETTINGS[0], v.draft.path.with_name("low.mp4"), 9)
    return replace(v, draft=draft, effects=fx), ("text_contrast", "effects")


def ui_zone(v):
    tag = next(b for b in v.draft.text_boxes if b.kind in ("sticker", "subtitle"))
    w, h = v.width, v.height
    moved = tag.model_copy(update={"box": (int(w * 0.84), int(h * 0.5), w - 2, int(h * 0.58))})
    return _boxes(v, [moved if b is tag else b for b in v.draft.text_boxes]), ("ui_zone", "effects")


def late_subtitles(v):
    late = tuple(s.model_copy(update={"start": s.start + 0.5, "end": s.end + 0.5}) for s in v.effects.subtitles)
    return replace(v, effects=v.effects.model_copy(update={"subtitles": late})), ("subtitle_sync", "effects")


def missing_cta(v):
    return _boxes(v, [b for b in v.draft.text_boxes if b.kind != "cta"]), ("cta_missing", "effects")


def silent_hook(v):
    """Nothing heard and nothing readable before 1.6 s."""
    rb = v.readback
    heard = [Heard(h.word, h.start + 1.6, h.end + 1.6) for h in rb.heard]
    frames = {t: (seen if t >= 1.6 else []) for t, seen in rb.frames.items()}
    boxes = [b.model_copy(update={"start": max(b.start, 1.6)}) for b in v.draft.text_boxes]
    quiet = replace(_boxes(v, boxes), readback=ReadBack(frames, heard, rb.seconds))
    return quiet, ("silent_hook", "visual")


def wrong_colour(v):
    """The title names a colour the drawn product does not show (the first of four it shows least)."""
    from recgen.rewards.appearance import shows_colour
    from recgen.schemas import ProductColour

    views = v.readback.products
    rgb = min(
        [(40, 160, 60), (38, 84, 196), (196, 30, 42), (240, 120, 30)],
        key=lambda c: max(shows_colour(x.inside, x.ring, c)[1] for x in views),
    )
    named = ProductColour(phrase="Signal Colour", name="signal", rgb=rgb)
    return replace(v, facts=v.facts.model_copy(update={"colour": named})), ("colour_mismatch", "visual")


DEFECTS = [
    false_claim,
    negated_attribute,
    foreign_voice_line,
    markup,
    repeated_line,
    text_over_product,
    sticker_over_headline,
    overflow,
    low_contrast_highlight,
    ui_zone,
    late_subtitles,
    missing_cta,
    silent_hook,
    wrong_colour,
]
GOOD_CLIPS: list = []
GOOD_SETTINGS: list = []


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.__name__ for d in DEFECTS])
def test_each_seeded_defect_is_caught_and_sent_to_its_agent(good, defect):
    view, state, settings = good
    GOOD_CLIPS[:] = [state.clips]
    GOOD_SETTINGS[:] = [settings]
    broken, expected = defect(view)
    assert expected in _flags(broken)


@pytest.mark.parametrize("size", [(300, 200), (120, 60), (60, 30), (400, 120)])
def test_label_text_never_runs_off_the_packshot_label(size):
    """The packshot's own label is drawn to fit: long names get smaller type, a name past three lines ends in
    an ellipsis, a word longer than the label is cut; measured on the drawn pixels."""
    import numpy as np
    from PIL import Image, ImageDraw

    from recgen.tools.label import draw_label as _label

    bw, bh = size
    names = [
        "Kids Mineral Sunscreen Lotion SPF 50 Fragrance Free Tear Free Water Resistant 80 Minutes for Sensitive Skin",
        "Supercalifragilisticexpialidociousnessextraordinaire Serum",
        "Cream",
    ]
    for name in names:
        img = Image.new("RGB", (bw + 100, bh + 100), (255, 255, 255))
        box = (50, 50, 50 + bw, 50 + bh)
        _label(ImageDraw.Draw(img), box, "Lumen Laboratories International", name, (200, 230, 255), (0, 0, 0))
        a = np.asarray(img).astype(int)
        ink = (np.abs(a - 255).sum(-1) > 30) & (np.abs(a - [200, 230, 255]).sum(-1) > 30)
        ys, xs = np.nonzero(ink)
        assert xs.size > 0  # something is written
        assert ((xs < box[0]) | (xs > box[2]) | (ys < box[1]) | (ys > box[3])).sum() == 0, (name, size)
