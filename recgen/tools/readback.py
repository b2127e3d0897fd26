"""Read a rendered draft back like a viewer: the text on sampled frames (OCR) and the words in its sound
(speech recognition). The critic judges these, not what the plans meant to show."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recgen.errors import BackendUnavailableError
from recgen.schemas import TextBox
from recgen.settings import Settings
from recgen.tools.asr import Heard
from recgen.tools.ocr import READ_WIDTH, Seen
from recgen.tools.probes import frames_at

MAX_FRAMES = 40
OPENING = (0.5, 1.0)  # always read: is anything on screen in the first second?
SCAN_EVERY_S = 1.0  # … and a whole frame every second: text drawn where no plan put it is found there. Text
# burned into an export stays up for a second or more (a caption, a sticker, a name); a second between
# whole-frame reads catches it and costs one read of the frame per video-second.
SETTLED = 0.3  # the share of a text's time after which its words have all come in (kinetic type: 0.25)


@dataclass(frozen=True)
class ProductView:
    """The product as the file shows it at a shot's keyframe: the pixels of its box and of a ring round it
    (the background it stands on), for checks of what the product looks like."""

    time: float
    inside: np.ndarray  # RGB pixels of the product's box
    ring: np.ndarray  # RGB pixels of the band round it


@dataclass
class ReadBack:
    frames: dict[float, list[Seen]] = field(default_factory=dict)  # sample time → what was read there
    heard: list[Heard] | None = None  # None: could not listen
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    products: list[ProductView] = field(default_factory=list)  # the product at each product shot's keyframe
    contrast: dict[int, float] = field(default_factory=dict)  # text box index → lowest contrast seen in the file
    whole: set[float] = field(default_factory=set)  # the sample times whose frames were read whole


def scan_times(duration: float) -> list[float]:
    """Whole-frame reads: the opening, then every SCAN_EVERY_S."""
    return sorted({*OPENING, *(round(t, 3) for t in np.arange(1.5, duration - 0.05, SCAN_EVERY_S))})


def sample_times(boxes: tuple[TextBox, ...], duration: float) -> list[float]:
    """The middle of each text element's time on screen, and the opening; near-equal times merged."""
    times = sorted({*OPENING, *((b.start + min(b.end, duration)) / 2 for b in boxes)})
    merged: list[float] = []
    for t in times:
        if t < duration and (not merged or t - merged[-1] > 0.15):
            merged.append(round(t, 3))
    return merged[:MAX_FRAMES]


def _read_frame(reader, frame: np.ndarray, t: float, boxes: tuple[TextBox, ...], size: tuple[int, int],
                whole: bool = False):  # fmt: skip
    """Whole frames at the scan's times (anything readable, wherever it is); elsewhere only the places where
    the plan drew text, each with a margin — the same pixels, a fraction of the work."""
    if whole:
        return reader.read(frame, size[0])
    k = frame.shape[1] / size[0]
    seen: list[Seen] = []
    for b in boxes:
        if b.kind == "product" or not b.start <= t < b.end:
            continue
        x0 = max(0, int((b.box[0] - 0.06 * size[0]) * k))
        y0 = max(0, int((b.box[1] - 0.03 * size[1]) * k))
        x1 = min(frame.shape[1], int((b.box[2] + 0.06 * size[0]) * k) + 1)
        y1 = min(frame.shape[0], int((b.box[3] + 0.03 * size[1]) * k) + 1)
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
        for s in reader.read(frame[y0:y1, x0:x1], size[0], scale=k):
            bx = s.box
            off_x, off_y = int(x0 / k), int(y0 / k)
            seen.append(Seen(s.text, (bx[0] + off_x, bx[1] + off_y, bx[2] + off_x, bx[3] + off_y), s.score))
    return seen


def _luminance(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float32) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.asarray([0.2126, 0.7152, 0.0722], np.float32)


def seen_contrast(frame: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]) -> float | None:
    """The contrast a viewer gets inside a text element's place: the WCAG ratio between its brightest and
    darkest pixels (2nd and 98th percentiles of relative luminance: glyphs against what they stand on)."""
    k = frame.shape[1] / size[0]
    x0, y0, x1, y1 = (int(v * k) for v in box)
    crop = frame[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    if crop.size < 3 * 16:
        return None
    lo, hi = np.percentile(_luminance(crop.reshape(-1, 3)), [2, 98])
    return float((hi + 0.05) / (lo + 0.05))


def product_times(boxes: tuple[TextBox, ...], duration: float) -> list[float]:
    """The keyframe of each shot that shows the product (where the compositor measured its box)."""
    return [t for _, t in product_keyframes(boxes, duration)]


def product_keyframes(boxes: tuple[TextBox, ...], duration: float) -> list[tuple[TextBox, float]]:
    """Each product shot's box with its keyframe, for the shots whose keyframe the file still holds."""
    keys = [(b, round(b.start + 0.6 * (b.end - b.start), 3)) for b in boxes if b.kind == "product"]
    return [(b, t) for b, t in keys if t < duration - 0.05]


def product_view(frame: np.ndarray, box: tuple[int, int, int, int], t: float, size: tuple[int, int]) -> ProductView:
    """The product's box and the band round it (a fifth of its size on each side), from a frame decoded at
    any width."""
    k = frame.shape[1] / size[0]
    x0, y0, x1, y1 = (int(v * k) for v in box)
    mx, my = max(2, (x1 - x0) // 5), max(2, (y1 - y0) // 5)
    X0, Y0 = max(0, x0 - mx), max(0, y0 - my)
    X1, Y1 = min(frame.shape[1], x1 + mx), min(frame.shape[0], y1 + my)
    outer = frame[Y0:Y1, X0:X1]
    mask = np.ones(outer.shape[:2], dtype=bool)
    mask[y0 - Y0 : y1 - Y0, x0 - X0 : x1 - X0] = False
    return ProductView(t, frame[y0:y1, x0:x1].reshape(-1, 3).copy(), outer[mask].reshape(-1, 3).copy())


def read_back(path: Path, boxes: tuple[TextBox, ...], duration: float, audio: np.ndarray, rate: int,
              settings: Settings, knows: str | None = None, run_dir: Path | None = None) -> ReadBack:  # fmt: skip
    """`knows`: the words a viewer knows before the ad speaks (the product's title), given to the recogniser
    so product names are not heard as common words; never the script."""
    t0 = time.perf_counter()
    out = ReadBack()
    size = (settings.width, settings.height)
    products = [b for b, _ in product_keyframes(boxes, duration)]
    scans = scan_times(duration) if settings.ocr_backend != "none" else []
    times = sorted({*sample_times(boxes, duration), *scans}) if scans else []
    keyframes = product_times(boxes, duration)
    decoded = dict(zip(
        all_times := sorted({*times, *keyframes}),
        frames_at(path, all_times, settings.fps, size, READ_WIDTH) if all_times else [],
        strict=True,
    ))  # fmt: skip
    out.products = [product_view(decoded[t], b.box, t, size) for b, t in zip(products, keyframes, strict=True)]
    if times:
        try:
            from recgen.tools.ocr import get_ocr

            reader = get_ocr(settings.render_threads)
            for t in times:
                out.frames[t] = _read_frame(reader, decoded[t], t, boxes, size, whole=t in scans)
                for i, b in enumerate(boxes):  # contrast where text is shown, from the same frames
                    if b.kind != "product" and b.start + SETTLED * (b.end - b.start) <= t < b.end:
                        ratio = seen_contrast(decoded[t], b.box, size)
                        if ratio is not None:
                            out.contrast[i] = min(out.contrast.get(i, ratio), ratio)
            out.whole = set(scans)
        except BackendUnavailableError as e:
            out.notes.append(f"critic: could not read the frames ({e})")
    if settings.asr_backend != "none":
        try:
            from recgen.tools.asr import HEARD_DIR, listen

            store = None if run_dir is None else run_dir / HEARD_DIR
            out.heard = listen(audio, rate, settings.cache_dir, knows, store, settings.render_threads)
        except BackendUnavailableError as e:
            out.notes.append(f"critic: could not listen to the draft ({e})")
    # the time spent reading and listening (the product views alone are a look, not a read-back: not timed)
    reading = settings.ocr_backend != "none" or settings.asr_backend != "none"
    out.seconds = time.perf_counter() - t0 if reading else 0.0
    return out
