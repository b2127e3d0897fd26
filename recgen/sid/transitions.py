"""Transition-aware ranking: the GRM's beam re-scored with what followed the user's latest items in training.

On Beauty's standard order many test items are set by how same-day purchases were filed, a signal an item
chain carries and codes shared by similar items do not (README, "The GRM on Amazon Beauty"). So the GRM's
candidates (its beam) are pooled with the chain's top items and every candidate is ranked by

    log p_GRM(item's codes | history) + β · log p_chain(item | latest items),

p_chain a mixture over the latest few history items of first-order transition counts, smoothed towards
popularity. β is chosen on the validation users when the GRM is trained (`fit_beta`); β = 0 is the plain beam.
The GRM still writes semantic IDs: the chain only re-weights paths the GRM scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from recgen.errors import CatalogError
from recgen.sid.beam import CodeTrie, beam_search_with, recommend_items
from recgen.sid.grm import GRM, Tokenizer
from recgen.sid.metrics import rank_metrics

BETAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def transition_counts(train: tuple[np.ndarray, ...] | list[np.ndarray], n_items: int) -> sparse.csr_matrix:
    """(n_items, n_items): how often item b directly followed item a in the training sequences."""
    seqs = [np.asarray(s, np.int64) for s in train if len(s) > 1]
    src = np.concatenate([s[:-1] for s in seqs]) if seqs else np.zeros(0, np.int64)
    dst = np.concatenate([s[1:] for s in seqs]) if seqs else np.zeros(0, np.int64)
    return sparse.csr_matrix((np.ones(len(src), np.float32), (src, dst)), shape=(n_items, n_items))


@dataclass
class TransitionScorer:
    """Counts of item b following item a in the training sequences, turned into a smoothed next-item
    distribution given the latest `len(weights)` items (the latest weighted `weights[0]`, and so on)."""

    counts: sparse.csr_matrix
    popularity: np.ndarray
    alpha: float = 1.0
    weights: tuple[float, ...] = (1.0, 0.5, 0.25, 0.125)
    beta: float = 0.0
    candidates: int = 20  # the chain's top items added to the beam's (20 ≈ 30 on validation, less work)
    _totals: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.counts = sparse.csr_matrix(self.counts, dtype=np.float32)
        self.popularity = np.asarray(self.popularity, np.float64)
        self._totals = np.asarray(self.counts.sum(axis=1), np.float64).ravel()
        self._prior = (self.popularity + 1.0) / (self.popularity + 1.0).sum()

    @classmethod
    def fit(cls, train: tuple[np.ndarray, ...] | list[np.ndarray], n_items: int, **kw) -> TransitionScorer:
        seqs = [np.asarray(s, np.int64) for s in train if len(s)]
        popularity = np.bincount(np.concatenate(seqs), minlength=n_items) if seqs else np.zeros(n_items)
        return cls(transition_counts(seqs, n_items), popularity, **kw)

    def state(self) -> dict:
        """Plain arrays and numbers, saved beside the GRM in its checkpoint."""
        c = self.counts
        return {"shape": c.shape, "data": c.data, "indices": c.indices, "indptr": c.indptr,
                "popularity": self.popularity, "alpha": self.alpha, "weights": list(self.weights),
                "beta": self.beta, "candidates": self.candidates}  # fmt: skip

    @classmethod
    def from_state(cls, s: dict) -> TransitionScorer:
        counts = sparse.csr_matrix((s["data"], s["indices"], s["indptr"]), shape=tuple(s["shape"]))
        return cls(counts, s["popularity"], s["alpha"], tuple(s["weights"]), s["beta"], s["candidates"])

    def lags(self, histories: list[np.ndarray]) -> list[tuple[np.ndarray, float, sparse.csr_matrix, np.ndarray]]:
        """Per lag j: (which rows have a j-th latest item, its weight, their count rows, their totals); sliced
        once per batch and handed to `top` and `log_probs`."""
        out = []
        n = self.counts.shape[0]
        for j, w in enumerate(self.weights):
            item = np.asarray([h[-1 - j] if len(h) > j else -1 for h in histories], np.int64)
            if (item >= n).any():
                raise CatalogError(f"a history holds item {int(item.max())}, beyond this chain's {n} items")
            has = item >= 0
            out.append((has, w, self.counts[item.clip(min=0)], self._totals[item.clip(min=0)]))
        return out

    def log_probs(self, histories: list[np.ndarray], items: np.ndarray, lags: list | None = None) -> np.ndarray:
        """log p_chain(item | each history's latest items), items (B, C) of ids (−1 pads get the prior)."""
        ids = np.asarray(items, np.int64).clip(min=0)
        prior = self._prior[ids]
        mix, norm = np.zeros(ids.shape), np.zeros((len(ids), 1))
        for has, w, rows, totals in lags or self.lags(histories):
            picked = np.asarray(rows[np.arange(len(ids))[:, None], ids].todense()) if ids.size else np.zeros(ids.shape)
            p = (picked + self.alpha * prior) / (totals[:, None] + self.alpha)
            mix += np.where(has[:, None], w * p, 0.0)
            norm += np.where(has[:, None], w, 0.0)
        return np.log(np.where(norm > 0, mix / np.maximum(norm, 1e-12), prior))

    def top(self, histories: list[np.ndarray], n: int, lags: list | None = None) -> np.ndarray:
        """(B, n): the items with the highest mixed transition counts (ties by popularity)."""
        n = min(n, self.counts.shape[1])
        score = np.zeros((len(histories), self.counts.shape[1]), np.float32)
        for has, w, rows, totals in lags or self.lags(histories):
            score += np.where(has[:, None], w * rows.toarray() / np.maximum(totals, 1.0)[:, None], 0.0)
        score += self._prior[None, :] * 1e-3  # below any counted transition: orders only the rest
        part = np.argpartition(-score, n - 1, axis=1)[:, :n]
        return np.take_along_axis(part, np.argsort(-np.take_along_axis(score, part, 1), 1, kind="stable"), 1)


@dataclass
class Candidates:
    """Each history's candidate items (−1 pads) with their GRM and chain log-probabilities, so many β can be
    tried on one scoring."""

    items: np.ndarray
    grm: np.ndarray
    chain: np.ndarray

    def ranked(self, beta: float, k: int, exclude: list[np.ndarray] | None = None) -> np.ndarray:
        total = np.where(self.items >= 0, self.grm + beta * self.chain, -np.inf)
        if exclude is not None:
            for r, ex in enumerate(exclude):
                total[r, np.isin(self.items[r], ex)] = -np.inf
        order = np.argsort(-total, axis=1, kind="stable")[:, :k]
        top = np.take_along_axis(self.items, order, 1)
        out = np.where(np.isfinite(np.take_along_axis(total, order, 1)), top, -1)
        return np.pad(out, ((0, 0), (0, k - out.shape[1])), constant_values=-1) if out.shape[1] < k else out


def candidates(
    model: GRM, tok: Tokenizer, trie: CodeTrie, scorer: TransitionScorer, histories: list[np.ndarray], beam: int
) -> Candidates:
    """The beam's items ∪ the chain's top items, each with the GRM's log-probability of its code path (the
    chain's items decoded beside the beams, `beam_search_with`) and its chain log-probability."""
    lags = scorer.lags(histories)
    chain_top = scorer.top(histories, scorer.candidates, lags)
    forced = tok.item_codes[chain_top]
    paths, scores, chain_scores = beam_search_with(model, tok, histories, beam, trie, forced)
    rows: list[dict[int, float]] = []
    for b in range(len(histories)):
        got: dict[int, float] = {}
        for j in np.argsort(-scores[b], kind="stable"):
            if np.isfinite(scores[b, j]):
                for i in trie.leaf.get(tuple(paths[b, j].tolist()), []):
                    got.setdefault(i, float(scores[b, j]))
        for i, sc in zip(chain_top[b].tolist(), chain_scores[b].tolist(), strict=True):
            got.setdefault(int(i), sc)
        rows.append(got)
    width = max([1] + [len(r) for r in rows])
    items = np.full((len(histories), width), -1, np.int64)
    grm = np.full((len(histories), width), -np.inf)
    for b, got in enumerate(rows):
        items[b, : len(got)], grm[b, : len(got)] = list(got), list(got.values())
    chain = np.where(items >= 0, scorer.log_probs(histories, items, lags), 0.0)
    return Candidates(items, grm, chain)


def rerank_items(
    model: GRM,
    tok: Tokenizer,
    trie: CodeTrie,
    scorer: TransitionScorer,
    histories: list[np.ndarray],
    k: int,
    beam: int = 20,
    batch_size: int = 256,
    exclude: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Top-k items per history by the transition-aware score (`recommend_items`' contract: −1 pads only when
    the catalog runs out). A row that exclusions leave short is topped up from a wider beam."""
    if exclude is not None and len(exclude) != len(histories):
        raise ValueError(f"exclude needs one id array per history, got {len(exclude)} for {len(histories)}")
    out = []
    for s in range(0, len(histories), batch_size):
        chunk = histories[s : s + batch_size]
        skip = None if exclude is None else exclude[s : s + batch_size]
        ranked = candidates(model, tok, trie, scorer, chunk, max(beam, k)).ranked(scorer.beta, k, skip)
        for r in np.flatnonzero((ranked < 0).any(1)):
            have = ranked[r][ranked[r] >= 0]
            never = np.concatenate([have, [] if skip is None else np.asarray(skip[r], np.int64)]).astype(np.int64)
            more = recommend_items(model, tok, trie, [chunk[r]], k - len(have), beam=beam, exclude=[never])[0]
            ranked[r] = np.concatenate([have, more])
        out.append(ranked)
    return np.concatenate(out) if out else np.zeros((0, k), np.int64)


def fit_beta(
    model: GRM,
    tok: Tokenizer,
    trie: CodeTrie,
    scorer: TransitionScorer,
    histories: list[np.ndarray],
    targets: np.ndarray,
    beam: int = 20,
    batch_size: int = 256,
    betas: tuple[float, ...] = BETAS,
) -> dict[float, dict[str, float]]:
    """Set `scorer.beta` to the β with the best NDCG@10 on these (validation) users; return every β's metrics."""
    parts = [candidates(model, tok, trie, scorer, histories[s : s + batch_size], max(beam, 10))
             for s in range(0, len(histories), batch_size)]  # fmt: skip
    sweep = {b: rank_metrics(np.concatenate([p.ranked(b, 10) for p in parts]), targets) for b in betas}
    scorer.beta = max(betas, key=lambda b: (sweep[b]["ndcg@10"], -b))
    return sweep
