"""Procedural packshots: a recognisable container for the product type, in brand colours, name on the label.

The sample products have no photos, so the renderer draws one: dropper bottle, jar, tube, palette, lash box,
polish bottle, lipstick, pen, sheet mask, spray bottle, box, comb or device. A user image replaces it.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from recgen.tools.typography import fit_font, printable

SS = 2  # supersampling factor for smooth edges


def brand_colors(brand: str | None, title: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """A stable body and label colour per brand (the data has no brand colours, so the name picks them)."""
    h = int(hashlib.md5((brand or title).encode()).hexdigest()[:6], 16)
    hue = (h % 360) / 360
    body = colorsys.hsv_to_rgb(hue, 0.55 + (h >> 9) % 30 / 100, 0.55 + (h >> 13) % 30 / 100)
    label = colorsys.hsv_to_rgb(hue, 0.08, 0.97)
    return tuple(int(c * 255) for c in body), tuple(int(c * 255) for c in label)  # type: ignore[return-value]


def _shade(c: tuple[int, int, int], k: float) -> tuple[int, int, int, int]:
    return (*(int(min(255, max(0, v * k))) for v in c), 255)  # type: ignore[return-value]


def _label_lines(brand_txt: str, name_txt: str, w: int, h: float, scale: float):
    """Brand and name fonts and lines at `scale` of their natural sizes, and the block's height."""
    fb, lb = fit_font(brand_txt or "•", "serif", w, 1, max(6, int(h * 0.34 * scale)), bold=True)
    fn, ln = fit_font(name_txt or " ", "sans", w, 3, max(6, int(h * 0.16 * scale)), bold=False)
    height = h * 0.1 + len(lb) * fb.size * 1.15 + h * 0.04 + len(ln) * fn.size * 1.15
    return fb, lb, fn, ln, height


def _clip(line: str, f, w: int) -> str:
    """`line` cut to `w` pixels, ending in an ellipsis when cut."""
    if f.getlength(line) <= w:
        return line
    line = line.rstrip("…")
    while line and f.getlength(line + "…") > w:
        line = line[:-1]
    return line.rstrip() + "…"


def _label(
    d: ImageDraw.ImageDraw,
    box: tuple[float, float, float, float],
    brand: str,
    name: str,
    fill: tuple[int, int, int],
    ink: tuple[int, int, int],
) -> None:
    """The label and its text, which stays inside it: smaller type for long names, and a name that still does
    not fit in three lines ends with an ellipsis rather than running off the label."""
    x0, y0, x1, y1 = box
    d.rounded_rectangle(box, radius=int((x1 - x0) * 0.06), fill=(*fill, 255))
    w, h = int((x1 - x0) * 0.86), y1 - y0
    brand_txt, _ = printable(brand.upper() or "", "serif")
    name_txt, _ = printable(name, "sans")
    scale = 1.0
    fb, lb, fn, ln, height = _label_lines(brand_txt, name_txt, w, h, scale)
    while height > h * 0.96 and scale > 0.3:
        scale *= 0.85
        fb, lb, fn, ln, height = _label_lines(brand_txt, name_txt, w, h, scale)
    if " ".join(ln).split() != name_txt.split():  # cut to three lines: say so on the label itself
        ln = [*ln[:-1], _clip((ln[-1] if ln else "") + "…", fn, w)]
    lb = [_clip(x, fb, w) for x in lb]
    ln = [_clip(x, fn, w) for x in ln]  # a single word longer than the label
    while ln and height > h * 0.96:  # tiny labels: fewer name lines
        ln = ln[:-1]
        height -= fn.size * 1.15
    y = y0 + h * 0.1
    for line in lb:
        d.text(((x0 + x1) / 2, y), line, font=fb, fill=(*ink, 255), anchor="ma")
        y += fb.size * 1.15
    y += h * 0.04
    for line in ln:
        d.text(((x0 + x1) / 2, y), line, font=fn, fill=(*ink, 235), anchor="ma")
        y += fn.size * 1.15


def _glass_highlight(d: ImageDraw.ImageDraw, x: float, y0: float, y1: float, w: float) -> None:
    d.rounded_rectangle((x, y0, x + w, y1), radius=int(w / 2), fill=(255, 255, 255, 70))


class _Pack(NamedTuple):
    """One packshot being drawn: the canvas, its size, and the product's colours and label text."""

    img: Image.Image
    d: ImageDraw.ImageDraw
    W: float
    H: float
    cx: float
    body: tuple[int, int, int]
    label: tuple[int, int, int]
    ink: tuple[int, ...]
    brand: str
    name: str
    kind: str


def _dropper(p: _Pack) -> None:
    img, d, W, H, cx, body, label, ink, brand, name, kind = p
    bw, bh = W * 0.52, H * 0.55
    top = H - bh - H * 0.04
    d.rounded_rectangle((cx - bw / 2, top, cx + bw / 2, H * 0.96), radius=int(bw * 0.18), fill=_shade(body, 0.8))
    d.rectangle((cx - bw * 0.22, top - H * 0.08, cx + bw * 0.22, top + 4), fill=(40, 36, 34, 255))
    d.rectangle((cx - bw * 0.26, top - H * 0.14, cx + bw * 0.26, top - H * 0.07), fill=(200, 170, 110, 255))
    d.ellipse((cx - bw * 0.2, top - H * 0.36, cx + bw * 0.2, top - H * 0.12), fill=(30, 28, 28, 255))
    _label(d, (cx - bw * 0.4, top + bh * 0.25, cx + bw * 0.4, top + bh * 0.8), brand, name, label, ink)
    _glass_highlight(d, cx - bw * 0.44, top + bh * 0.08, top + bh * 0.9, bw * 0.06)


def _jar(p: _Pack) -> None:
    img, d, W, H, cx, body, label, ink, brand, name, kind = p
    jw, jh = W * 0.86, H * 0.42
    top = H * 0.96 - jh
    d.rounded_rectangle((cx - jw / 2, top, cx + jw / 2, H * 0.96), radius=int(jw * 0.1), fill=_shade(body, 0.9))
    d.rounded_rectangle(
        (cx - jw * 0.53, top - H * 0.14, cx + jw * 0.53, top + H * 0.02), radius=int(jw * 0.06), fill=(*label, 255)
    )
    d.rectangle((cx - jw * 0.53, top - H * 0.02, cx + jw * 0.53, top + H * 0.02), fill=_shade(label, 0.8))
    _label(d, (cx - jw * 0.4, top + jh * 0.2, cx + jw * 0.4, top + jh * 0.85), brand, name, label, ink)


def _tube_or_mask(p: _Pack) -> None:
    img, d, W, H, cx, body, label, ink, brand, name, kind = p
    tw, th = W * 0.62, H * 0.82
    y0 = H * 0.04
    if kind == "tube":
        d.polygon(
            [(cx - tw / 2, y0), (cx + tw / 2, y0), (cx + tw * 0.34, y0 + th), (cx - tw * 0.34, y0 + th)],
            fill=_shade(body, 0.95),
        )
        d.rectangle((cx - tw / 2, y0, cx + tw / 2, y0 + H * 0.03), fill=_shade(body, 0.7))
        d.rounded_rectangle((cx - tw * 0.26, y0 + th - 2, cx + tw * 0.26, H * 0.98), radius=10, fill=(*label, 255))
        _label(d, (cx - tw * 0.36, y0 + th * 0.18, cx + tw * 0.36, y0 + th * 0.62), brand, name, label, ink)
    else:
        d.rounded_rectangle(
            (cx - W * 0.42, H * 0.12, cx + W * 0.42, H * 0.92), radius=int(W * 0.05), fill=_shade(body, 1.0)
        )
        for k in range(0, 18):
            x = cx - W * 0.42 + k * W * 0.84 / 17
            d.line((x, H * 0.12, x, H * 0.15), fill=_shade(body, 0.6), width=SS * 2)
        _label(d, (cx - W * 0.34, H * 0.3, cx + W * 0.34, H * 0.72), brand, name, label, ink)


def _palette(p: _Pack) -> None:
    img, d, W, H, cx, body, label, ink, brand, name, kind = p
    pw, ph = W * 0.94, H * 0.5
    y0 = H * 0.3
    d.rounded_rectangle((cx - pw / 2, y0, cx + pw / 2, y0 + ph), radius=int(pw * 0.05), fill=(30, 28, 30, 255))
    hue0 = colorsys.rgb_to_hsv(*(v / 255 for v in body))[0]
    cols, rows = 5, 3
    cw, ch = pw * 0.86 / cols, ph * 0.62 / rows
    for r in range(rows):
        for c in range(cols):
            rgb = colorsys.hsv_to_rgb((hue0 + 0.05 * (c - 2) + 0.02 * r) % 1, 0.35 + 0.12 * r, 0.55 + 0.09 * c)
            x = cx - pw * 0.43 + c * cw
            y = y0 + ph * 0.08 + r * ch
            d.ellipse((x + 6, y + 6, x + cw - 6, y + ch - 6), fill=tuple(int(v * 255) for v in rgb) + (255,))
    _label(d, (cx - pw * 0.4, y0 + ph * 0.74, cx + pw * 0.4, y0 + ph * 0.96), brand, name, label, ink)


def _polish(p: _Pack) -> None:
    img, d, W, H, cx, body, label, ink, brand, name, kind = p
    bw, bh = W * 0.62, H * 0.4
    top = H * 0.96 - bh
    d.rounded_rectangle((cx - bw / 2, top, cx + bw / 2, H * 0.96), radius=int(bw * 0.14), fill=_shade(body, 0.85))
    d.rounded_rectangle((cx - bw * 0.2, H * 0.1, cx + bw * 0.2, top + 6), radius=int(bw * 0.05), fill=(22, 22, 24, 255))
    _label(d, (cx - bw * 0.38, top + bh * 0.25, cx + bw * 0.38, top + bh * 0.8), brand, name, label, ink)
    _glass_highlight(d, cx - bw * 0.42, top + bh * 0.1, top + bh * 0.88, bw * 0.07)


def _stick(p: _Pack) -> None:
    img, d, W, H, cx, body, label, ink, brand, name, kind = p
    sw = W * (0.3 if kind == "lipstick" else 0.2)
    d.rounded_rectangle((cx - sw / 2, H * 0.42, cx + sw / 2, H * 0.96), radius=int(sw * 0.15), fill=(28, 26, 28, 255))
    d.rectangle((cx - sw / 2, H * 0.4, cx + sw / 2, H * 0.45), fill=(205, 175, 110, 255))
    if kind == "lipstick":
        d.polygon(
            [
                (cx - sw * 0.38, H * 0.4),
                (cx + sw * 0.38, H * 0.4),
                (cx + sw * 0.38, H * 0.2),
                (cx - sw * 0.38, H * 0.12),
            ],
            fill=_shade(body, 1.0),
        )
    else:
        d.rounded_rectangle((cx - sw / 2, H * 0.06, cx + sw / 2, H * 0.4), radius=int(sw * 0.3), fill=_shade(body, 0.9))
    txt_img = Image.new("RGBA", (int(H * 0.5), int(sw * 0.8)), (0, 0, 0, 0))
    _label(ImageDraw.Draw(txt_img), (0, 0, txt_img.width, txt_img.height), brand, name, label, ink)
    rot = txt_img.rotate(90, expand=True)
    img.alpha_composite(rot, (int(cx - rot.width / 2), int(H * 0.46)))


def _lash_box(p: _Pack) -> None:
    img, d, W, H, cx, body, label, ink, brand, name, kind = p
    bw, bh = W * 0.9, H * 0.5
    y0 = H * 0.3
    d.rounded_rectangle((cx - bw / 2, y0, cx + bw / 2, y0 + bh), radius=int(bw * 0.04), fill=_shade(body, 0.9))
    d.rounded_rectangle(
        (cx - bw * 0.4, y0 + bh * 0.08, cx + bw * 0.4, y0 + bh * 0.5),
        radius=int(bw * 0.04),
        fill=(245, 240, 236, 255),
    )
    for side in (-1, 1):
        ex = cx + side * bw * 0.2
        for k in range(14):
            a = np.pi * (0.15 + 0.7 * k / 13)
            x1 = ex + np.cos(a) * bw * 0.16
            y1 = y0 + bh * 0.36 - np.sin(a) * bh * 0.22
            d.line(
                (ex + np.cos(a) * bw * 0.12, y0 + bh * 0.4 - np.sin(a) * bh * 0.08, x1, y1),
                fill=(20, 20, 22, 255),
                width=SS * 2,
            )
    _label(d, (cx - bw * 0.42, y0 + bh * 0.56, cx + bw * 0.42, y0 + bh * 0.95), brand, name, label, ink)


def _comb(p: _Pack) -> None:
    img, d, W, H, cx, body, label, ink, brand, name, kind = p
    y0 = H * 0.4
    d.rounded_rectangle((W * 0.08, y0, W * 0.92, y0 + H * 0.1), radius=12, fill=_shade(body, 0.8))
    for k in range(26):
        x = W * 0.1 + k * W * 0.8 / 25
        d.rectangle((x, y0 + H * 0.09, x + W * 0.012, y0 + H * 0.3), fill=_shade(body, 0.8))
    _label(d, (W * 0.15, H * 0.74, W * 0.85, H * 0.94), brand, name, label, ink)


def _boxed(p: _Pack) -> None:
    """Spray, bottle, hair_box, device: a tall box or bottle with a pump."""
    img, d, W, H, cx, body, label, ink, brand, name, kind = p
    bw, bh = W * 0.66, H * 0.62
    top = H * 0.96 - bh
    radius = int(bw * (0.05 if kind in ("hair_box", "device") else 0.2))
    d.rounded_rectangle((cx - bw / 2, top, cx + bw / 2, H * 0.96), radius=radius, fill=_shade(body, 0.88))
    if kind in ("spray", "bottle"):
        d.rectangle((cx - bw * 0.15, top - H * 0.08, cx + bw * 0.15, top + 4), fill=(220, 220, 224, 255))
        d.rectangle((cx - bw * 0.05, top - H * 0.16, cx + bw * 0.05, top - H * 0.08), fill=(200, 200, 205, 255))
        d.rectangle((cx - bw * 0.05, top - H * 0.16, cx + bw * 0.3, top - H * 0.12), fill=(200, 200, 205, 255))
    _label(d, (cx - bw * 0.4, top + bh * 0.22, cx + bw * 0.4, top + bh * 0.75), brand, name, label, ink)


_SHAPES: dict[str, Callable[[_Pack], None]] = {
    "dropper": _dropper,
    "jar": _jar,
    "tube": _tube_or_mask,
    "sheet_mask": _tube_or_mask,
    "palette": _palette,
    "polish": _polish,
    "lipstick": _stick,
    "pen": _stick,
    "lash_box": _lash_box,
    "comb": _comb,
}


def draw_packshot(kind: str, brand: str | None, name: str, height: int) -> np.ndarray:
    """RGBA array of the product, `height` pixels tall, transparent around it (one shape per kind)."""
    H = height * SS
    W = int(H * 0.72)
    img = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    body, label = brand_colors(brand, name)
    ink = tuple(int(v * 0.25) for v in body)
    pack = _Pack(img, ImageDraw.Draw(img), W, H, W / 2, body, label, ink, brand or "", name, kind)
    _SHAPES.get(kind, _boxed)(pack)
    img = img.resize((W // SS, H // SS), Image.LANCZOS)
    return np.asarray(img)


def load_user_image(path, height: int) -> np.ndarray:
    """A user's product photo, scaled to `height`, with a soft alpha edge so it sits on any background."""
    with Image.open(path) as im:
        im = im.convert("RGBA")
    w = max(1, int(im.width * height / im.height))
    im = im.resize((w, height), Image.LANCZOS)
    mask = Image.new("L", im.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w - 1, height - 1), radius=max(4, height // 24), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(2))
    alpha = np.minimum(np.asarray(im.getchannel("A")), np.asarray(mask))
    out = np.asarray(im).copy()
    out[..., 3] = alpha
    return out
