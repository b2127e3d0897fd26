"""Comparing two arms on the same simulated viewers: rates per arm and the lift, with paired bootstrap
confidence intervals (viewers resampled with replacement, both arms together)."""

from __future__ import annotations

import numpy as np


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0, alpha: float = 0.05) -> dict:
    """a, b: one value per viewer (e.g. their click rate) for arm A and arm B. Returns each arm's mean, the
    relative lift mean(b)/mean(a) − 1 and the absolute difference, each with a (1 − alpha) percentile
    interval, and the share of resamples where B beats A."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError("two equal-length, non-empty lists of per-viewer values are needed")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), (n, len(a)))
    ma, mb = a[idx].mean(axis=1), b[idx].mean(axis=1)
    lift = mb / np.maximum(ma, 1e-12) - 1
    lo, hi = 100 * alpha / 2, 100 * (1 - alpha / 2)

    def ci(x: np.ndarray) -> list[float]:
        return [round(float(np.percentile(x, lo)), 5), round(float(np.percentile(x, hi)), 5)]

    return {
        "a": round(float(a.mean()), 5),
        "a_ci": ci(ma),
        "b": round(float(b.mean()), 5),
        "b_ci": ci(mb),
        "lift": round(float(b.mean() / max(a.mean(), 1e-12) - 1), 5),
        "lift_ci": ci(lift),
        "difference": round(float(b.mean() - a.mean()), 5),
        "difference_ci": ci(mb - ma),
        "p_b_better": round(float((mb > ma).mean()), 4),
        "viewers": len(a),
    }
