"""Leave-one-out ranking metrics: Recall@K (= hit rate, one target per user) and NDCG@K."""

from __future__ import annotations

import numpy as np


def rank_metrics(ranked: np.ndarray, targets: np.ndarray, ks: tuple[int, ...] = (5, 10)) -> dict[str, float]:
    """`ranked` is (users, ≥ max k) item ids best first (−1 pads a short list); one target per user."""
    ranked = np.asarray(ranked)
    targets = np.asarray(targets)
    if ranked.ndim != 2 or len(ranked) != len(targets):
        raise ValueError(f"need one ranked row per target, got {ranked.shape} for {targets.shape}")
    if ranked.shape[1] < max(ks):
        raise ValueError(f"ranked lists have {ranked.shape[1]} items, need at least {max(ks)}")
    hit = ranked == targets[:, None]
    pos = np.where(hit.any(1), hit.argmax(1), np.iinfo(np.int64).max)
    out: dict[str, float] = {}
    for k in ks:
        inside = pos < k
        out[f"recall@{k}"] = float(inside.mean()) if len(targets) else 0.0
        gains = np.where(inside, 1.0 / np.log2(np.minimum(pos, k) + 2.0), 0.0)
        out[f"ndcg@{k}"] = float(gains.mean()) if len(targets) else 0.0
    return out


def top_k_from_scores(scores: np.ndarray, k: int, exclude: list[np.ndarray] | None = None) -> np.ndarray:
    """Top-k item ids per row of a (users, items) score matrix, optionally masking items already seen."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    if exclude is not None:
        for row, seen in enumerate(exclude):
            scores[row, seen] = -np.inf
    part = np.argpartition(-scores, kth=min(k, scores.shape[1] - 1), axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1, kind="stable")
    return np.take_along_axis(part, order, 1)
