"""Baselines measured by the same evaluation code: most-popular, and SASRec (Kang & McAuley 2018)."""

from __future__ import annotations

import numpy as np

from recgen.sid.metrics import top_k_from_scores


class Popularity:
    """Rank every item by its training count; the same list for every user."""

    def fit(self, train: tuple[np.ndarray, ...], n_items: int) -> Popularity:
        self.counts = np.bincount(np.concatenate(train), minlength=n_items).astype(np.float32)
        return self

    def recommend(self, histories: tuple[np.ndarray, ...], k: int) -> np.ndarray:
        return top_k_from_scores(np.broadcast_to(self.counts, (len(histories), len(self.counts))), k)
