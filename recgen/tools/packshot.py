"""Packshots: the product drawn by its family's 3-D model (tools/product_models.py, tools/product_render.py)
in its colours, brand and name on the label; or the user's own photo, which always wins.

Colours: the colour the title names (fact sheet) goes where a viewer looks for it, on the contents for
products sold by shade (polish, lipstick, powder), else on the body; the rest comes from the brand's name,
so one brand's products share a look.
"""

from __future__ import annotations

import colorsys
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from recgen.tools.product_models import ALIASES, CONTENTS_COLOURED, Look, model_for
from recgen.tools.product_render import cached_render


def brand_colors(brand: str | None, title: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """A stable body and label colour per brand (the data has no brand colours, so the name picks them)."""
    h = int(hashlib.md5((brand or title).encode()).hexdigest()[:6], 16)
    hue = (h % 360) / 360
    body = colorsys.hsv_to_rgb(hue, 0.55 + (h >> 9) % 30 / 100, 0.55 + (h >> 13) % 30 / 100)
    label = colorsys.hsv_to_rgb(hue, 0.08, 0.97)
    return tuple(int(c * 255) for c in body), tuple(int(c * 255) for c in label)  # type: ignore[return-value]


def look_for(family: str, brand: str | None, name: str, colour: tuple[int, int, int] | None = None) -> Look:
    """The product's colours: the named colour on its contents or body (see the module note), the brand's
    elsewhere; a cap that stands apart from the body."""
    body, label = brand_colors(brand, name)
    family = ALIASES.get(family, family)
    on = "contents" if family in CONTENTS_COLOURED else "body"
    contents = body
    if colour is not None:
        if on == "contents":
            contents = colour
        else:
            body = colour
        if family == "hair_box":  # a hair colour's carton is printed in its shade
            body = colour
    lum = sum(body) / 3
    cap = (24, 23, 26) if lum > 90 else (226, 224, 220)
    if colour is not None and on == "body":
        cap = colour  # a "Jet Black" mascara is black cap and all
    ink = tuple(int(v * 0.25) for v in brand_colors(brand, name)[0])
    return Look(body=body, contents=contents, cap=cap, label=label, ink=ink)  # type: ignore[arg-type]


def draw_packshot(
    kind: str,
    brand: str | None,
    name: str,
    height: int,
    colour: tuple[int, int, int] | None = None,
    yaw: float = 0.0,
    cache: Path | None = None,
) -> np.ndarray:
    """RGBA array of the product, `height` pixels tall, on a transparent ground with its contact shadow.
    `kind` is the packshot family; `yaw` turns the camera round it; `cache` keeps renders on disk."""
    look = look_for(kind, brand, name, colour)
    return cached_render(model_for(kind), look, (brand or "", name), height, yaw, cache)


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
