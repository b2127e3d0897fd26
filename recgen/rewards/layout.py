"""Layout as a viewer sees it: no text over other text or over the product, and none under the platform's
own UI (the action column and the caption bar). Reads the boxes the compositor measured while drawing."""

from __future__ import annotations

from itertools import combinations

from recgen.layout import PRODUCT_COVERED, TEXT_OVERLAP, UI_ZONES, area, intersection, says_same
from recgen.schemas import AgentName, TextBox

MIN_SHARED_S = 0.1  # boxes collide only when they are on screen together this long


def _together(a: TextBox, b: TextBox) -> bool:
    return min(a.end, b.end) - max(a.start, b.start) >= MIN_SHARED_S


def owner(*boxes: TextBox) -> AgentName:
    """Subtitles, stickers and the CTA are the effects agent's; headlines and the product the visual agent's."""
    return "effects" if any(b.kind in ("subtitle", "sticker", "cta") for b in boxes) else "visual"


def collisions(boxes: tuple[TextBox, ...]) -> list[tuple[TextBox, TextBox]]:
    out = []
    for a, b in combinations(boxes, 2):
        if not _together(a, b) or a.kind == b.kind == "product":
            continue
        shared = intersection(a.box, b.box)
        if not shared:
            continue
        if "product" in (a.kind, b.kind):
            product = a if a.kind == "product" else b
            # a headline is placed with its shot's product by the visual plan; the rest must keep off it
            if shared >= PRODUCT_COVERED * area(product.box) and {a.kind, b.kind} != {"headline", "product"}:
                out.append((a, b) if a.kind != "product" else (b, a))
        elif shared >= TEXT_OVERLAP * min(area(a.box), area(b.box)):
            out.append((a, b))
    return out


def shown_twice(boxes: tuple[TextBox, ...]) -> list[tuple[TextBox, TextBox]]:
    """Pairs of texts on screen together that say the same thing: the same words, or one's words (three or
    more, in order) inside the other's — a subtitle echoing the headline above it, 'Get the deal.' over a
    GET THE DEAL button."""
    out = []
    for a, b in combinations([b for b in boxes if b.kind != "product" and b.text.strip()], 2):
        if not _together(a, b):
            continue
        if says_same(a.text, b.text):
            out.append((a, b))
    return out


def in_ui_zones(boxes: tuple[TextBox, ...], width: int, height: int) -> list[tuple[TextBox, str]]:
    out = []
    for b in boxes:
        if b.kind == "product":
            continue
        for name, (x0, y0, x1, y1) in UI_ZONES.items():
            zone = (int(x0 * width), int(y0 * height), int(x1 * width), int(y1 * height))
            if intersection(b.box, zone) > 0.05 * area(b.box):
                out.append((b, name))
    return out
