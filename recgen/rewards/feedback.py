"""Feedback reward (the paper's R_feedback): a ranking model's predicted engagement for (user history, D-SID).

Content side: items are their content semantic IDs (LETTER's published text-derived codes for Beauty, 4 × 256,
`Beauty.index.json`), an item's vector the sum of its code embeddings, so an item is known by its codes,
not by an id. A user is a recency-weighted mean of their last `HISTORY` items' vectors. The engagement logit
is ⟨W·user, item⟩ + an item bias (also by codes). Trained on the Beauty interactions' training part
(leave-one-out: the last two items of each user are held out) against sampled negatives.

Creative side: a bias per creative code path, learned from logged feedback events (the closed loop). Beauty
has no creatives, so it starts empty: neutral, adding nothing to any video's score.

A viewer with no known history (a product run without a user) is the population: the mean user vector of
the training users.

No weights ship with recgen: the first run that needs the model trains it from the interaction data (about
ten seconds on 2 cores, seed 0) into the cache as plain arrays (`feedback_cache`, `feedback_scorer`: no torch);
`recgen rewards train-feedback` retrains it there.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from recgen.rewards.feedback_scorer import HISTORY, FeedbackScorer
from recgen.sid.data import Split


class FeedbackModel(torch.nn.Module):
    def __init__(self, codes: np.ndarray, dim: int = 32) -> None:
        super().__init__()
        self.codes = torch.as_tensor(np.asarray(codes), dtype=torch.long)  # saved apart, compactly
        levels, size = codes.shape[1], int(codes.max()) + 1
        self.code_emb = torch.nn.Embedding(levels * size, dim)
        self.code_bias = torch.nn.Embedding(levels * size, 1)
        torch.nn.init.normal_(self.code_emb.weight, std=0.05)
        torch.nn.init.zeros_(self.code_bias.weight)
        self.register_buffer("offsets", torch.arange(levels) * size)
        self.recency = torch.nn.Parameter(torch.zeros(HISTORY))
        self.user_map = torch.nn.Linear(dim, dim)
        self.register_buffer("population", torch.zeros(dim))
        self.creative_bias: dict[tuple[int, ...], float] = {}

    def item_vec(self, items: torch.Tensor) -> torch.Tensor:
        return self.code_emb(self.codes[items] + self.offsets).sum(-2)

    def item_bias(self, items: torch.Tensor) -> torch.Tensor:
        return self.code_bias(self.codes[items] + self.offsets).sum((-2, -1))

    def user_vec(self, history: torch.Tensor) -> torch.Tensor:
        """history: (B, HISTORY) item ids, right-aligned, −1 for padding."""
        mask = (history >= 0).float()
        w = torch.softmax(self.recency, 0) * mask
        w = w / w.sum(-1, keepdim=True).clamp_min(1e-9)
        return self.user_map((self.item_vec(history.clamp_min(0)) * w.unsqueeze(-1)).sum(1))

    def logits(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """users: (B, dim); items: (B, n) → (B, n)."""
        return (self.item_vec(items) * users.unsqueeze(1)).sum(-1) + self.item_bias(items)


def pad_histories(histories: list[np.ndarray]) -> torch.Tensor:
    out = np.full((len(histories), HISTORY), -1, dtype=np.int64)
    for r, h in enumerate(histories):
        h = np.asarray(h[-HISTORY:])
        if len(h):
            out[r, -len(h) :] = h
    return torch.as_tensor(out)


def _examples(train: tuple[np.ndarray, ...]) -> tuple[list[np.ndarray], np.ndarray]:
    """Every (history, next item) of the training sequences."""
    hist, pos = [], []
    for s in train:
        for t in range(1, len(s)):
            hist.append(s[max(0, t - HISTORY) : t])
            pos.append(s[t])
    return hist, np.asarray(pos, dtype=np.int64)


def train_feedback(split: Split, codes: np.ndarray, epochs: int = 4, negatives: int = 4, seed: int = 0,
                   batch: int = 1024, progress=None) -> tuple[FeedbackModel, dict]:  # fmt: skip
    """BCE on (history, next item) positives against uniformly sampled negatives."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = FeedbackModel(codes)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    hist, pos = _examples(split.train)
    padded = pad_histories(hist)
    t0 = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(len(pos))
        for b in range(0, len(order), batch):
            idx = order[b : b + batch]
            items = np.concatenate([pos[idx, None], rng.integers(0, split.n_items, (len(idx), negatives))], axis=1)
            labels = torch.zeros(len(idx), 1 + negatives)
            labels[:, 0] = 1.0
            logits = model.logits(model.user_vec(padded[idx]), torch.as_tensor(items))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if progress:
            progress()
    with torch.no_grad():
        model.population.copy_(model.user_vec(pad_histories([s for s in split.train if len(s)])).mean(0))
    return model, {"examples": len(pos), "epochs": epochs, "seconds": round(time.perf_counter() - t0, 1)}


def auc(pos_scores: np.ndarray, neg_scores: np.ndarray) -> float:
    """Mean over users of the share of their negatives scored below their positive (ties count half)."""
    p = pos_scores[:, None]
    return float(((neg_scores < p).mean(1) + 0.5 * (neg_scores == p).mean(1)).mean())


def held_out_auc(model: FeedbackModel, split: Split, negatives: int = 100, seed: int = 1) -> dict[str, float]:
    """Test users (history → last item) against uniformly drawn items they never interacted with; the
    popularity baseline ranks by training count."""
    rng = np.random.default_rng(seed)
    negs = rng.integers(0, split.n_items, (len(split.test_target), negatives))
    for r, h in enumerate(split.test_history):  # redraw negatives that are in the user's own sequence
        seen = set(h.tolist()) | {int(split.test_target[r])}
        for j in np.flatnonzero(np.isin(negs[r], list(seen))):
            while negs[r, j] in seen:
                negs[r, j] = rng.integers(0, split.n_items)
    items = np.concatenate([split.test_target[:, None], negs], axis=1)
    scores = []
    with torch.no_grad():
        for b in range(0, len(items), 4096):
            u = model.user_vec(pad_histories(list(split.test_history[b : b + 4096])))
            scores.append(model.logits(u, torch.as_tensor(items[b : b + 4096])).numpy())
    s = np.concatenate(scores)
    counts = np.bincount(np.concatenate(split.train), minlength=split.n_items).astype(float)
    pop = counts[items]
    return {"auc": round(auc(s[:, 0], s[:, 1:]), 4), "auc_popularity": round(auc(pop[:, 0], pop[:, 1:]), 4),
            "users": len(items), "negatives": negatives}  # fmt: skip


def scorer_of(model: FeedbackModel) -> FeedbackScorer:
    """The trained model as the plain arrays a run scores with (no torch there)."""
    st = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return FeedbackScorer(
        model.codes.numpy().astype(np.int64), st["code_emb.weight"], st["code_bias.weight"][:, 0], st["recency"],
        st["user_map.weight"], st["user_map.bias"], st["population"], dict(model.creative_bias),
    )  # fmt: skip


def save_model(model: FeedbackModel, path: Path) -> Path:
    return scorer_of(model).save(path)


def train_from_data(data_dir: Path, out: Path, epochs: int = 4, seed: int = 0, progress=None,
                    creative_bias: dict | None = None) -> tuple[FeedbackModel, dict, Split]:  # fmt: skip
    """Train on `<data_dir>/amazon-beauty` (interactions + LETTER codes), with the creative side given (from
    the feedback store; none: neutral), and save to `out`."""
    from recgen.sid.data import leave_one_out, load_code_table, load_interactions

    folder = Path(data_dir) / "amazon-beauty"
    data = load_interactions(folder / "Beauty.inter.json")
    codes = load_code_table(folder / "Beauty.index.json", data.n_items)
    split = leave_one_out(data)
    model, info = train_feedback(split, codes, epochs, seed=seed, progress=progress)
    model.creative_bias = dict(creative_bias or {})
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_model(model, out)
    return model, info, split
