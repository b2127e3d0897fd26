"""Text/image → video tools. The CPU default is a procedural motion-graphics renderer; diffusers on a GPU.

A procedural shot is a *scene*: pre-drawn plates (background, product, kinetic headline) plus a camera
and motion spec in scene.json. Plates are the expensive part and are drawn by the parallel shot renders;
frames are produced from the scene on demand, so the compositor streams them straight into the encoder
without an intermediate video file (the same design as a motion-graphics composition).
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from recgen.color import hex_rgb, subtitle_backdrop
from recgen.errors import BackendUnavailableError, MediaError
from recgen.layout import headline_top, text_width
from recgen.schemas import Product, ShotClip, ShotPlan
from recgen.sid.facts import without_brand
from recgen.tools.packshot import draw_packshot, load_user_image, look_for
from recgen.tools.product_render import part_anchor
from recgen.tools.typography import text_block

OVERSCAN = 1.18  # background plate is larger than the frame so the camera can move over it

# composition → (product centre x, centre y, height) as fractions of the frame; headline y
LAYOUTS: dict[str, tuple[float, float, float, float]] = {  # product centre x, y, height; headline y
    # the product keeps to the middle band: headlines above it, subtitles and the CTA below (recgen/layout.py)
    "hero_center": (0.5, 0.42, 0.36, 0.18),
    "closeup": (0.5, 0.42, 0.42, 0.18),
    "split_text": (0.5, 0.30, 0.26, 0.53),
    "lifestyle_card": (0.5, 0.43, 0.32, 0.18),
    "grid": (0.5, 0.30, 0.26, 0.53),
    "cta_card": (0.5, 0.40, 0.30, 0.18),
    # a feature callout: the product left of centre, a line from the part the headline names to the headline
    "callout": (0.42, 0.5, 0.36, 0.16),
    # a close-up of the label: the product large, its label's middle at (x, y); the headline on a band
    "label_macro": (0.5, 0.5, 0.7, 0.13),
    # the ingredient as a field of its colour, drops of it round the product; the headline on a band
    "ingredient_field": (0.5, 0.48, 0.34, 0.16),
}
BANDED = frozenset({"label_macro", "ingredient_field"})  # compositions whose headline sits on its own band
STILL_PRODUCT = frozenset({"callout", "label_macro"})  # the product does not turn: the line and the crop hold


def plan_hash(shot: ShotPlan, palette: tuple[str, ...], product: Product, size: tuple[int, int, int]) -> str:
    blob = json.dumps([shot.model_dump(mode="json"), palette, product.model_dump(mode="json"), size])
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def ease(p: float) -> float:
    p = min(max(p, 0.0), 1.0)
    return p * p * (3 - 2 * p)


_SPLIT_CACHE: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _split(sprite: np.ndarray, cache: bool) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous RGB and float alpha of a sprite; static sprites keep theirs between frames."""
    hit = _SPLIT_CACHE.get(id(sprite)) if cache else None
    if hit is not None and hit[0] is sprite:
        return hit[1], hit[2]
    rgb = np.ascontiguousarray(sprite[..., :3])
    alpha = sprite[..., 3].astype(np.float32) / np.float32(255.0)
    if cache:
        if len(_SPLIT_CACHE) > 256:
            _SPLIT_CACHE.clear()
        _SPLIT_CACHE[id(sprite)] = (sprite, rgb, alpha)
    return rgb, alpha


def blend(frame: np.ndarray, sprite: np.ndarray, x: int, y: int, opacity: float = 1.0, static: bool = True) -> None:
    """Alpha-blend an RGBA sprite into an RGB frame in place, clipped to the frame (OpenCV does the maths)."""
    h, w = sprite.shape[:2]
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, fw), min(y + h, fh)
    if x0 >= x1 or y0 >= y1 or opacity <= 0:
        return
    rgb, alpha = _split(sprite, static)
    sl = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    a = alpha[sl] if opacity >= 1.0 else alpha[sl] * np.float32(opacity)
    region = frame[y0:y1, x0:x1]
    region[:] = cv2.blendLinear(rgb[sl], region, a, 1.0 - a)


def crop_to_alpha(sprite: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The sprite without its fully transparent border, and the offset of what is left."""
    ys, xs = np.nonzero(sprite[..., 3])
    if ys.size == 0:
        return sprite[:1, :1], 0, 0
    return sprite[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].copy(), int(xs.min()), int(ys.min())


# ----------------------------------------------------------------------------------------------------------
# plates
# ----------------------------------------------------------------------------------------------------------


def _background(
    kind: str, palette: tuple[str, ...], w: int, h: int, rng: np.random.Generator, tint: tuple[int, int, int]
) -> np.ndarray:
    """The shot's backdrop from the style's palette and the product's own colour (`tint`): a glow of it behind
    the product, shapes and stripes partly in it, so two products never share a background."""
    bg, sec, acc = (np.array(hex_rgb(c), dtype=np.float32) for c in palette[:3])
    own = np.array(tint, dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy /= h
    xx /= w
    # where the light falls and the gradient's direction come from the product's seed: one brand's two
    # products in one style (same palette, same tint) still get different plates
    gx, gy = 0.5 + rng.uniform(-0.12, 0.12), 0.42 + rng.uniform(-0.08, 0.08)
    angle = rng.uniform(0.15, 0.85)
    if kind == "spotlight":
        r = np.sqrt((xx - gx) ** 2 + ((yy - gy) * 1.4) ** 2)
        t = np.clip(r / rng.uniform(0.65, 0.85), 0, 1)[..., None]
        img = (sec * 0.85 + own * 0.4) * (1 - t) + bg * 0.45 * t
    else:
        t = ((1 - angle) * yy + angle * xx)[..., None]
        img = bg * (1 - t) + sec * t
        glow = np.exp(-(((xx - gx) / 0.42) ** 2 + ((yy - gy) / 0.3) ** 2))[..., None] * 0.22
        img = img * (1 - glow) + own * glow
    img = np.clip(img, 0, 255)
    canvas = Image.fromarray(img.astype(np.uint8)).convert("RGBA")
    overlay = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    from PIL import ImageDraw

    d = ImageDraw.Draw(overlay)
    if kind == "shapes":
        for _ in range(7):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.08, 0.3) * w
            pick = rng.random()
            col = (*[int(v) for v in (acc if pick < 0.3 else own if pick < 0.6 else sec * 1.15).clip(0, 255)], 70)
            if rng.random() < 0.5:
                d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=col)
            else:
                d.rounded_rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), radius=int(r * 0.3), fill=col)
    elif kind == "stripes":
        step = w // 7
        for k in range(-h // step, (w + h) // step + 1):
            x = k * step
            d.polygon(
                [(x, 0), (x + step // 2, 0), (x + step // 2 - h, h), (x - h, h)],
                fill=(*[int(v) for v in (acc if k % 2 else own)], 36),
            )
    elif kind == "gradient":
        d.ellipse((w * (gx - 0.4), h * (gy - 0.17), w * (gx + 0.4), h * (gy + 0.33)), fill=(255, 255, 255, 26))
    canvas.alpha_composite(overlay)
    return np.asarray(canvas.convert("RGB"))


def _colour_field(rgb: tuple[int, int, int], w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """An ingredient as a colour field: its colour from a light wash at the top to full at the bottom, with
    drops of it (shaded spheres, a highlight up-left) scattered by the product's seed."""
    col = np.array(rgb, dtype=np.float32)
    light = col * 0.45 + 255 * 0.55
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None] ** 1.3
    img = np.broadcast_to(light * (1 - t) + col * t, (h, w, 3)).copy()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(9):
        r = rng.uniform(0.04, 0.13) * w
        cx = rng.choice([rng.uniform(0.02, 0.3), rng.uniform(0.7, 0.98)]) * w  # at the sides: the product is central
        cy = rng.uniform(0.1, 0.95) * h
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / r
        inside = np.clip((1.0 - d) * r / 1.5, 0, 1)[..., None]  # antialiased edge
        hx, hy = cx - 0.35 * r, cy - 0.35 * r
        spec = np.exp(-(((xx - hx) ** 2 + (yy - hy) ** 2) / (0.18 * r) ** 2))[..., None]
        body = col * (0.75 + 0.25 * np.clip(1 - d, 0, 1)[..., None]) + (255 - col) * 0.6 * spec
        img = img * (1 - inside) + body * inside
    return np.clip(img, 0, 255).astype(np.uint8)


def _band(w: int, h: int, text_color: str) -> np.ndarray:
    """The band a headline sits on where the picture behind it is the product or a strong colour."""
    from PIL import ImageDraw

    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    fill = (*hex_rgb(subtitle_backdrop(text_color)), 232)
    ImageDraw.Draw(img).rounded_rectangle((0, 0, w - 1, h - 1), radius=max(4, h // 5), fill=fill)
    return np.asarray(img)


def _card(w: int, h: int, color: str) -> np.ndarray:
    from PIL import ImageDraw

    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ImageDraw.Draw(img).rounded_rectangle((0, 0, w - 1, h - 1), radius=w // 12, fill=(*hex_rgb(color), 225))
    return np.asarray(img)


@dataclass(frozen=True)
class RenderContext:
    width: int
    height: int
    fps: int
    typeface: str
    text_color: str
    packshots: Path | None = None  # where product renders are kept between runs (none: memory only)


# kinetic type, snappy as in feed ads: every headline is whole by 0.5 s (the read-back's first look) and by
# a quarter of its shot, long before the shot's keyframe
WORD_START, WORD_RISE = 0.05, 0.2  # s: a headline's first word starts rising, and each word's rise
WORD_STAGGER, WORD_SPREAD = 0.07, 0.25  # s between words' starts, and at most from the first to the last
REVEAL_SHARE = 0.25  # of a shot's length: all its headline's words are up by then
TURN = (-14.0, -7.0, 0.0, 7.0, 14.0)  # camera angles round the product in a moving shot, degrees
PLATE_HEIGHT = 0.42  # product renders are drawn once at this share of the frame height, scaled per layout
MAX_PRODUCT_WIDTH = 0.86  # of the frame: wide products (combs, palettes) are drawn smaller to fit


def product_plates(
    kind: str,
    label: tuple[str | None, str],
    colour: tuple[int, int, int] | None,
    ctx: RenderContext,
    turn: bool,
    height: float = PLATE_HEIGHT,
) -> list[np.ndarray]:
    """The product at each camera angle of `TURN` (only the front one for a still shot), padded to one width
    so the frames can blend from one angle to the next; drawn `height` of the frame tall."""
    yaws = TURN if turn else (0.0,)
    h = int(ctx.height * height)
    plates = [draw_packshot(kind, label[0], label[1], h, colour, yaw, ctx.packshots) for yaw in yaws]
    w = max(p.shape[1] for p in plates)
    out = []
    for p in plates:
        pad = w - p.shape[1]
        out.append(np.pad(p, ((0, 0), (pad // 2, pad - pad // 2), (0, 0))))
    return out


def _fit(plate: np.ndarray, height: int, width: int) -> np.ndarray:
    """A product plate scaled to `height`, or smaller so it is at most `width` wide."""
    k = min(height / plate.shape[0], width / plate.shape[1])
    size = (max(2, int(plate.shape[1] * k)), max(2, int(plate.shape[0] * k)))
    return cv2.resize(plate, size, interpolation=cv2.INTER_AREA)


def render_procedural_shot(
    shot: ShotPlan,
    product: Product,
    palette: tuple[str, ...],
    product_kind: str,
    ctx: RenderContext,
    out_dir: Path,
    seed: int,
    label: tuple[str | None, str] = (None, ""),
    colour: tuple[int, int, int] | None = None,
) -> ShotClip:
    """Draw a shot's plates and scene spec, and a keyframe PNG; return the clip record. `label` is the
    (brand, name) printed on the packshot (the product's raw title when no name is given), `colour` the one
    its title names. A moving shot gets the product at several angles: the camera turns round it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    own = int(hashlib.sha1(f"{product.id}|{product.title}".encode()).hexdigest()[:8], 16)  # the product's seed
    # the backdrop's kind is part of its seed: a revision to another kind redraws every plate, fields included
    rng = np.random.default_rng([seed, own, shot.index, zlib.crc32(shot.background.encode())])
    brand, name = label if label[1] else (product.brand, _label_name(product))
    tint = colour or look_for(product_kind, brand, name).body
    W, H = ctx.width, ctx.height
    bw, bh = int(W * OVERSCAN) // 2 * 2, int(H * OVERSCAN) // 2 * 2
    stem = f"shot_{shot.index:02d}"
    if shot.composition == "ingredient_field" and shot.field_colour:
        bg = _colour_field(hex_rgb(shot.field_colour), bw, bh, rng)
    else:
        bg = _background(shot.background, palette, bw, bh, rng, tint)
    Image.fromarray(bg).save(out_dir / f"{stem}_bg.png")
    cx, cy, ph, head_y = LAYOUTS[shot.composition]
    prod_path, turn_paths, anchor = None, [], None
    if shot.asset != "none":
        sprites = _product_sprites(shot, product, product_kind, (brand, name), colour, ctx)
        anchor = part_anchor(product_kind, shot.points_at) if shot.points_at and shot.asset == "packshot" else None
        prod_path = out_dir / f"{stem}_product.png"
        Image.fromarray(sprites[len(sprites) // 2]).save(prod_path)
        if len(sprites) > 1:
            turn_paths = [out_dir / f"{stem}_product_{k}.png" for k in range(len(sprites))]
            for path, sprite in zip(turn_paths, sprites, strict=True):
                Image.fromarray(sprite).save(path)
    head_path, head_words = _headline_plate(shot, ctx, out_dir / f"{stem}_headline.png", head_y)
    band_path = _band_plate(shot, head_path, ctx, out_dir / f"{stem}_band.png")
    card_path = None
    if shot.composition in ("lifestyle_card", "cta_card"):
        card_path = out_dir / f"{stem}_card.png"
        Image.fromarray(_card(int(W * 0.7), int(H * (ph + 0.1)), palette[1])).save(card_path)
    scene = {
        "index": shot.index,
        "duration": shot.duration,
        "camera": shot.camera,
        "motion": shot.motion,
        "composition": shot.composition,
        "layout": [cx, cy, ph, head_y],
        "width": W,
        "height": H,
        "accent": palette[2],
        "particles": (shot.background == "particles" or shot.motion > 0.75) and shot.composition != "label_macro",
        "anchor": anchor,  # (x, y) of the sprite the callout points at, or the macro centres on
        "seed": (seed * 1009 + shot.index + own) % 2**31,
        "plates": {
            "bg": f"{stem}_bg.png",
            "product": prod_path and prod_path.name,
            "turn": [p.name for p in turn_paths],
            "headline": head_path and head_path.name,
            "headline_words": head_words,
            "card": card_path and card_path.name,
            "band": band_path and band_path.name,
        },
    }
    scene_path = out_dir / f"{stem}.scene.json"
    scene_path.write_text(json.dumps(scene, indent=1))
    key = out_dir / f"{stem}_key.png"
    Image.fromarray(ShotRenderer.load(scene_path).frame(shot.duration * 0.6)).save(key)
    return ShotClip.of(shot, "procedural", scene_path, key)


def _product_sprites(
    shot: ShotPlan,
    product: Product,
    kind: str,
    label: tuple[str | None, str],
    colour: tuple[int, int, int] | None,
    ctx: RenderContext,
) -> list[np.ndarray]:
    """The product as the shot shows it: the user's photo, or the model at each angle of the camera's turn
    (one angle where a callout or a close-up must hold still), drawn sharp at a close-up's size."""
    height = int(ctx.height * LAYOUTS[shot.composition][2])
    if shot.asset == "user_image" and product.image_path:
        return [load_user_image(product.image_path, int(height * 0.85))]
    macro = shot.composition == "label_macro"
    turn = shot.camera != "static" and shot.composition not in STILL_PRODUCT
    plates = product_plates(
        kind, label, colour, ctx, turn=turn, height=max(PLATE_HEIGHT, height / ctx.height) if macro else PLATE_HEIGHT
    )
    return [_fit(p, height, int(ctx.width * (1.6 if macro else MAX_PRODUCT_WIDTH))) for p in plates]


def _band_plate(shot: ShotPlan, head_path: Path | None, ctx: RenderContext, path: Path) -> Path | None:
    """The band a banded composition's headline sits on, a little larger than the headline."""
    if head_path is None or shot.composition not in BANDED:
        return None
    with Image.open(head_path) as im:
        hw, hh = im.size
    pad = max(4, int(ctx.height * 0.014))
    Image.fromarray(_band(hw + 2 * pad, hh + 2 * pad, ctx.text_color)).save(path)
    return path


def _headline_plate(
    shot: ShotPlan, ctx: RenderContext, path: Path, head_y: float
) -> tuple[Path | None, list[tuple[int, int, int, int]]]:
    """The shot's headline drawn once (the end card's the largest), and each word's part of it, so the
    renderer can bring the words in one by one."""
    if not shot.headline:
        return None, []
    W, H = ctx.width, ctx.height
    end_card = shot.composition == "cta_card"
    sprite, words = text_block(
        shot.headline,
        ctx.typeface,
        int(H * (0.058 if end_card else 0.046)),
        ctx.text_color,
        text_width(W, head_y, 0.84),
        # a mid-frame headline stays two lines, and so does the end card's larger name (its type shrinks
        # to fit rather than grow a third line over the product)
        max_lines=2 if head_y > 0.3 or end_card else 3,
    )
    Image.fromarray(sprite).save(path)
    return path, words


def _label_name(product: Product) -> str:
    name = without_brand(product.title, product.brand).strip(" ,-")
    for sep in (",", " - ", "(", "|", ":"):
        name = name.split(sep)[0]
    return " ".join(name.split()[:5])


class ShotRenderer:
    """Produces the frames of one procedural scene at any time t (seconds from the shot's start)."""

    def __init__(self, scene: dict, folder: Path) -> None:
        self.s = scene
        self.W, self.H = scene["width"], scene["height"]
        plates = scene["plates"]
        self.bg = np.asarray(Image.open(folder / plates["bg"]).convert("RGB"))
        self.product = np.asarray(Image.open(folder / plates["product"])) if plates["product"] else None
        self.turn = [np.asarray(Image.open(folder / name)) for name in plates.get("turn", [])]
        self.headline = np.asarray(Image.open(folder / plates["headline"])) if plates["headline"] else None
        self.words = [tuple(b) for b in plates.get("headline_words", [])] if self.headline is not None else []
        self.word_pieces = [self.headline[y0:y1, x0:x1].copy() for x0, y0, x1, y1 in self.words]
        self.card = np.asarray(Image.open(folder / plates["card"])) if plates.get("card") else None
        self.band = np.asarray(Image.open(folder / plates["band"])) if plates.get("band") else None
        self.anchor = scene.get("anchor")
        self.head_h = self.headline.shape[0] if self.headline is not None else 0
        self._scaled: dict[tuple[int, int], np.ndarray] = {}
        rng = np.random.default_rng(scene["seed"])
        n = 36 if scene["particles"] else 0
        self.p_pos = rng.uniform(0, 1, (n, 2))
        self.p_vel = rng.normal(0, 0.04, (n, 2)) + np.array([0, -0.06])
        self.p_size = rng.uniform(1.5, 5.0, n)
        self.accent = hex_rgb(scene["accent"])

    @classmethod
    def load(cls, scene_path: Path) -> ShotRenderer:
        try:
            scene = json.loads(Path(scene_path).read_text())
            return cls(scene, Path(scene_path).parent)
        except (OSError, json.JSONDecodeError, KeyError) as e:
            raise MediaError(f"shot scene {scene_path} is missing or damaged ({e}); re-render the shot") from e

    def _camera(self, p: float) -> tuple[float, float, float]:
        """zoom, dx, dy (fractions of the overscan margin) at progress p."""
        m = 0.35 + 0.65 * self.s["motion"]
        cam = self.s["camera"]
        e = ease(p)
        return {
            "static": (1.0 + 0.02 * m * p, 0.0, 0.0),
            "push_in": (1.0 + 0.14 * m * e, 0.0, 0.0),
            "pull_out": (1.0 + 0.14 * m * (1 - e), 0.0, 0.0),
            "pan_left": (1.04, 0.9 * m * (0.5 - e), 0.0),
            "pan_right": (1.04, 0.9 * m * (e - 0.5), 0.0),
            "tilt_up": (1.04, 0.0, 0.9 * m * (0.5 - e)),
            "tilt_down": (1.04, 0.0, 0.9 * m * (e - 0.5)),
        }[cam]

    def _turned(self, p: float, size: tuple[int, int]) -> np.ndarray:
        """The product as the camera turns round it: the two nearest angles blended, eased over the shot."""
        at = ease(p) * (len(self.turn) - 1)
        i = min(int(at), len(self.turn) - 2)
        w = np.float32(at - i)
        a, b = self.turn[i], self.turn[i + 1]
        mixed = (a.astype(np.float32) * (1 - w) + b.astype(np.float32) * w).astype(np.uint8) if w > 0.01 else a
        return cv2.resize(mixed, size, interpolation=cv2.INTER_LINEAR)

    def frame(self, t: float) -> np.ndarray:
        dur = self.s["duration"]
        p = min(max(t / dur, 0.0), 1.0)
        zoom, dx, dy = self._camera(p)
        W, H = self.W, self.H
        bh, bw = self.bg.shape[:2]
        scale = zoom * max(W / bw, H / bh) * OVERSCAN
        mx, my = (bw * scale - W) / 2, (bh * scale - H) / 2
        M = np.float32([[scale, 0, -mx - dx * mx], [0, scale, -my - dy * my]])
        frame = cv2.warpAffine(self.bg, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        cx, cy, _, head_y = self.s["layout"]
        if self.card is not None:
            ch, cw = self.card.shape[:2]
            blend(frame, self.card, int(W * cx - cw / 2 - dx * mx * 0.3), int(H * cy - ch / 2 - dy * my * 0.3))
        if self.product is not None:
            ph, pw = self.product.shape[:2]
            pz = 1.0 + (zoom - 1.0) * 1.6
            bob = math.sin(t * 2.2) * H * 0.006 * self.s["motion"]
            appear = ease(p * 4) if self.s["composition"] != "closeup" else 1.0
            size = (max(1, int(pw * pz) // 2 * 2), max(1, int(ph * pz) // 2 * 2))
            sprite = self._turned(p, size) if self.turn else self._scaled.get(size)
            if sprite is None:  # sizes repeat (pans hold a zoom, pushes move in 2-px steps): resize once each
                sprite = self._scaled[size] = cv2.resize(self.product, size, interpolation=cv2.INTER_LINEAR)
            sh, sw = sprite.shape[:2]
            ax, ay = self.anchor if self.anchor and self.s["composition"] == "label_macro" else (0.5, 0.5)
            x = int(W * cx - sw * ax - dx * mx * 1.4)
            y = int(H * cy - sh * ay - dy * my * 1.4 + bob + (1 - appear) * H * 0.05)
            blend(frame, sprite, x, y, opacity=appear, static=not self.turn)
            if self.anchor and self.s["composition"] == "callout":
                self._callout(frame, t, (x + sw * self.anchor[0], y + sh * self.anchor[1]))
        if self.p_pos.size:
            pos = (self.p_pos + self.p_vel * t) % 1.0
            for (px, py), r in zip(pos, self.p_size, strict=True):
                cv2.circle(frame, (int(px * W), int(py * H)), int(r * W / 720) + 1, self.accent, -1, cv2.LINE_AA)
        if self.band is not None:  # drawn with or without the headline: it is what the headline is read against
            bh_, bw_ = self.band.shape[:2]
            top = headline_top(head_y, self.head_h, H) - (bh_ - self.head_h) // 2
            blend(frame, self.band, (W - bw_) // 2, top, opacity=ease(t / 0.2), static=False)
        if self.headline is not None:
            hh, hw = self.headline.shape[:2]
            if self.words:
                self._reveal(frame, t, (W - hw) // 2, headline_top(head_y, hh, H))
            else:  # a scene drawn before word boxes were kept: the headline slides in whole
                k = ease((t - 0.1) / 0.45)
                blend(frame, self.headline, int((W - hw) / 2 + (1 - k) * W * 0.08), headline_top(head_y, hh, H), k)
        return frame

    def _callout(self, frame: np.ndarray, t: float, at: tuple[float, float]) -> None:
        """A line drawn from the part the headline names, out to the side and up to the headline, with a
        dot on the part: it grows over the shot's first half, as in a product explainer."""
        W, H = self.W, self.H
        px, py = at
        head_y = self.s["layout"][3]
        hh = self.headline.shape[0] if self.headline is not None else 0
        top = headline_top(head_y, hh, H) + hh if hh else H * 0.2
        side = min(W * 0.94, max(W * 0.8, px + W * 0.08))
        path = [(px, py), (side, py), (side, top + H * 0.02)]
        lengths = [math.dist(a, b) for a, b in zip(path, path[1:], strict=False)]
        k = ease((t - 0.12) / max(0.2, 0.45 * self.s["duration"])) * sum(lengths)
        thick = max(2, W // 240)
        for (a, b), n in zip(zip(path, path[1:], strict=False), lengths, strict=True):
            if k <= 0 or n <= 0:
                break
            f = min(1.0, k / n)
            end = (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)
            cv2.line(frame, (int(a[0]), int(a[1])), (int(end[0]), int(end[1])), self.accent, thick, cv2.LINE_AA)
            k -= n
        r = max(3, W // 90)
        pop = ease(t / 0.3)
        if pop > 0:
            cv2.circle(frame, (int(px), int(py)), int(r * 1.8 * pop), (255, 255, 255), thick, cv2.LINE_AA)
            cv2.circle(frame, (int(px), int(py)), int(r * pop), self.accent, -1, cv2.LINE_AA)

    def _reveal(self, frame: np.ndarray, t: float, x: int, y: int) -> None:
        """Kinetic type: the headline's words rise one after another out of a mask at their line's baseline,
        each eased in; once all are up, the headline is drawn whole."""
        n = len(self.words)
        stagger = min(WORD_STAGGER, WORD_SPREAD / max(1, n - 1))
        # a short shot reveals faster: every word is up by REVEAL_SHARE of the shot (before its keyframe)
        k_time = min(1.0, REVEAL_SHARE * self.s["duration"] / (WORD_START + (n - 1) * stagger + WORD_RISE))
        start, stagger, rise = WORD_START * k_time, stagger * k_time, WORD_RISE * k_time
        if t >= start + (n - 1) * stagger + rise:
            blend(frame, self.headline, x, y)
            return
        for k, ((x0, y0, _, y1), piece) in enumerate(zip(self.words, self.word_pieces, strict=True)):
            r = ease((t - start - k * stagger) / rise)
            if r <= 0:
                break
            drop = int(round((1 - r) * (y1 - y0) * 0.8))
            if drop == 0:
                blend(frame, piece, x + x0, y + y0)
            elif drop < y1 - y0:  # the word's top part, risen `drop` px short of its place, cut at the mask
                blend(frame, piece[: y1 - y0 - drop], x + x0, y + y0 + drop, opacity=r, static=False)


class FileShot:
    """A generated shot stored as a video file (the diffusers backend); frames resized to the output size."""

    headline = product = card = None

    def __init__(self, path: Path, width: int, height: int) -> None:
        import imageio_ffmpeg

        try:
            reader = imageio_ffmpeg.read_frames(str(path))
            meta = reader.__next__()
            w, h = meta["size"]
            self.fps = float(meta.get("fps") or 24)
            self.frames = [cv2.resize(np.frombuffer(f, np.uint8).reshape(h, w, 3), (width, height)) for f in reader]
        except (OSError, RuntimeError, StopIteration) as e:
            raise MediaError(f"generated shot {path} cannot be read ({e}); re-render it") from e
        if not self.frames:
            raise MediaError(f"generated shot {path} has no frames")

    def frame(self, t: float) -> np.ndarray:
        return self.frames[min(max(int(t * self.fps), 0), len(self.frames) - 1)].copy()


# ----------------------------------------------------------------------------------------------------------
# GPU backend
# ----------------------------------------------------------------------------------------------------------


class DiffusersVideoBackend:
    """A diffusers text/image-to-video pipeline (LTX-Video, Wan, CogVideoX) from a local weights folder.

    Never downloads: the folder must hold a saved pipeline. Needs a CUDA GPU.
    """

    def __init__(self, model_path: Path | None) -> None:
        if model_path is None or not Path(model_path).is_dir():
            raise BackendUnavailableError(
                f"the diffusers video backend needs a local pipeline folder (RECGEN_DIFFUSERS_MODEL_PATH); "
                f"got {model_path!r}. Use the default procedural backend, or save a pipeline there first."
            )
        try:
            import torch
            from diffusers import DiffusionPipeline
        except ImportError as e:
            raise BackendUnavailableError("the diffusers backend needs: pip install diffusers accelerate") from e
        if not torch.cuda.is_available():
            raise BackendUnavailableError("the diffusers video backend needs a CUDA GPU; none is visible")
        self.pipe = DiffusionPipeline.from_pretrained(
            str(model_path), torch_dtype=torch.bfloat16, local_files_only=True
        ).to("cuda")

    def generate(self, prompt: str, seconds: float, width: int, height: int, fps: int, seed: int, out: Path) -> Path:
        import imageio_ffmpeg
        import torch

        frames = self.pipe(
            prompt=prompt,
            num_frames=int(round(seconds * fps)) // 8 * 8 + 1,
            width=width // 32 * 32,
            height=height // 32 * 32,
            generator=torch.Generator("cuda").manual_seed(seed),
            output_type="np",
        ).frames[0]
        writer = imageio_ffmpeg.write_frames(str(out), (frames.shape[2], frames.shape[1]), fps=fps)
        writer.send(None)
        for f in frames:
            writer.send((np.clip(f, 0, 1) * 255).astype(np.uint8))
        writer.close()
        return out
