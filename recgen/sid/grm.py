"""The generative recommender: a decoder-only transformer over item D-SID tokens (nanoGPT-sized and shaped).

A user's history is BOS followed by the flat token sequence of its items' codes, [c1 c2 … | s1 s2 …] per
item; the model then writes the next item's codes one level at a time. Every level has its own code-token
embeddings (token id = level offset + code), and logits are restricted to the level being written.

Optionally (`item_ids`) a history item's last token also carries an embedding of the item itself: codes are
lossy (items share paths), the id is exact. Only the last token carries it, so while an item's own codes are
being written its id is never visible — the model predicts codes, never reads them off the answer.

With `history="items"` the transformer reads one position per history item (the sum of its code-token
embeddings) instead of one per code token: a quarter of the sequence length, so training is several times
faster. Every position's output then writes the next item's codes through a small causal *item decoder*
over [that output, the item's codes so far] — so every history item is still a training target, and beam
search still writes one level at a time.

With `seen_bias`, each level's logits also get a learned weight × a feature of what the user already has
(recgen.sid.seen): sequence models put the user's own items near the top although this data never repeats
one, and the weight lets the model learn that from the training histories.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from recgen.errors import CatalogError, SIDError
from recgen.sid.seen import seen_log_share


@dataclass
class GRMConfig:
    level_sizes: tuple[int, ...]  # codes per token level of one item, content levels first
    content_levels: int  # how many of the levels are content (the rest are creative)
    max_items: int = 20
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    dropout: float = 0.2
    item_ids: int = 0  # > 0: number of catalog items whose id embedding joins their history tokens
    # each level's softmax only over the codes the trie allows after the prefix (training and beam search
    # alike): the model never spends probability on paths no item has
    constrained: bool = False
    history: str = "tokens"  # "tokens": one position per code token; "items": one per history item
    decoder_layers: int = 1  # the item decoder's blocks (history="items" only)
    # each level's logits get a learned weight × log of the share of a code's items the user has not seen
    # (recgen.sid.seen); applied in retrieval, where codes are items
    seen_bias: bool = False

    def __post_init__(self) -> None:
        if self.history not in ("tokens", "items"):
            raise SIDError(f"history is 'tokens' or 'items', got {self.history!r}")

    @property
    def levels(self) -> int:
        return len(self.level_sizes)

    @property
    def offsets(self) -> list[int]:
        return [2 + sum(self.level_sizes[:i]) for i in range(self.levels)]

    @property
    def vocab(self) -> int:
        return 2 + sum(self.level_sizes)  # 0 = PAD, 1 = BOS


PAD, BOS = 0, 1


class Block(nn.Module):
    """Pre-norm causal self-attention block that ignores left padding (shared with SASRec)."""

    def __init__(self, d_model: int, n_head: int, dropout: float) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model), nn.Dropout(dropout)
        )
        self.n_head, self.dropout = n_head, dropout

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        return tuple(t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # type: ignore

    def forward(self, x: torch.Tensor, pad: torch.Tensor, cache: list | None = None) -> torch.Tensor:
        """Full causal pass; when `cache` is a list, this layer's keys and values are appended to it."""
        B, T, C = x.shape
        q, k, v = self._heads(x)
        if cache is not None:
            cache.append((k, v))
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        mask = causal[None, None] & ~pad[:, None, None, :]  # left padding: never attend to PAD keys
        mask = mask | torch.eye(T, dtype=torch.bool, device=x.device)[None, None]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln2(x))

    def step(
        self,
        x: torch.Tensor,
        hist: tuple[torch.Tensor, torch.Tensor],
        hist_pad: torch.Tensor,
        gen: tuple[torch.Tensor, torch.Tensor] | None,
        beams: int,
    ) -> tuple[torch.Tensor, tuple]:
        """One new token per beam (x: (B*nb, 1, C)). Beams of a user share that user's cached history keys
        (B, h, T, d) without copies; their own generated keys `gen` grow by one per step."""
        BN, _, C = x.shape
        B = BN // beams
        q, k, v = self._heads(x)
        gk, gv = (k, v) if gen is None else (torch.cat([gen[0], k], 2), torch.cat([gen[1], v], 2))
        hk, hv = hist
        h, d = hk.shape[1], hk.shape[3]
        qb = q.view(B, beams, h, d)
        s_hist = torch.einsum("bnhd,bhtd->bnht", qb, hk) / d**0.5
        s_hist = s_hist.masked_fill(hist_pad[:, None, None, :], float("-inf"))
        s_gen = (q @ gk.transpose(-1, -2)).view(B, beams, h, -1) / d**0.5
        att = torch.softmax(torch.cat([s_hist, s_gen], -1), -1)
        T = hk.shape[2]
        y = torch.einsum("bnht,bhtd->bnhd", att[..., :T], hv)
        y = y + (att[..., T:].reshape(BN, h, 1, -1) @ gv).view(B, beams, h, d)
        x = x + self.proj(y.reshape(BN, 1, C))
        return x + self.mlp(self.ln2(x)), (gk, gv)


class GRM(nn.Module):
    def __init__(self, config: GRMConfig) -> None:
        super().__init__()
        self.config = c = config
        self.tok = nn.Embedding(c.vocab, c.d_model, padding_idx=PAD)
        self.level_emb = nn.Embedding(c.levels + 1, c.d_model)  # + 1 for BOS (and PAD)
        self.item_pos = nn.Embedding(c.max_items + 2, c.d_model)
        self.decoder = (
            nn.ModuleList(Block(c.d_model, c.n_head, c.dropout) for _ in range(c.decoder_layers))
            if c.history == "items"
            else None
        )
        self.dec_ln = nn.LayerNorm(c.d_model) if self.decoder is not None else None
        self.item_emb = nn.Embedding(c.item_ids + 1, c.d_model, padding_idx=0) if c.item_ids else None
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c.d_model, c.n_head, c.dropout) for _ in range(c.n_layer))
        self.ln = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab, bias=False)
        self.head.weight = self.tok.weight  # tied
        self.seen_weight = nn.Parameter(torch.zeros(c.levels)) if c.seen_bias else None
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Embedding) and m.padding_idx is not None:
            with torch.no_grad():
                m.weight[m.padding_idx].zero_()  # "no item" must add nothing, as in cached decoding
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(
        self, tokens: torch.Tensor, levels: torch.Tensor, positions: torch.Tensor, items: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Hidden states (B, T, d); `levels` is each token's level (BOS = L), `positions` its item index,
        `items` the item id + 1 on an item's last token (0 elsewhere; used when config.item_ids)."""
        pad = tokens == PAD
        x = self.drop(self._embed(tokens, levels, positions, items))
        for b in self.blocks:
            x = b(x, pad)
        return self.ln(x)

    def _embed(
        self, tokens: torch.Tensor, levels: torch.Tensor, positions: torch.Tensor, items: torch.Tensor | None = None
    ) -> torch.Tensor:
        x = self.tok(tokens) + self.level_emb(levels) + self.item_pos(positions)
        if self.item_emb is not None and items is not None:
            x = x + self.item_emb(items)
        return x

    def encode_items(self, tokens: torch.Tensor, positions: torch.Tensor, items: torch.Tensor | None = None):
        """history="items": hidden states (B, T, d), one per history item; `tokens` (B, T, L) are each item's
        code tokens (all PAD for left padding), `positions` its right-aligned place, `items` its id + 1."""
        pad = tokens[..., 0] == PAD
        x = self.tok(tokens).sum(2) + self.item_pos(positions)
        if self.item_emb is not None and items is not None:
            x = x + self.item_emb(items)
        x = self.drop(x)
        for b in self.blocks:
            x = b(x, pad)
        return self.ln(x)

    def item_decode(self, context: torch.Tensor, prefix: torch.Tensor) -> torch.Tensor:
        """history="items": (N, m + 1, d) states of the item decoder over [context, prefix tokens (N, m)];
        state j writes level j of the item."""
        if self.decoder is None or self.dec_ln is None:
            raise SIDError("item_decode belongs to a GRM with history='items'")
        m = prefix.shape[1]
        lv = torch.arange(m, device=prefix.device).expand_as(prefix)
        head = context[:, None] + self.level_emb.weight[self.config.levels]
        x = torch.cat([head, self.tok(prefix) + self.level_emb(lv)], 1)
        x = self.drop(x)
        no_pad = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)
        for b in self.decoder:
            x = b(x, no_pad)
        return self.dec_ln(x)

    @torch.no_grad()
    def begin(self, tok: Tokenizer, histories: list[np.ndarray]) -> tuple[torch.Tensor, DecodeState]:
        """Read the histories once: the state that writes level 0 of the next item (B, d), and what later
        levels need (the history key/value cache, or each user's item-level output)."""
        dev = next(self.parameters()).device
        if self.config.history == "items":
            tokens, pos, items = (t.to(dev) for t in tok.item_batch(histories))
            user = self.encode_items(tokens, pos, items)[:, -1]
            empty = torch.zeros(len(histories), 0, dtype=torch.long, device=dev)
            return self.item_decode(user, empty)[:, 0], DecodeState(user=user)
        tokens, levels, pos, items = (t.to(dev) for t in tok.batch(histories))
        hidden, hist, hist_pad = self.prefill(tokens, levels, pos, items)
        return hidden, DecodeState(hist=hist, hist_pad=hist_pad)

    @torch.no_grad()
    def advance(
        self, state: DecodeState, parents: torch.Tensor, prefix: torch.Tensor, beams: int
    ) -> tuple[torch.Tensor, DecodeState]:
        """States (B * beams, d) that write the next level after each beam's code `prefix` (B * beams, lv + 1);
        `parents` (B * beams) is the row of the previous step each beam grew from."""
        c, lv = self.config, prefix.shape[1] - 1
        tokens = prefix + torch.as_tensor(c.offsets[: lv + 1], device=prefix.device)
        if c.history == "items":
            hidden = self.item_decode(state.user.repeat_interleave(beams, 0), tokens)[:, -1]  # type: ignore[union-attr]
            return hidden, state
        gen = None if state.gen is None else [(k[parents], v[parents]) for k, v in state.gen]
        n = len(parents)
        hidden, gen = self.decode_step(
            tokens[:, -1],
            torch.full((n,), lv, device=prefix.device),
            torch.full((n,), c.max_items + 1, device=prefix.device),
            state.hist,
            state.hist_pad,
            gen,
            beams,
        )
        return hidden, DecodeState(hist=state.hist, hist_pad=state.hist_pad, gen=gen)

    @torch.no_grad()
    def prefill(
        self, tokens: torch.Tensor, levels: torch.Tensor, positions: torch.Tensor, items: torch.Tensor | None = None
    ):
        """Encode histories once: last hidden state per row, each layer's (keys, values), and the pad mask."""
        pad = tokens == PAD
        x = self._embed(tokens, levels, positions, items)
        cache: list = []
        for b in self.blocks:
            x = b(x, pad, cache)
        return self.ln(x)[:, -1], cache, pad

    @torch.no_grad()
    def decode_step(
        self,
        tokens: torch.Tensor,
        levels: torch.Tensor,
        positions: torch.Tensor,
        hist: list,
        hist_pad: torch.Tensor,
        gen: list | None,
        beams: int,
    ):
        """Hidden state after one new token per beam, and the beams' grown key/value cache."""
        x = self._embed(tokens[:, None], levels[:, None], positions[:, None])
        new_gen = []
        for i, b in enumerate(self.blocks):
            x, kv = b.step(x, hist[i], hist_pad, None if gen is None else gen[i], beams)
            new_gen.append(kv)
        return self.ln(x)[:, 0], new_gen

    def level_logits(self, hidden: torch.Tensor, level: int, seen: torch.Tensor | None = None) -> torch.Tensor:
        """Logits over the codes of one level only (the tied embeddings of that level's tokens); with
        `seen_bias`, `seen` is the share of each code's items the user has already seen (SeenItems.share)."""
        off, size = self.config.offsets[level], self.config.level_sizes[level]
        logits = hidden @ self.head.weight[off : off + size].T
        if self.seen_weight is not None and seen is not None:
            logits = logits + self.seen_weight[level] * seen_log_share(seen)
        return logits

    def level_log_probs(
        self, hidden: torch.Tensor, level: int, allowed: torch.Tensor | None = None, seen: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Log-probabilities over one level's codes; a `constrained` model renormalises over `allowed`
        (0 where the trie allows a code, −inf elsewhere; a row with nothing allowed is all −inf)."""
        logits = self.level_logits(hidden, level, seen)
        if self.config.constrained and allowed is not None:
            logits = logits + allowed
        return torch.log_softmax(logits, -1).nan_to_num(nan=float("-inf"))

    def save(self, path: Path, extra: dict | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"config": asdict(self.config), "state": self.state_dict(), "extra": extra or {}}, path)

    @classmethod
    def load(cls, path: Path) -> tuple[GRM, dict]:
        if not Path(path).is_file():
            raise CatalogError(f"no GRM checkpoint at {path}; train one with `recgen grm train`")
        blob = torch.load(path, map_location="cpu", weights_only=False)
        cfg = blob["config"]
        cfg["level_sizes"] = tuple(cfg["level_sizes"])
        model = cls(GRMConfig(**cfg))
        model.load_state_dict(blob["state"])
        return model.eval(), blob.get("extra", {})


@dataclass
class DecodeState:
    """What beam search carries between levels: the history cache and the beams' own keys/values (tokens
    mode), or each user's item-level output (items mode)."""

    hist: list | None = None
    hist_pad: torch.Tensor | None = None
    gen: list | None = None
    user: torch.Tensor | None = None


@dataclass
class Tokenizer:
    """Item codes ↔ token sequences for a GRMConfig."""

    config: GRMConfig
    item_codes: np.ndarray  # (n_items, levels)
    _offsets: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        c = self.config
        if self.item_codes.ndim != 2 or self.item_codes.shape[1] != c.levels:
            raise SIDError(f"item codes must have {c.levels} levels, got shape {self.item_codes.shape}")
        if (self.item_codes < 0).any() or (self.item_codes >= np.asarray(c.level_sizes)).any():
            raise SIDError("an item code is outside its level's codebook")
        if 0 < c.item_ids < len(self.item_codes):
            raise SIDError(f"the model embeds {c.item_ids} item ids but the catalog has {len(self.item_codes)} items")
        self._offsets = np.asarray(c.offsets)

    def encode_history(self, history: np.ndarray, max_items: int | None = None) -> tuple[np.ndarray, ...]:
        """BOS, then the last max_items items' tokens: (tokens, levels, item positions, item ids).

        Positions are right-aligned (as in SASRec): the item to be written is always position
        config.max_items + 1, the latest history item the one before, so training windows and longer test
        histories use the same positions. BOS is position 0.
        """
        c = self.config
        n_max = max_items or c.max_items
        items = self._items(history, n_max)
        toks = (self.item_codes[items] + self._offsets).reshape(-1)
        lv = np.tile(np.arange(c.levels), len(items))
        last = self._last_position(n_max)
        pos = np.repeat(np.arange(last - len(items) + 1, last + 1), c.levels)
        ids = np.zeros((len(items), c.levels), dtype=np.int64)
        ids[:, -1] = items + 1
        return (
            np.concatenate([[BOS], toks]),
            np.concatenate([[c.levels], lv]),
            np.concatenate([[0], pos]),
            np.concatenate([[0], ids.reshape(-1)]),
        )

    def _last_position(self, n_max: int) -> int:
        """The last history item's position: max_items, or max_items + 1 for a training window (which ends
        on its target)."""
        return self.config.max_items + (1 if n_max > self.config.max_items else 0)

    def _items(self, history: np.ndarray, n_max: int) -> np.ndarray:
        items = np.asarray(history, dtype=np.int64)[-n_max:]
        if items.size and (items.min() < 0 or items.max() >= len(self.item_codes)):
            raise SIDError(f"history has an item id outside 0..{len(self.item_codes) - 1}")
        return items

    def item_batch(self, histories: list[np.ndarray], max_items: int | None = None) -> tuple[torch.Tensor, ...]:
        """history="items": left-padded (code tokens (B, T, L), positions (B, T), item ids + 1 (B, T)),
        positions right-aligned as in encode_history."""
        c = self.config
        n_max = max_items or c.max_items
        rows = [self._items(h, n_max) for h in histories]
        T = max([1] + [len(r) for r in rows])  # an empty history reads as one padded item
        last = self._last_position(n_max)
        tokens = np.zeros((len(rows), T, c.levels), np.int64)
        pos = np.zeros((len(rows), T), np.int64)
        ids = np.zeros((len(rows), T), np.int64)
        for r, items in enumerate(rows):
            n = len(items)
            if n:
                tokens[r, T - n :] = self.item_codes[items] + self._offsets
                pos[r, T - n :] = np.arange(last - n + 1, last + 1)
                ids[r, T - n :] = items + 1
        return torch.from_numpy(tokens), torch.from_numpy(pos), torch.from_numpy(ids)

    def batch(self, histories: list[np.ndarray], max_items: int | None = None) -> tuple[torch.Tensor, ...]:
        """Left-padded batch of encoded histories, so every row's next token is written at the same place."""
        enc = [self.encode_history(h, max_items) for h in histories]
        T = max(len(e[0]) for e in enc)
        out = [np.zeros((len(enc), T), np.int64) for _ in range(4)]
        for r, e in enumerate(enc):
            for j in range(4):
                out[j][r, T - len(e[j]) :] = e[j]
        return tuple(torch.from_numpy(o) for o in out)  # type: ignore[return-value]


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def cosine_lr(step: int, total: int, base: float, warmup: int = 100) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))
