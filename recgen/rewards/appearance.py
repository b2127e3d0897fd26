"""What the product looks like on screen, measured on the rendered file: does it show the colour its title
names? A viewer who reads "Deep Blue" in the name and sees a green bottle has been told something false.

A pixel shows the colour when it is close to it in CIELAB: for a chromatic colour, the same hue (within
`HUE_TOL` degrees) with at least half its chroma, at any lightness (shading spans dark to bright); for a
near-neutral one (black, white, grey, silver), little chroma and a lightness near it. The product's pixels
are its box less those that look like the band round it (the background it stands on), so a background of
that colour does not pass for the product; a product that is itself the background's colour is not judged.
"""

from __future__ import annotations

import cv2
import numpy as np

HUE_TOL = 28.0  # degrees of CIELAB hue
NEUTRAL_CHROMA = 14.0  # below this a colour is a neutral (black, white, grey)
MIN_SHARE = 0.12  # of the product's own pixels (the box less what looks like the background)
BG_CLUSTERS = 6  # main colours of the band round the box
BG_DELTA = 9.0  # CIELAB distance within which a pixel looks like the background
MAX_BACKGROUND = 0.72  # more of the box than this looks like the background: not judged


def _lab(rgb: np.ndarray) -> np.ndarray:
    px = np.asarray(rgb, dtype=np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(px, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def colour_share(pixels: np.ndarray, rgb: tuple[int, int, int]) -> float:
    """Share of `pixels` (N×3 sRGB) that show the colour `rgb`."""
    if len(pixels) == 0:
        return 0.0
    lab = _lab(pixels)
    target = _lab(np.array([rgb]))[0]
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    t_chroma = float(np.hypot(target[1], target[2]))
    if t_chroma < NEUTRAL_CHROMA:
        ok = (chroma < NEUTRAL_CHROMA + 6) & (np.abs(lab[:, 0] - target[0]) < 18)
    else:
        hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1]))
        t_hue = np.degrees(np.arctan2(target[2], target[1]))
        dh = np.abs((hue - t_hue + 180) % 360 - 180)
        ok = (dh < HUE_TOL) & (chroma >= 0.5 * t_chroma)
    return float(ok.mean())


def _background_like(inside: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Which pixels of the box look like the band round it (within `BG_DELTA` of one of its main colours)."""
    ring_lab = _lab(ring[:: max(1, len(ring) // 4000)])
    k = min(BG_CLUSTERS, len(ring_lab))
    _, _, centres = cv2.kmeans(
        ring_lab.astype(np.float32), k, None, (cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS, 20, 0.5), 2,
        cv2.KMEANS_PP_CENTERS,
    )  # fmt: skip
    lab = _lab(inside)
    dist = np.sqrt(((lab[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    return dist < BG_DELTA


def shows_colour(inside: np.ndarray, ring: np.ndarray, rgb: tuple[int, int, int]) -> tuple[bool | None, float]:
    """Whether the product in its box shows the colour, and the share of its pixels that do. The box's
    pixels that look like the background round it are set aside first; when most of the box looks like it,
    the product is the background's colour or lost in it, and it cannot be judged (None)."""
    if len(inside) == 0 or len(ring) == 0:
        return None, 0.0
    bg = _background_like(inside, ring)
    if bg.mean() > MAX_BACKGROUND:
        return None, round(colour_share(inside, rgb), 4)
    share = colour_share(inside[~bg], rgb)
    return share >= MIN_SHARE, round(share, 4)
