"""Where things go on a 9:16 frame: the platform's safe area and the sizes and places of text.

One module, so the agent that plans text, the renderer that draws it and the critic that checks it use the
same numbers (all fractions of the frame)."""

from __future__ import annotations

import re

SAFE_TOP, SAFE_BOTTOM = 0.08, 0.82  # platform UI covers the top and the bottom bands
HEADLINE_TOP = 0.09  # a shot's headline never starts above this
HEADLINE_BOTTOM = 0.59  # … nor ends below this (the subtitle band starts under it)
STICKER_Y = {"top": 0.27, "mid": 0.45}  # top of a price/discount sticker, by its anchor
SUBTITLE_SIZE = 0.038  # subtitle font size, of the frame height
SUBTITLE_FILL = 0.92  # share of the width between the side margins that a subtitle line may use
SUBTITLE_Y = 0.71  # centre of the subtitle band (0.64 while the CTA button is up)
SUBTITLE_Y_WITH_CTA = 0.64
CTA_Y = 0.76
SUB_TAIL_S = 0.15  # a caption stays this long after its last word is said
ECHO_MARGIN_S = 0.3  # a caption left out for an echo may be this far from the text that says the same


def subtitle_size(height: int) -> int:
    return int(height * SUBTITLE_SIZE)


def subtitle_width(width: int, safe_margin: float) -> int:
    """The widest a subtitle line is drawn: inside the effects plan's side margins, clear of the action column."""
    return min(int(width * (1 - 2 * safe_margin) * SUBTITLE_FILL), text_width(width, SUBTITLE_Y, 1.0))


def text_width(width: int, y: float, wide: float) -> int:
    """The widest centred text at height `y` (a fraction of the frame): `wide` of the frame, and narrower
    where the platform's action column is, so the text keeps clear of it."""
    x0, y0, _, y1 = UI_ZONES["action column"]
    if y0 <= y <= y1:
        return int(width * min(wide, 2 * (x0 - 0.5) * 0.96))
    return int(width * wide)


def headline_top(head_y: float, sprite_h: int, frame_h: int) -> int:
    """Top of a headline centred at `head_y`: below HEADLINE_TOP, and ending above the subtitle band."""
    top = min(frame_h * head_y - sprite_h / 2, frame_h * HEADLINE_BOTTOM - sprite_h)
    return int(max(frame_h * HEADLINE_TOP, top))


# the platform's own UI on a 9:16 feed: the action column on the right (like, comment, share) and the caption
# bar at the bottom, as fractions (x0, y0, x1, y1) of the frame
UI_ZONES: dict[str, tuple[float, float, float, float]] = {
    "action column": (0.86, 0.38, 1.0, 0.80),
    "caption bar": (0.0, 0.86, 1.0, 1.0),
}
TEXT_OVERLAP = 0.15  # two texts collide when they share this much of the smaller one's area
PRODUCT_COVERED = 0.12  # text covers the product when it hides this much of the product's area


def intersection(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


def area(a: tuple[int, int, int, int]) -> int:
    return max(0, a[2] - a[0]) * max(0, a[3] - a[1])


MIN_ECHO_WORDS = 3  # a shorter run of words shared by two texts (a name, "shop now" inside a line) is no echo
ECHO_SHARE = 0.6  # … nor is a run that is a small part of both


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9%$']+", text.lower().replace("’", "'"))


def says_same(a: str, b: str) -> bool:
    """Two texts a viewer would read as the same words twice: equal word for word, one (of two words or
    more) wholly inside the other ('Face serum.' under the headline 'Face serum for your routine.'), or
    sharing a run of three or more words in order that is most of the shorter one ('This is Organics Oh
    What' under 'Organics Oh What a Night Cream')."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    if wa == wb:
        return True
    run, short = _longest_run(wa, wb), min(len(wa), len(wb))
    if run == short >= 2:  # a text of two words or more wholly inside the other
        return True
    return run >= MIN_ECHO_WORDS and run >= ECHO_SHARE * short


def _longest_run(a: list[str], b: list[str]) -> int:
    best, prev = 0, [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                cur[j + 1] = prev[j] + 1
                best = max(best, cur[j + 1])
        prev = cur
    return best


def echoed(text: str, start: float, end: float, shown: list[tuple[str, float, float]]) -> bool:
    """`text`, on screen from `start` to `end`, says what another text shown at the same time already says
    (`shown`: text, start, end)."""
    return any(min(end, e) - max(start, s) >= 0.1 and says_same(text, t) for t, s, e in shown)
