"""A small physically-minded renderer for the product models: sphere tracing in numpy, a studio light.

Why our own: the models are a few dozen analytic parts and the frame is a few hundred pixels tall, so
tracing signed distances on the CPU takes about a second per angle, with no renderer to install; it is
drawn once per product and angle and cached. What makes it read as a photograph rather than clip-art:
shading from a key light and a fill, reflections of two softboxes (a broad one up-left, a strip on the
right: the long highlight a bottle shows in a studio), Fresnel on glass, plastic and metal, a soft
contact shadow traced from the model itself, ambient occlusion in the creases, a camera that can turn
round the product (`yaw`), edges antialiased from the distance field. Colours are worked in linear light
and tone-mapped back to sRGB.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from recgen.tools.label import draw_label
from recgen.tools.product_models import Look, Model, Part, model_for

VERSION = 1  # bump when the look of a render changes: the disk cache keys carry it
MAX_STEPS = 72
HIT = 0.15  # a ray within this share of a pixel of the surface has hit it
_MATERIALS = {  # F0 (reflectance at normal incidence), roughness, diffuse weight
    "gloss": (0.045, 0.1, 1.0),
    "matte": (0.03, 0.5, 1.0),
    "glass": (0.07, 0.03, 0.0),
    "metal": (0.0, 0.16, 0.0),  # F0 is the metal's colour
    "gold": (0.0, 0.2, 0.0),
    "rubber": (0.03, 0.55, 1.0),
    "powder": (0.02, 0.8, 1.0),
    "bristle": (0.03, 0.7, 1.0),
    "paper": (0.035, 0.45, 1.0),
}
_GOLD = (0.93, 0.74, 0.42)
_SILVER = (0.86, 0.86, 0.88)


def _lin(rgb: tuple[int, int, int]) -> np.ndarray:
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def _tone(x: np.ndarray) -> np.ndarray:
    """ACES-style filmic curve (Narkowicz's fit): highlights roll off instead of clipping."""
    return np.clip((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0)


class _Scene:
    """A model posed for one camera: its parts' distances and which part is nearest."""

    def __init__(self, model: Model) -> None:
        self.model = model
        a = np.radians(model.tilt)
        c, s = np.cos(a), np.sin(a)
        self.tilt = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) if model.tilt else None
        self.pivot = np.array([0.0, 0.45, 0.0])

    def _untilt(self, p: np.ndarray) -> np.ndarray:
        return p if self.tilt is None else (p - self.pivot) @ self.tilt + self.pivot

    def each(self, p: np.ndarray) -> np.ndarray:
        q = self._untilt(p)
        return np.stack([part.sdf(part.local(q)) for part in self.model.parts])

    def dist(self, p: np.ndarray) -> np.ndarray:
        q = self._untilt(p)
        d = None
        for part in self.model.parts:
            e = part.sdf(part.local(q))
            d = e if d is None else np.minimum(d, e)
        return d

    def local(self, part: Part, p: np.ndarray) -> np.ndarray:
        return part.local(self._untilt(p))


def _bounds(scene: _Scene) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest corner of what the model occupies, from a grid of its distances."""
    g = np.linspace(-1.2, 1.2, 49)
    gy = np.linspace(-0.4, 1.6, 41)
    pts = np.stack(np.meshgrid(g, gy, g, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = pts[scene.dist(pts) < 0.03]
    if inside.size == 0:
        raise ValueError(f"product model {scene.model.family!r} is empty")
    step = np.array([g[1] - g[0], gy[1] - gy[0], g[1] - g[0]])
    return inside.min(axis=0) - step, inside.max(axis=0) + step


class _Camera:
    """An orthographic camera (a long lens, as product photography uses) looking down at `elevation`,
    turned `yaw` degrees round the product; it frames the model the same at every yaw so a turn does
    not change its size."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, elevation: float, yaw: float, height_px: int) -> None:
        el, ya = np.radians(elevation), np.radians(yaw)
        self.back = np.array([np.sin(ya) * np.cos(el), np.sin(el), np.cos(ya) * np.cos(el)])  # towards the eye
        self.fwd = -self.back
        self.right = np.array([np.cos(ya), 0.0, -np.sin(ya)])
        self.up = np.cross(self.right, self.fwd)
        centre = (lo + hi) / 2
        rx, rz = (hi[0] - lo[0]) / 2, (hi[2] - lo[2]) / 2
        radius = float(np.hypot(rx, rz)) if abs(yaw) > 1e-6 else rx
        span_y = (hi[1] - lo[1]) * np.cos(el) + 2 * max(rz, 0.05) * np.sin(el) + 0.04
        span_x = 2 * radius * 1.04
        self.centre = np.array([centre[0], centre[1], centre[2]])
        self.px = span_y / height_px  # world units per pixel
        self.h = height_px
        self.w = max(8, int(np.ceil(span_x / self.px)))
        self.floor = lo[1]

    def rays(self) -> np.ndarray:
        ys, xs = np.mgrid[0 : self.h, 0 : self.w].astype(np.float64)
        sx = (xs + 0.5 - self.w / 2) * self.px
        sy = (self.h / 2 - ys - 0.5) * self.px
        o = self.centre + sx[..., None] * self.right + sy[..., None] * self.up + self.back * 4.0
        return o.reshape(-1, 3)


def _march(scene: _Scene, origins: np.ndarray, fwd: np.ndarray, px: float) -> tuple[np.ndarray, np.ndarray]:
    """Sphere-trace every ray: the distance along it to the surface (or to its closest approach) and the
    smallest distance it passed at (0 on a hit), which gives the antialiased edge."""
    n = len(origins)
    t = np.zeros(n)
    closest = np.full(n, np.inf)
    t_closest = np.zeros(n)
    live = np.arange(n)
    for _ in range(MAX_STEPS):
        if live.size == 0:
            break
        d = scene.dist(origins[live] + t[live, None] * fwd)
        better = d < closest[live]
        closest[live[better]] = d[better]
        t_closest[live[better]] = t[live[better]]
        t[live] += np.maximum(d, px * 0.3)
        keep = (d > px * HIT) & (t[live] < 9.0)
        live = live[keep]
    hit = np.flatnonzero(closest < px * HIT)
    for _ in range(3):  # settle the hits onto the surface: no rings where a bounded distance stopped short
        t_closest[hit] += scene.dist(origins[hit] + t_closest[hit, None] * fwd)
    return t_closest, np.maximum(closest, 0.0)


def _normals(scene: _Scene, p: np.ndarray, eps: float) -> np.ndarray:
    k = np.array([[1, -1, -1], [-1, -1, 1], [-1, 1, -1], [1, 1, 1]], dtype=np.float64)
    n = sum(k[i] * scene.dist(p + k[i] * eps)[:, None] for i in range(4))
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)


def _occlusion(scene: _Scene, p: np.ndarray, n: np.ndarray) -> np.ndarray:
    occ = np.zeros(len(p))
    for i, h in enumerate((0.012, 0.03, 0.06)):  # short probes: bounded distances (ellipsoids) stay honest there
        occ += np.clip(h - scene.dist(p + n * h), 0.0, None) * 0.7**i / h
    return np.clip(1.0 - 0.45 * occ, 0.3, 1.0)


def _studio(r: np.ndarray, cam: _Camera, rough: np.ndarray) -> np.ndarray:
    """Radiance the studio reflects along directions `r`: a broad softbox up-left, a tall strip on the
    right, a dim sweep behind and a dark floor; rough surfaces see their edges blurred."""
    rx, ry, rz = r @ cam.right, r @ cam.up, r @ cam.back
    soft = 0.06 + rough * 0.9

    def window(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
        return np.clip((v - lo) / soft + 0.5, 0, 1) * np.clip((hi - v) / soft + 0.5, 0, 1)

    front = np.clip(rz * 3 + 0.5, 0, 1)
    key = 5.0 * window(rx, -0.85, -0.3) * window(ry, 0.15, 0.8) * front
    strip = 3.2 * window(rx, 0.62, 0.8) * window(ry, -0.5, 0.65) * front
    sweep = 0.32 + 0.2 * np.clip(ry, -1, 1)
    floor = 0.08 + 0.92 * np.clip((ry + 0.15) / soft + 0.5, 0, 1)
    return (key + strip + sweep * floor)[:, None]


def _label_texture(brand: str, name: str, paper: tuple[int, int, int], ink: tuple[int, int, int], w: int, h: int):
    """The label as an RGB image (tools/label.py draws it to fit)."""
    img = Image.new("RGB", (w, h), paper)
    draw_label(ImageDraw.Draw(img), (0, 0, w - 1, h - 1), brand, name, paper, ink)
    return np.asarray(img)


def _label_uv(part: Part, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Texture coordinates (0–1) of points `q` (the part's frame) on its label; outside is < 0 or > 1."""
    lab = part.label
    assert lab is not None
    if lab.kind == "wrap":
        theta = np.degrees(np.arctan2(q[:, 0], q[:, 2]))
        u = 0.5 + theta / lab.width
        v = (lab.hi - q[:, 1]) / (lab.hi - lab.lo)
        facing = q[:, 2] > -abs(q[:, 0])  # not the back of the pack
        return np.where(facing, u, -1), v
    if lab.kind == "front":
        u = 0.5 + q[:, 0] / lab.width
        v = (lab.hi - q[:, 1]) / (lab.hi - lab.lo)
        return np.where(q[:, 2] > 0, u, -1), v
    u = 0.5 + q[:, 0] / lab.width
    v = (q[:, 2] - lab.lo) / (lab.hi - lab.lo)
    return np.where(q[:, 1] > 0, u, -1), v


def _label_size(part: Part, height_px: int) -> tuple[int, int]:
    lab = part.label
    assert lab is not None
    span = lab.hi - lab.lo
    width = lab.radius * np.radians(lab.width) if lab.kind == "wrap" else lab.width
    h = int(np.clip(height_px * span * 2.2, 48, 600))
    return max(32, int(h * width / span)), h


def _shade(scene: _Scene, cam: _Camera, p: np.ndarray, look: Look, label: tuple[str, str]) -> np.ndarray:
    """Linear RGB of the surface points `p`: each point takes the material and colour of its nearest part."""
    n = _normals(scene, p, cam.px * 0.5)
    owner = np.argmin(scene.each(p), axis=0)
    parts = scene.model.parts
    albedo = np.zeros((len(p), 3))
    f0 = np.zeros((len(p), 3))
    rough = np.zeros(len(p))
    diffuse = np.zeros(len(p))
    glass = np.zeros(len(p), dtype=bool)
    for i, part in enumerate(parts):
        m = owner == i
        if not m.any():
            continue
        base = _lin(look.rgb(part.role))
        f, r, k = _MATERIALS[part.material]
        albedo[m] = base
        f0[m] = {"metal": _SILVER, "gold": _GOLD}.get(part.material, (f, f, f))
        rough[m], diffuse[m] = r, k
        glass[m] = part.material == "glass"
        if part.label is not None:
            _apply_label(scene, cam, part, p, m, look, label, albedo, f0, rough, diffuse)
    v = cam.back[None, :]
    ndv = np.clip((n * v).sum(axis=1), 0.0, 1.0)
    fres = f0 + (1 - f0) * ((1 - ndv) ** 5)[:, None] * (1 - rough)[:, None] ** 2
    r = 2 * ndv[:, None] * n - v
    env = _studio(r, cam, rough)
    key = -0.55 * cam.right + 0.62 * cam.up + 0.56 * cam.back
    key /= np.linalg.norm(key)
    lam = np.clip(n @ key, 0, 1)
    fill = np.clip(n @ (0.7 * cam.right + 0.1 * cam.up + 0.7 * cam.back), 0, 1)
    ao = _occlusion(scene, p, n)
    light = (0.22 + 0.1 * n @ cam.up + 1.25 * lam + 0.3 * fill) * ao
    col = albedo * (diffuse * light)[:, None] * (1 - fres)
    # glass: the contents seen through it, darker where the glass is thick (the edges), lit from behind
    thick = (0.3 + 0.7 * ndv**0.7)[:, None]
    col[glass] = (albedo[glass] * thick[glass] * (0.55 + 0.6 * lam[glass, None])) * ao[glass, None]
    halfv = key + cam.back
    halfv /= np.linalg.norm(halfv)
    shine = np.clip(n @ halfv, 0, 1) ** (2.0 / np.maximum(rough, 0.02) ** 2 + 2)
    spec = fres * env + (fres * (shine * (1 - rough) * 2.5)[:, None])
    metal = diffuse == 0
    spec[metal & ~glass] *= albedo[metal & ~glass] * 0.6 + 0.5
    return col + spec


def _apply_label(scene, cam, part, p, m, look, label, albedo, f0, rough, diffuse) -> None:
    """Print the label texture on the points of `part` that fall inside it (paper: matte, low sheen)."""
    q = scene.local(part, p[m])
    u, v = _label_uv(part, q)
    inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    if not inside.any():
        return
    tw, th = _label_size(part, cam.h)
    tex = _label_texture(label[0], label[1], look.label, look.ink, tw, th)
    mx = (u[inside] * (tw - 1)).astype(np.float32).reshape(-1, 1)
    my = (v[inside] * (th - 1)).astype(np.float32).reshape(-1, 1)
    # remap takes maps under 32767 rows: a label seen large (a close-up) is sampled in pieces
    texel = np.concatenate(
        [cv2.remap(tex, mx[k : k + 30000], my[k : k + 30000], cv2.INTER_LINEAR) for k in range(0, len(mx), 30000)]
    ).reshape(-1, 3)
    idx = np.flatnonzero(m)[inside]
    albedo[idx] = _lin(texel)  # type: ignore[arg-type]
    f0[idx], rough[idx], diffuse[idx] = 0.035, 0.45, 1.0


def _shadow(scene: _Scene, cam: _Camera, origins: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """Opacity of the soft contact shadow where the rays that miss the product meet the floor."""
    alpha = np.zeros(len(origins))
    if cam.fwd[1] >= -1e-3:
        return alpha
    idx = np.flatnonzero(miss)
    t = (origins[idx, 1] - cam.floor) / -cam.fwd[1]
    g = origins[idx] + t[:, None] * cam.fwd
    g[:, 1] = cam.floor
    occ = np.zeros(len(idx))
    for h in (0.02, 0.05, 0.1, 0.18):
        occ += np.clip(h - scene.dist(g + np.array([0.0, h, 0.0])), 0, None) / h
    alpha[idx] = np.clip(occ * 0.2, 0, 0.55)
    return alpha


STATS = {"renders": 0, "seconds": 0.0}  # what drawing products has cost in this process (benchmarks read it)


def render(model: Model, look: Look, label: tuple[str, str], height_px: int, yaw: float = 0.0) -> np.ndarray:
    """RGBA array (`height_px` tall, width from the model's shape) of the product on a transparent ground
    with its contact shadow."""
    t0 = time.perf_counter()
    try:
        return _render(model, look, label, height_px, yaw)
    finally:
        with _LOCK:
            STATS["renders"] += 1
            STATS["seconds"] += time.perf_counter() - t0


def _render(model: Model, look: Look, label: tuple[str, str], height_px: int, yaw: float) -> np.ndarray:
    scene = _Scene(model)
    lo, hi = _bounds(scene)
    cam = _Camera(lo, hi, model.elevation, yaw, height_px)
    origins = cam.rays()
    t, closest = _march(scene, origins, cam.fwd, cam.px)
    cover = np.clip(1.0 - (closest - HIT * cam.px) / (cam.px * 0.75), 0.0, 1.0)  # hits: 1; edges: partial
    seen = cover > 0
    rgb = np.zeros((len(origins), 3))
    pts = origins[seen] + t[seen, None] * cam.fwd
    rgb[seen] = _tone(_shade(scene, cam, pts, look, label) * 1.1)
    shadow = _shadow(scene, cam, origins, cover < 1)
    alpha = cover + (1 - cover) * shadow
    out = np.zeros((len(origins), 4), dtype=np.uint8)
    out[:, :3] = np.round(_srgb(rgb) * 255 * (cover / np.maximum(alpha, 1e-6))[:, None])
    out[:, 3] = np.round(alpha * 255)
    return out.reshape(cam.h, cam.w, 4)


_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_LOCK = threading.Lock()
_DRAWING: dict[str, threading.Lock] = {}  # one lock per render in progress: parallel shots draw it once


def cached_render(
    model: Model, look: Look, label: tuple[str, str], height_px: int, yaw: float = 0.0, folder: Path | None = None
) -> np.ndarray:
    """`render`, kept in memory (the last 64) and, given a folder, on disk: a product is drawn once per
    look, label, size and angle, whatever the number of shots, drafts and runs that show it."""
    key = hashlib.sha1(repr((VERSION, model.family, look, label, height_px, round(yaw, 2))).encode()).hexdigest()
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        drawing = _DRAWING.setdefault(key, threading.Lock())
    with drawing:
        with _LOCK:
            if key in _CACHE:
                return _CACHE[key]
        img = _load_or_draw(
            model, look, label, height_px, yaw, folder / f"{model.family}-{key[:16]}.png" if folder else None
        )
        with _LOCK:
            _CACHE[key] = img
            _DRAWING.pop(key, None)
            while len(_CACHE) > 64:
                _CACHE.popitem(last=False)
    return img


def _load_or_draw(model: Model, look: Look, label: tuple[str, str], height_px: int, yaw: float, path: Path | None):
    if path is not None and path.is_file():
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGBA"))
        except OSError:
            pass  # a damaged cache file is drawn again
    img = render(model, look, label, height_px, yaw)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".png", delete=False) as f:
            Image.fromarray(img).save(f, format="PNG")
        Path(f.name).replace(path)  # whole files only: a reader never sees half a PNG
    return img


@functools.cache
def part_anchor(family: str, role: str) -> tuple[float, float] | None:
    """Where the parts of `role` ("label": the part carrying the label) show in the family's front render,
    as fractions of the plate's width and height: the middle of their visible points. A callout points
    there and a label close-up centres on it. None when the model has no such part."""
    model = model_for(family)
    parts = [p for p in model.parts if (p.label is not None if role == "label" else p.role == role)]
    if not parts:
        return None
    scene = _Scene(model)
    lo, hi = _bounds(scene)
    cam = _Camera(lo, hi, model.elevation, 0.0, 240)
    t, closest = _march(scene, cam.rays(), cam.fwd, cam.px)
    hit = closest <= HIT * cam.px
    pts = cam.rays()[hit] + t[hit, None] * cam.fwd
    q = scene._untilt(pts)
    nearest = np.argmin(scene.each(pts), axis=0)  # each seen point belongs to the part it lies on
    mine = np.isin(nearest, [i for i, p in enumerate(model.parts) if any(p is x for x in parts)])
    if role == "label":  # the printed area only, not the whole part that carries it
        lab = parts[0].label
        local = parts[0].local(q)
        along = local[:, 2] if lab.kind == "top" else local[:, 1]
        mine &= (along >= lab.lo) & (along <= lab.hi)
    if not mine.any():
        return None  # hidden behind other parts from this side
    idx = np.flatnonzero(hit)[mine]
    ys, xs = np.divmod(idx, cam.w)
    k = np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2)  # the part's pixel nearest its middle: on it
    return float((xs[k] + 0.5) / cam.w), float((ys[k] + 0.5) / cam.h)
