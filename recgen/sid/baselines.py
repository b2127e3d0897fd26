"""Baselines measured by the same evaluation code: most-popular, last-item transitions (a first-order
Markov chain) and SASRec (Kang & McAuley 2018)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional as F

from recgen.errors import CatalogError
from recgen.sid.data import Split
from recgen.sid.grm import Block
from recgen.sid.metrics import rank_metrics, top_k_from_scores
from recgen.sid.seen import seen_log_share
from recgen.sid.transitions import transition_counts


class Popularity:
    """Rank every item by its training count; the same list for every user."""

    def fit(self, train: tuple[np.ndarray, ...], n_items: int) -> Popularity:
        self.counts = np.bincount(np.concatenate(train), minlength=n_items).astype(np.float32)
        return self

    def recommend(self, histories: tuple[np.ndarray, ...], k: int, exclude_seen: bool = False) -> np.ndarray:
        """`exclude_seen`: never an item of the user's own history (each user's list differs then)."""
        out = [
            top_k_from_scores(
                np.broadcast_to(self.counts, (len(chunk), len(self.counts))), k, list(chunk) if exclude_seen else None
            )
            for chunk in (histories[i : i + 2048] for i in range(0, len(histories), 2048))
        ]
        return np.concatenate(out) if out else np.zeros((0, k), np.int64)


class Transitions:
    """Rank items by how often they followed the user's last item in the training sequences, ties and
    unknown last items by popularity. It measures how much of a split is first-order item transitions:
    on Beauty that depends on how same-day interactions were ordered (README)."""

    def fit(self, train: tuple[np.ndarray, ...], n_items: int) -> Transitions:
        self.counts = transition_counts(train, n_items)
        pop = Popularity().fit(train, n_items).counts
        self.tiebreak = pop / (pop.max() + 1.0)  # below one transition, so it only orders equal counts
        return self

    def recommend(self, histories: tuple[np.ndarray, ...], k: int, exclude_seen: bool = False) -> np.ndarray:
        if any(len(h) == 0 for h in histories):
            raise CatalogError("every history needs a last item to rank its transitions")
        out = []
        for i in range(0, len(histories), 1024):
            chunk = histories[i : i + 1024]
            last = np.asarray([h[-1] for h in chunk], np.int64)
            scores = self.counts[last].toarray() + self.tiebreak
            out.append(top_k_from_scores(scores, k, list(chunk) if exclude_seen else None))
        return np.concatenate(out) if out else np.zeros((0, k), np.int64)


class SASRec(torch.nn.Module):
    """Self-attentive sequential recommendation (Kang & McAuley 2018), compact: right-aligned positions,
    causal blocks, next-item cross-entropy over all items, full-ranking inference. `seen_bias`: the same
    learned seen-items feature as the GRM's (recgen.sid.seen), here simply whether the item is in the history."""

    def __init__(
        self,
        n_items: int,
        max_len: int = 50,
        d_model: int = 64,
        n_layer: int = 2,
        n_head: int = 1,
        dropout: float = 0.3,
        seen_bias: bool = False,
    ) -> None:
        super().__init__()
        self.n_items, self.max_len = n_items, max_len
        self.item = torch.nn.Embedding(n_items + 1, d_model, padding_idx=0)  # id + 1; 0 pads
        self.pos = torch.nn.Embedding(max_len + 1, d_model)
        self.drop = torch.nn.Dropout(dropout)
        self.blocks = torch.nn.ModuleList(Block(d_model, n_head, dropout) for _ in range(n_layer))
        self.ln = torch.nn.LayerNorm(d_model)
        self.seen_weight = torch.nn.Parameter(torch.zeros(())) if seen_bias else None
        torch.nn.init.normal_(self.item.weight, std=0.02)

    def _with_seen(self, logits: torch.Tensor, rows: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Add the learned seen-items term where row `rows[i]` has seen item `items[i]`. An item's share is
        1 or 0, so only the seen entries change: a sparse add, not a second dense (rows × catalog) tensor."""
        if self.seen_weight is None:
            return logits
        flat = torch.unique(rows * logits.shape[1] + items)
        term = self.seen_weight * seen_log_share(torch.ones((), dtype=logits.dtype, device=logits.device))
        return logits.reshape(-1).index_add(0, flat, term.expand(len(flat))).view_as(logits)

    def _pad(self, seqs: list[np.ndarray]) -> torch.Tensor:
        """Right-aligned ids + 1, only as wide as the longest sequence of the batch (positions stay aligned)."""
        width = max(1, min(self.max_len, max((len(s) for s in seqs), default=1)))
        out = np.zeros((len(seqs), width), np.int64)
        for r, s in enumerate(seqs):
            s = s[-self.max_len :]
            if len(s):
                out[r, -len(s) :] = s + 1
        return torch.from_numpy(out).to(self.item.weight.device)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(self.max_len - x.shape[1] + 1, self.max_len + 1, device=x.device).expand_as(x)
        h = self.drop(self.item(x) * self.item.embedding_dim**0.5 + self.pos(pos))
        pad = x == 0
        for b in self.blocks:
            h = b(h, pad)
        return self.ln(h)

    def loss(self, seqs: list[np.ndarray], rng: np.random.Generator) -> torch.Tensor:
        """Cross-entropy of every next item over the whole catalog (full softmax, which ranks better than
        the original one-negative BCE on full-ranking metrics)."""
        inp = self._pad([s[:-1] for s in seqs])
        target = self._pad([s[1:] for s in seqs])
        h = self.encode(inp)
        sel = target > 0
        logits = h[sel] @ self.item.weight[1:].T
        if self.seen_weight is not None:  # each position has seen its own and every earlier input item
            W = inp.shape[1]
            row_of = (torch.cumsum(sel.reshape(-1), 0) - 1).view_as(sel)
            pairs = (
                sel[:, :, None]
                & torch.ones(W, W, dtype=torch.bool, device=inp.device).tril()[None]
                & (inp > 0)[:, None, :]
            )
            b, t, u = pairs.nonzero(as_tuple=True)
            logits = self._with_seen(logits, row_of[b, t], inp[b, u] - 1)
        return F.cross_entropy(logits, target[sel] - 1)

    @torch.no_grad()
    def recommend(
        self, histories: tuple[np.ndarray, ...], k: int, batch_size: int = 512, exclude_seen: bool = False
    ) -> np.ndarray:
        """Top-k items per history; `exclude_seen`: never an item of the user's own history."""
        self.eval()
        out = []
        for i in range(0, len(histories), batch_size):
            chunk = list(histories[i : i + batch_size])
            h = self.encode(self._pad(chunk))[:, -1]
            scores = h @ self.item.weight[1:].T
            if self.seen_weight is not None:  # the whole history has been seen, not only the model's window
                dev = scores.device
                rows = torch.cat([torch.full((len(seen),), r, device=dev) for r, seen in enumerate(chunk)])
                seen_items = torch.as_tensor(np.concatenate(chunk), dtype=torch.long, device=dev)
                scores = self._with_seen(scores, rows, seen_items)
            if exclude_seen:
                for row, seen in enumerate(chunk):
                    scores[row, torch.as_tensor(seen, dtype=torch.long, device=scores.device)] = float("-inf")
            out.append(scores.topk(k, dim=1).indices.cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, k), np.int64)

    def fit(
        self,
        split: Split,
        epochs: int = 200,
        batch_size: int = 128,
        lr: float = 1e-3,
        patience: int = 4,
        eval_every: int = 5,
        eval_users: int = 2000,
        seed: int = 0,
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    ) -> dict:
        """Train with early stopping on validation NDCG@10 (checked every `eval_every` epochs)."""
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        seqs = [s for s in split.train if len(s) >= 2]
        sample = rng.choice(len(split.valid_target), size=min(eval_users, len(split.valid_target)), replace=False)
        vh, vt = tuple(split.valid_history[i] for i in sample), split.valid_target[sample]
        opt = torch.optim.Adam(self.parameters(), lr=lr, betas=(0.9, 0.98))
        best, best_state, stale, history = -1.0, None, 0, []
        t0 = time.perf_counter()
        for epoch in range(1, epochs + 1):
            self.train()
            lengths = np.array([min(len(s), self.max_len + 1) for s in seqs])
            order = np.argsort(lengths + rng.uniform(0, 2, len(lengths)), kind="stable")  # similar lengths together
            batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
            losses = []
            for b in rng.permutation(len(batches)):
                loss = self.loss([seqs[i] for i in batches[b]], rng)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
            row = {"epoch": epoch, "loss": float(np.mean(losses))}
            if epoch % eval_every == 0:
                row.update({f"valid_{k}": v for k, v in rank_metrics(self.recommend(vh, 10), vt).items()})
                if row["valid_ndcg@10"] > best:
                    best, stale, best_state = row["valid_ndcg@10"], 0, copy.deepcopy(self.state_dict())
                else:
                    stale += 1
            history.append(row)
            if on_epoch:
                on_epoch(epoch, row)
            if stale >= patience:
                break
        if best_state is not None:
            self.load_state_dict(best_state)
        return {"epochs": len(history), "seconds": time.perf_counter() - t0, "history": history}
