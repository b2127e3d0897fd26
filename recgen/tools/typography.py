"""Typography tools: fonts, word-wrapped text sprites, highlighted subtitles, stickers and CTA buttons.

Every sprite is an RGBA numpy array rendered once and cached; the compositor only alpha-blends them.
Fonts are packaged: each style's own face (OFL font packages: Source Serif Pro, Lato, Fjalla One, Fredoka
One) and the DejaVu faces matplotlib ships as the fallback for scripts those lack; no system fonts needed.
Characters no face has (emoji, CJK) are dropped from the rendering and reported, never drawn as boxes.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from recgen.color import hex_rgb
from recgen.errors import BackendUnavailableError
from recgen.schemas import Typeface

_DEJAVU: dict[str, tuple[str, str]] = {  # typeface: (regular, bold): matplotlib's faces, wide script coverage
    "serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    "sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "sans-bold": ("DejaVuSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
    "mono": ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"),
    "rounded": ("DejaVuSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
}
# the faces each style's type promises, packaged under the SIL Open Font License (see the README):
# typeface: (package, regular, bold). Text one of them cannot draw falls back to the DejaVu face.
_DESIGN: dict[str, tuple[str, str, str]] = {
    "serif": ("font_source_serif_pro", "SourceSerifPro-Regular.ttf", "SourceSerifPro-Bold.ttf"),
    "sans": ("font_lato", "Lato-Regular.ttf", "Lato-Bold.ttf"),
    "sans-bold": ("font_fjallaone", "FjallaOne-Regular.ttf", "FjallaOne-Regular.ttf"),
    "rounded": ("font_fredoka_one", "FredokaOne-Regular.ttf", "FredokaOne-Regular.ttf"),
}


@functools.cache
def _font_dir() -> Path:
    try:
        import matplotlib
    except ImportError as e:
        raise BackendUnavailableError("fonts come from matplotlib's DejaVu faces: pip install matplotlib") from e
    d = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    if not (d / "DejaVuSans.ttf").is_file():
        raise BackendUnavailableError(f"DejaVu fonts not found under {d}; reinstall matplotlib")
    return d


@functools.cache
def _design_path(typeface: str, bold: bool) -> Path | None:
    """The packaged face of a typeface, or None (no such face, or its package is not installed)."""
    spec = _DESIGN.get(typeface)
    if spec is None:
        return None
    spec_found = importlib.util.find_spec(spec[0])
    if spec_found is None or spec_found.origin is None:
        return None
    path = Path(spec_found.origin).parent / "files" / spec[2 if bold else 1]
    return path if path.is_file() else None


def font_path(typeface: Typeface, bold: bool = False, text: str = "") -> Path:
    """The style's own face when it can draw every character of `text`, else its DejaVu fallback."""
    design = _design_path(typeface, bold)
    if design is not None and all(ord(ch) in _cmap(design) for ch in text if not ch.isspace()):
        return design
    return _font_dir() / _DEJAVU[typeface][1 if bold else 0]


def font(typeface: Typeface, size: int, bold: bool = False, text: str = "") -> ImageFont.FreeTypeFont:
    return _truetype(font_path(typeface, bold, text), max(6, int(size)))


@functools.cache
def _truetype(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(os.fspath(path), size)


@functools.cache
def _cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(os.fspath(path), lazy=True) as f:
        return frozenset(f.getBestCmap())


def printable(text: str, typeface: Typeface = "sans") -> tuple[str, str]:
    """Split text into what the face can draw and the characters it had to drop."""
    cmap = _cmap(font_path(typeface, False, text))
    kept, dropped = [], []
    for ch in text:
        (kept if ord(ch) in cmap or ch in " \n" else dropped).append(ch)
    clean = " ".join("".join(kept).split())
    return clean, "".join(dict.fromkeys(dropped))


def wrap(text: str, fnt: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and fnt.getlength(lines[-1] + " " + word) <= max_width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def fit_font(text: str, typeface: Typeface, max_width: int, max_lines: int, size: int, bold: bool = True):
    """The largest size ≤ size at which text wraps into max_lines within max_width."""
    while size > 10:
        f = font(typeface, size, bold, text)
        lines = wrap(text, f, max_width)
        if len(lines) <= max_lines and all(f.getlength(ln) <= max_width for ln in lines):
            return f, lines
        size = int(size * 0.9)
    f = font(typeface, 10, bold, text)
    return f, wrap(text, f, max_width)[:max_lines]


def _shadow(img: Image.Image, radius: int) -> Image.Image:
    a = img.getchannel("A").filter(ImageFilter.GaussianBlur(radius))
    sh = Image.new("RGBA", img.size, (0, 0, 0, 0))
    sh.putalpha(a.point(lambda v: int(v * 0.55)))
    return Image.alpha_composite(sh, img)


def text_block(
    text: str,
    typeface: Typeface,
    size: int,
    color: str,
    max_width: int,
    max_lines: int = 3,
    highlight: dict[str, str] | None = None,
    backdrop: str | None = None,
    align: str = "center",
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Word-wrapped text as an RGBA array (words in `highlight` get their own colour), and the part of it
    that belongs to each word (x0, y0, x1, y1), in reading order, so a renderer can reveal the words one by
    one."""
    clean, _ = printable(text, typeface)
    f, lines = fit_font(clean, typeface, max_width, max_lines, size)
    ascent, descent = f.getmetrics()
    line_h = int((ascent + descent) * 1.12)
    widths = [int(f.getlength(ln)) for ln in lines]
    pad = max(6, size // 4)
    w, h = max(widths) + 2 * pad, line_h * len(lines) + 2 * pad
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if backdrop:
        d.rounded_rectangle((0, 0, w - 1, h - 1), radius=pad, fill=(*hex_rgb(backdrop), 190))
    hl = {k.lower().strip(".,!?"): v for k, v in (highlight or {}).items()}
    space = f.getlength(" ")
    boxes = []
    for i, ln in enumerate(lines):
        x = pad + ((max(widths) - widths[i]) / 2 if align == "center" else 0)
        y = pad + i * line_h
        spans = []
        for word in ln.split(" "):
            col = hl.get(word.lower().strip(".,!?"), color)
            d.text((x, y), word, font=f, fill=(*hex_rgb(col), 255))
            spans.append((x, x + f.getlength(word)))
            x = spans[-1][1] + space
        # the words tile their line's band (cut mid-space) and the bands tile the sprite: shown all, the
        # words are the sprite exactly
        top, bottom = (0 if i == 0 else y), (h if i == len(lines) - 1 else y + line_h)
        cuts = [0, *(int((a[1] + b[0]) / 2) for a, b in zip(spans, spans[1:], strict=False)), w]
        boxes += [(cuts[k], top, cuts[k + 1], bottom) for k in range(len(spans))]
    if not backdrop:
        img = _shadow(img, max(2, size // 14))
    return np.asarray(img), boxes


def button_sprite(text: str, typeface: Typeface, size: int, fill: str, text_color: str, max_width: int) -> np.ndarray:
    """A rounded call-to-action button with an arrow."""
    clean, _ = printable(text, typeface)
    f, lines = fit_font(clean + "  →", typeface, max_width - size, 1, size)
    label = lines[0]
    tw = int(f.getlength(label))
    ascent, descent = f.getmetrics()
    w, h = tw + 2 * size, ascent + descent + size
    scale = 2
    img = Image.new("RGBA", (w * scale, h * scale), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, w * scale - 1, h * scale - 1), radius=h * scale // 2, fill=(*hex_rgb(fill), 255))
    img = img.resize((w, h), Image.LANCZOS)
    d = ImageDraw.Draw(img)
    d.text(((w - tw) / 2, (h - ascent - descent) / 2), label, font=f, fill=(*hex_rgb(text_color), 255))
    return np.asarray(_shadow(img, max(3, size // 6)))


def sticker_sprite(text: str, kind: str, typeface: Typeface, size: int, fill: str, text_color: str) -> np.ndarray:
    """A price tag, a starburst discount badge, or a pill badge."""
    clean, _ = printable(text, typeface)
    f = font(typeface, size, True, clean)
    tw = int(f.getlength(clean))
    ascent, descent = f.getmetrics()
    th = ascent + descent
    if kind == "discount":
        r = int(max(tw, th) * 0.5 + size * 0.9)
        w = h = 2 * r
        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        d = ImageDraw.Draw(img)
        pts = []
        for k in range(32):
            ang = np.pi * 2 * k / 32
            rad = r if k % 2 == 0 else r * 0.84
            pts.append((r + rad * np.cos(ang), r + rad * np.sin(ang)))
        d.polygon(pts, fill=(*hex_rgb(fill), 255))
    else:
        w, h = tw + int(size * 1.6), th + int(size * 0.9)
        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        d = ImageDraw.Draw(img)
        if kind == "price":
            d.polygon([(h // 2, 0), (w, 0), (w, h), (h // 2, h), (0, h // 2)], fill=(*hex_rgb(fill), 255))
            d.ellipse((h // 2 - 6, h // 2 - 6, h // 2 + 6, h // 2 + 6), fill=(0, 0, 0, 0))
        else:
            d.rounded_rectangle((0, 0, w - 1, h - 1), radius=h // 2, fill=(*hex_rgb(fill), 255))
    d.text(
        ((w - tw) / 2 + (size * 0.25 if kind == "price" else 0), (h - th) / 2),
        clean,
        font=f,
        fill=(*hex_rgb(text_color), 255),
    )
    return np.asarray(_shadow(img, max(3, size // 6)))


def drawing_warnings(texts: list[str], typeface: Typeface) -> list[str]:
    """What a viewer will not see as written: characters the face cannot draw (left out), and right-to-left
    script, which is drawn without bidirectional shaping."""
    out = []
    dropped = "".join(dict.fromkeys(ch for t in texts for ch in printable(t, typeface)[1] if not ch.isspace()))
    if dropped:
        out.append(f"cannot draw {dropped!r} in the {typeface} face; those characters are left out on screen")
    if any(unicodedata.bidirectional(ch) in ("R", "AL") for t in texts for ch in t):
        out.append("right-to-left text is drawn left to right without shaping; check the on-screen text")
    return out
