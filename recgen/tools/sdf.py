"""Signed-distance primitives in numpy, the building blocks of the parametric product models.

Each function takes points `p` of shape (N, 3) and returns their signed distance (N,) to the shape:
negative inside. Shapes are centred on the origin and upright along y unless told otherwise; a model
places them (product_models.Part: an offset and a `rotation`).
Formulas are the standard exact or bounded ones (cylinders, cones, boxes, ellipsoids), vectorised.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Sdf = Callable[[np.ndarray], np.ndarray]


def _len2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(a * a + b * b)


def cylinder(r: float, h: float, edge: float = 0.0, squash: float = 1.0) -> Sdf:
    """Upright cylinder of radius `r`, height `h` (y from -h/2 to h/2), edges rounded by `edge`. `squash` < 1
    flattens its depth (an oval tube or bottle): a bounded distance, safe to march."""
    e = min(edge, r * 0.99, h / 2 * 0.99)

    def f(p: np.ndarray) -> np.ndarray:
        q0 = _len2(p[:, 0], p[:, 2] / squash) - r + e
        q1 = np.abs(p[:, 1]) - h / 2 + e
        d = np.minimum(np.maximum(q0, q1), 0.0) + _len2(np.maximum(q0, 0.0), np.maximum(q1, 0.0)) - e
        return d * (squash if squash < 1 else 1.0)

    return f


def cone(r_bottom: float, r_top: float, h: float) -> Sdf:
    """Upright frustum, radius `r_bottom` at y = -h/2 and `r_top` at y = h/2 (exact)."""
    hh = h / 2

    def f(p: np.ndarray) -> np.ndarray:
        qx, qy = np.sqrt(p[:, 0] ** 2 + p[:, 2] ** 2), p[:, 1]
        k1x, k1y = r_top, hh
        k2x, k2y = r_top - r_bottom, 2 * hh
        cax = qx - np.minimum(qx, np.where(qy < 0, r_bottom, r_top))
        cay = np.abs(qy) - hh
        t = np.clip(((k1x - qx) * k2x + (k1y - qy) * k2y) / (k2x * k2x + k2y * k2y), 0.0, 1.0)
        cbx, cby = qx - k1x + k2x * t, qy - k1y + k2y * t
        s = np.where((cbx < 0) & (cay < 0), -1.0, 1.0)
        return s * np.sqrt(np.minimum(cax * cax + cay * cay, cbx * cbx + cby * cby))

    return f


def box(w: float, h: float, d: float, edge: float = 0.0) -> Sdf:
    """Box of width `w` (x), height `h` (y) and depth `d` (z), edges rounded by `edge` (exact)."""
    e = min(edge, w / 2 * 0.99, h / 2 * 0.99, d / 2 * 0.99)
    half = np.array([w / 2 - e, h / 2 - e, d / 2 - e])

    def f(p: np.ndarray) -> np.ndarray:
        q = np.abs(p) - half
        outside = np.sqrt((np.maximum(q, 0.0) ** 2).sum(axis=1))
        return outside + np.minimum(q.max(axis=1), 0.0) - e

    return f


def ellipsoid(rx: float, ry: float, rz: float) -> Sdf:
    """Ellipsoid with semi-axes `rx`, `ry`, `rz` (a bounded approximation, exact for a sphere)."""
    r = np.array([rx, ry, rz])

    def f(p: np.ndarray) -> np.ndarray:
        k0 = np.sqrt(((p / r) ** 2).sum(axis=1))
        k1 = np.sqrt(((p / (r * r)) ** 2).sum(axis=1))
        return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)

    return f


def rotation(about: str, degrees: float) -> np.ndarray:
    """The 3×3 rotation by `degrees` about the x, y or z axis."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    return {
        "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[about]


def cut(sdf: Sdf, normal: tuple[float, float, float], offset: float) -> Sdf:
    """The shape with everything beyond the plane n·p = offset removed (a slanted lipstick tip)."""
    n = np.asarray(normal, dtype=float)
    n = n / np.linalg.norm(n)
    return lambda p: np.maximum(sdf(p), p @ n - offset)


def repeated_x(sdf: Sdf, step: float, count: int) -> Sdf:
    """`count` copies of the shape along x, `step` apart and centred (comb teeth, bristle rows): one
    evaluation per point whatever the count."""
    lo = -(count - 1) / 2

    def f(p: np.ndarray) -> np.ndarray:
        k = np.clip(np.round(p[:, 0] / step - lo), 0, count - 1) + lo
        q = p.copy()
        q[:, 0] = p[:, 0] - k * step
        return sdf(q)

    return f
