"""Text no plan drew, found on whole frames: which reads count (unit tests of the rules; the seeded defects
in test_critique_file.py burn such text into real videos)."""

from __future__ import annotations

from recgen.rewards.perception import copy_read, off_frame, unplanned_text
from recgen.schemas import TextBox
from recgen.tools.ocr import Seen
from recgen.tools.readback import ReadBack, scan_times

W, H = 360, 640
HEADLINE = TextBox(kind="headline", text="Rose Mist", start=0.0, end=3.0, box=(90, 80, 270, 120), color="#fff",
                   contrast=9.0)  # fmt: skip


def _rb(t: float, *seen: Seen) -> ReadBack:
    return ReadBack(frames={t: list(seen)}, whole={t})


def test_whole_frames_are_read_every_second_from_the_opening():
    assert scan_times(6.0) == [0.5, 1.0, 1.5, 2.5, 3.5, 4.5, 5.5]


def test_text_where_no_plan_put_it_is_unplanned_and_the_planned_and_the_label_are_not():
    burned = Seen("Shop the look", (20, 400, 200, 430), 0.95)
    planned = Seen("Rose Mist", (100, 82, 260, 118), 0.97)
    label = Seen("LUMEN", (150, 300, 210, 325), 0.93)  # the packshot's own print: its brand
    small = Seen("Hydrating formula", (140, 330, 230, 338), 0.9)  # 8 px: a label's small print, not copy
    unsure = Seen("Shap tho", (20, 450, 120, 480), 0.55)
    rb = _rb(1.5, burned, planned, label, small, unsure)
    got = unplanned_text(rb, (HEADLINE,), W, H, {"lumen"}, quiet=[])
    assert [(s.text, where) for _, s, where in got] == [("Shop the look", "free")]
    assert unplanned_text(rb, (HEADLINE,), W, H, {"lumen"}, quiet=[(1.2, 1.8)]) == []  # a slide moves text
    product = TextBox(kind="product", text="", start=1.0, end=3.0, box=(0, 380, 240, 460), color="", contrast=21)
    # over the drawn product: a caption of its own words is burned in (the label's print is not)
    garble = Seen("Preles crals", (40, 400, 200, 440), 0.9)  # a curved label's 'Professionals', misread
    got = unplanned_text(_rb(1.5, *rb.frames[1.5], garble), (HEADLINE, product), W, H, {"lumen"}, quiet=[])
    assert [(s.text, where) for _, s, where in got] == [("Shop the look", "product")]
    photo = unplanned_text(rb, (HEADLINE, product), W, H, {"lumen"}, quiet=[], photos=[(0.0, 3.0)])
    assert photo == []  # the user's own photo: its print is not known, so not judged
    # the copy a viewer reads (grounded): planned text and tall confident reads, not the label's small print
    assert {s.text for s in copy_read(rb, (HEADLINE,), W, H)} == {"Shop the look", "Rose Mist", "LUMEN"}


def test_text_over_planned_text_counts_only_with_words_of_its_own():
    over = Seen("Rose Shop the look", (95, 84, 265, 116), 0.93)  # a caption burned over the headline
    misread = Seen("Rose Mlst", (100, 82, 260, 118), 0.9)
    half = Seen("Rose Mi", (100, 82, 200, 118), 0.9)  # a word-by-word reveal caught mid-word
    got = unplanned_text(_rb(1.0, over, misread, half), (HEADLINE,), W, H, set(), quiet=[])
    assert [(s.text, where) for _, s, where in got] == [("Rose Shop the look", "text")]


def test_text_cut_by_the_frames_edge():
    assert off_frame(Seen("the look", (0, 300, 90, 330), 0.9), W, H)
    assert off_frame(Seen("the look", (280, 300, 359, 330), 0.9), W, H)
    assert not off_frame(Seen("the look", (20, 300, 200, 330), 0.9), W, H)
