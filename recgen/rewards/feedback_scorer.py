"""Scoring a draft with the trained feedback model (R_feedback): numpy only, so a run that scores its drafts
does not import torch (about 3 s per process). The model is trained by `recgen.rewards.feedback` and kept
as plain arrays in the cache; see there for what it is."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HISTORY = 20


@dataclass(frozen=True)
class FeedbackScorer:
    """Engagement in 0..1 for a catalog item shown with a creative code path to a viewer."""

    codes: np.ndarray  # (items, levels) content codes
    code_emb: np.ndarray  # (levels × size, dim)
    code_bias: np.ndarray  # (levels × size,)
    recency: np.ndarray  # (HISTORY,) logits of the recency weights
    map_w: np.ndarray  # (dim, dim): user = map_w @ pooled history + map_b
    map_b: np.ndarray
    population: np.ndarray  # the user vector of a viewer with no known history
    creative_bias: dict[tuple[int, ...], float] = field(default_factory=dict)

    @property
    def offsets(self) -> np.ndarray:
        return np.arange(self.codes.shape[1]) * (len(self.code_bias) // self.codes.shape[1])

    def user_vec(self, history: list[int]) -> np.ndarray:
        h = np.asarray(history[-HISTORY:], dtype=np.int64)
        w = np.exp(self.recency - self.recency.max())[HISTORY - len(h) :]
        w = w / max(float(w.sum()), 1e-9)
        pooled = (self.code_emb[self.codes[h] + self.offsets].sum(1) * w[:, None]).sum(0)
        return self.map_w @ pooled + self.map_b

    def engagement(self, item: int, creative: tuple[int, ...], history: list[int] | None = None) -> float:
        """`history`: item ids of the interaction data (others are left out); none: the population."""
        history = [i for i in history or [] if 0 <= i < len(self.codes)]
        user = self.user_vec(history) if history else self.population
        rows = self.codes[item] + self.offsets
        logit = float(self.code_emb[rows].sum(0) @ user + self.code_bias[rows].sum())
        logit += self.creative_bias.get(tuple(creative), 0.0)
        return round(float(1.0 / (1.0 + np.exp(-logit))), 4)

    def save(self, path: Path) -> Path:
        tmp = Path(path).with_name(Path(path).name + ".partial.npz")
        np.savez(
            tmp, codes=self.codes.astype(np.int16), code_emb=self.code_emb, code_bias=self.code_bias,
            recency=self.recency, map_w=self.map_w, map_b=self.map_b, population=self.population,
            creative_bias=np.asarray(json.dumps([[list(k), v] for k, v in self.creative_bias.items()])),
        )  # fmt: skip
        tmp.replace(path)
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> FeedbackScorer:
        with np.load(path) as z:
            bias = {tuple(int(c) for c in k): float(v) for k, v in json.loads(str(z["creative_bias"]))}
            return cls(
                z["codes"].astype(np.int64), z["code_emb"], z["code_bias"], z["recency"], z["map_w"], z["map_b"],
                z["population"], bias,
            )  # fmt: skip
