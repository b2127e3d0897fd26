"""Residual k-means: L levels of K centroids; each level quantizes what the levels above left over."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recgen.errors import SIDError
from recgen.sid.data import collision_rate


def _sq_dists(x: np.ndarray, c: np.ndarray, x_sq: np.ndarray | None = None) -> np.ndarray:
    """Squared distances, rows of x to rows of c; `x_sq` (x's squared norms) saves recomputing them when x
    is fixed over many calls (k-means)."""
    if x_sq is None:
        x_sq = np.einsum("ij,ij->i", x, x)
    return x_sq[:, None] - 2.0 * x @ c.T + np.einsum("ij,ij->i", c, c)[None, :]


def _dists_to(x: np.ndarray, x_sq: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared distances of x's rows to one point (a matrix-vector product: k-means++ seeding calls it k times)."""
    return x_sq - 2.0 * (x @ c) + c @ c


def kmeans(
    x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 50, weights: np.ndarray | None = None
) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; empty clusters are re-seeded on the worst-fit point.
    `weights` (one per point) make heavy points pull centroids, and seeds, towards them."""
    n = len(x)
    k = min(k, n)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    centroids = np.empty((k, x.shape[1]), dtype=np.float64)
    x_sq = np.einsum("ij,ij->i", x, x)
    centroids[0] = x[rng.integers(n) if weights is None else rng.choice(n, p=w / w.sum())]
    d2 = _dists_to(x, x_sq, centroids[0])
    for j in range(1, k):
        p = np.clip(d2, 0, None) * w
        idx = rng.choice(n, p=p / p.sum()) if p.sum() > 0 else rng.integers(n)
        centroids[j] = x[idx]
        d2 = np.minimum(d2, _dists_to(x, x_sq, centroids[j]))
    for _ in range(iters):
        d = _sq_dists(x, centroids, x_sq)
        assign = d.argmin(1)
        new, counts = _cluster_means(x, assign, k, w)
        empty = counts == 0
        if empty.any():
            worst = np.argsort(-d[np.arange(n), assign] * w)[: empty.sum()]
            new[empty] = x[worst]
        if np.allclose(new, centroids):
            centroids = new
            break
        centroids = new
    return centroids


def _cluster_means(
    x: np.ndarray, assign: np.ndarray, k: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(Weighted) mean of each cluster's points (zero for an empty cluster) and the cluster sizes."""
    from scipy.sparse import csr_matrix

    w = np.ones(len(x)) if weights is None else weights
    members = csr_matrix((w, (assign, np.arange(len(x)))), shape=(k, len(x)))  # row c: weights of c's points
    means = np.asarray(members @ x, dtype=np.float64)
    mass = np.bincount(assign, weights=w, minlength=k)
    means[mass > 0] /= mass[mass > 0, None]
    return means, np.bincount(assign, minlength=k)


def balanced_assign(d: np.ndarray, capacity: int) -> np.ndarray:
    """Each row to a column, no column taking more than `capacity` rows, near the least total distance:
    in rounds, every unplaced row proposes to its nearest column with room, and each column keeps its
    closest proposers up to its room (every round places at least one row per column proposed to)."""
    n, k = d.shape
    if capacity * k < n:
        raise SIDError(f"{k} codes of capacity {capacity} cannot hold {n} items")
    assign = np.full(n, -1, dtype=np.int64)
    room = np.full(k, capacity, dtype=np.int64)
    while (open_rows := np.flatnonzero(assign < 0)).size:
        sub = d[open_rows]
        sub[:, room == 0] = np.inf
        choice = sub.argmin(1)
        order = np.lexsort((sub[np.arange(len(open_rows)), choice], choice))  # by column, then distance
        col = choice[order]
        rank = np.arange(len(col)) - np.searchsorted(col, col, side="left")
        keep = rank < room[col]
        assign[open_rows[order[keep]]] = col[keep]
        room -= np.bincount(col[keep], minlength=k)
    return assign


def balanced_kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """k-means whose clusters hold at most ceil(n / k) points each, started from plain k-means: dense
    regions get as many centroids as sparse ones get points, so popular items stop piling onto one code."""
    centroids = kmeans(x, k, rng, iters=10)
    k, capacity = len(centroids), -(-len(x) // len(centroids))
    assign = balanced_assign(_sq_dists(x, centroids), capacity)
    for _ in range(iters):
        new, counts = _cluster_means(x, assign, k)
        new[counts == 0] = centroids[counts == 0]
        converged = np.allclose(new, centroids)
        centroids = new
        assign = balanced_assign(_sq_dists(x, centroids), capacity)
        if converged:
            break
    return centroids, assign


def _assign_within_prefixes(codes: np.ndarray, dists: np.ndarray) -> None:
    """Give items that share codes[:, :-1] distinct last codes by a minimum-cost assignment (in place)."""
    from scipy.optimize import linear_sum_assignment

    k = dists.shape[1]
    if codes.shape[1] == 1:
        groups = [np.arange(len(codes))]
    else:
        _, inv, counts = np.unique(codes[:, :-1], axis=0, return_inverse=True, return_counts=True)
        inv = inv.ravel()
        order = np.argsort(inv, kind="stable")
        groups = np.split(order, np.cumsum(counts)[:-1])
    for members in groups:
        if 1 < len(members) <= k and len(np.unique(codes[members, -1])) < len(members):
            rows, cols = linear_sum_assignment(dists[members])
            codes[members[rows], -1] = cols


@dataclass
class RQKMeans:
    """Fit/encode/decode residual k-means codes; deterministic given the seed."""

    levels: tuple[int, ...]  # codes per level, e.g. (8, 4)
    seed: int = 0
    codebooks: list[np.ndarray] = field(default_factory=list)
    # balanced k-means per level: every code holds at most ceil(n / K) of the fitted items, fitting and
    # encoding a catalog alike (encode(balanced=True)); fewer collisions where the items are dense
    balanced: bool = False

    def fit(self, x: np.ndarray, weights: np.ndarray | None = None) -> RQKMeans:
        """`weights` (one per item, > 0), e.g. interaction counts, spend codes where the weight is: heavy
        regions get more and finer centroids at every level."""
        if x.ndim != 2 or len(x) < 2:
            raise SIDError(f"RQ-KMeans needs a 2-D array of at least 2 vectors, got shape {x.shape}")
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (len(x),) or not np.isfinite(weights).all() or (weights <= 0).any():
                raise SIDError(f"weights must be {len(x)} positive finite numbers, one per vector")
        rng = np.random.default_rng(self.seed)
        residual = x.astype(np.float64)
        self.codebooks = []
        for k in self.levels:
            if self.balanced:
                cb, assign = balanced_kmeans(residual, k, rng)
            else:
                cb = kmeans(residual, k, rng, weights=weights)
                assign = _sq_dists(residual, cb).argmin(1)
            self.codebooks.append(cb)
            residual = residual - cb[assign]
        return self

    @property
    def dim(self) -> int:
        return self.codebooks[0].shape[1]

    def encode(self, x: np.ndarray, unique: bool = False, balanced: bool = False) -> np.ndarray:
        """Nearest centroid per level. `unique` encodes x as one catalog: items sharing every code but the
        last get distinct last codes (least total distance), so they need no disambiguation token unless a
        prefix holds more items than the last codebook has codes. Items that collide under plain encoding
        sit where the residual is small and all fall on the same near-zero centroid; assignment spreads them
        over the centroids nearest each one. (On Beauty the GRM ranked worse with these codes than with a
        disambiguation token — README — so catalogs do not use it by default.) `balanced` also encodes x as
        one catalog: at every level no code takes more than ceil(len(x) / K) items, as in a balanced fit."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.dim:
            raise SIDError(f"expected {self.dim}-dimensional embeddings, got {x.shape[1]}")
        codes = np.empty((len(x), len(self.codebooks)), dtype=np.int64)
        residual = x.copy()
        for level, cb in enumerate(self.codebooks):
            d = _sq_dists(residual, cb)
            codes[:, level] = balanced_assign(d, -(-len(x) // len(cb))) if balanced else d.argmin(1)
            if unique and level == len(self.codebooks) - 1:
                _assign_within_prefixes(codes, d)
            residual -= cb[codes[:, level]]
        return codes

    def decode(self, codes: np.ndarray | tuple[int, ...]) -> np.ndarray:
        codes = np.atleast_2d(np.asarray(codes, dtype=np.int64))
        self.check(codes)
        return sum(cb[codes[:, lv]] for lv, cb in enumerate(self.codebooks))

    def check(self, codes: np.ndarray) -> None:
        if codes.shape[1] != len(self.codebooks):
            raise SIDError(f"a code here has {len(self.codebooks)} levels, got {codes.shape[1]}")
        for lv, cb in enumerate(self.codebooks):
            bad = (codes[:, lv] < 0) | (codes[:, lv] >= len(cb))
            if bad.any():
                raise SIDError(f"code {int(codes[bad][0, lv])} at level {lv + 1} is outside 0..{len(cb) - 1}")

    def report(self, x: np.ndarray, unique: bool = False, balanced: bool = False) -> dict[str, float]:
        """Collision rate (items sharing a full code), code usage per level, relative L2 reconstruction error."""
        codes = self.encode(x, unique, balanced)
        err = np.linalg.norm(x - self.decode(codes), axis=1).sum() / max(np.linalg.norm(x, axis=1).sum(), 1e-12)
        out = {"collision_rate": collision_rate(codes), "reconstruction_error": float(err)}
        for lv, cb in enumerate(self.codebooks):
            out[f"usage_level{lv + 1}"] = float(len(np.unique(codes[:, lv])) / len(cb))
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {f"codebook{i}": cb for i, cb in enumerate(self.codebooks)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], seed: int = 0) -> RQKMeans:
        cbs = [arrays[f"codebook{i}"] for i in range(len(arrays))]
        return cls(levels=tuple(len(c) for c in cbs), seed=seed, codebooks=cbs)
