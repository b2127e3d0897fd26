"""The generative recommender: a decoder-only transformer over item D-SID tokens (nanoGPT-sized and shaped).

A user's history is the flat token sequence of its items' codes, [c1 c2 … | s1 s2 …] per item, followed by
BOS; the model then writes the next item's codes one level at a time. Every level has its own code-token
embeddings (token id = level offset + code), and logits are restricted to the level being written.
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


@dataclass
class GRMConfig:
    level_sizes: tuple[int, ...]  # codes per token level of one item, content levels first
    content_levels: int  # how many of the levels are content (the rest are creative)
    max_items: int = 20
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    dropout: float = 0.2

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


class _Block(nn.Module):
    def __init__(self, c: GRMConfig) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.qkv = nn.Linear(c.d_model, 3 * c.d_model)
        self.proj = nn.Linear(c.d_model, c.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(c.d_model, 4 * c.d_model), nn.GELU(), nn.Linear(4 * c.d_model, c.d_model), nn.Dropout(c.dropout)
        )
        self.n_head, self.dropout = c.n_head, c.dropout

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        mask = causal[None, None] & ~pad[:, None, None, :]  # left padding: never attend to PAD keys
        mask = mask | torch.eye(T, dtype=torch.bool, device=x.device)[None, None]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln2(x))


class GRM(nn.Module):
    def __init__(self, config: GRMConfig) -> None:
        super().__init__()
        self.config = c = config
        self.tok = nn.Embedding(c.vocab, c.d_model, padding_idx=PAD)
        self.level_emb = nn.Embedding(c.levels + 1, c.d_model)  # + 1 for BOS (and PAD)
        self.item_pos = nn.Embedding(c.max_items + 2, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(_Block(c) for _ in range(c.n_layer))
        self.ln = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab, bias=False)
        self.head.weight = self.tok.weight  # tied
        mask = torch.full((c.levels, c.vocab), float("-inf"))
        for lv, (off, size) in enumerate(zip(c.offsets, c.level_sizes, strict=True)):
            mask[lv, off : off + size] = 0.0
        self.register_buffer("level_mask", mask, persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, tokens: torch.Tensor, levels: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Hidden states (B, T, d); `levels` is each token's level (BOS = L), `positions` its item index."""
        pad = tokens == PAD
        x = self.tok(tokens) + self.level_emb(levels) + self.item_pos(positions)
        x = self.drop(x)
        for b in self.blocks:
            x = b(x, pad)
        return self.ln(x)

    def logits_for(self, hidden: torch.Tensor, next_level: torch.Tensor) -> torch.Tensor:
        """Logits of the next token, restricted to the vocabulary of the level it belongs to."""
        return self.head(hidden) + self.level_mask[next_level]

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
        self._offsets = np.asarray(c.offsets)

    def encode_history(self, history: np.ndarray, max_items: int | None = None) -> tuple[np.ndarray, ...]:
        """BOS, then the last max_items items' tokens: (tokens, levels, item positions).

        Positions are right-aligned (as in SASRec): the item to be written is always position
        config.max_items + 1, the latest history item the one before, so training windows and longer test
        histories use the same positions. BOS is position 0.
        """
        c = self.config
        n_max = max_items or c.max_items
        items = np.asarray(history, dtype=np.int64)[-n_max:]
        if items.size and (items.min() < 0 or items.max() >= len(self.item_codes)):
            raise SIDError(f"history has an item id outside 0..{len(self.item_codes) - 1}")
        toks = (self.item_codes[items] + self._offsets).reshape(-1)
        lv = np.tile(np.arange(c.levels), len(items))
        last = c.max_items + (1 if n_max > c.max_items else 0)  # a training window ends on its target
        pos = np.repeat(np.arange(last - len(items) + 1, last + 1), c.levels)
        return np.concatenate([[BOS], toks]), np.concatenate([[c.levels], lv]), np.concatenate([[0], pos])

    def batch(self, histories: list[np.ndarray], max_items: int | None = None) -> tuple[torch.Tensor, ...]:
        """Left-padded batch of encoded histories, so every row's next token is written at the same place."""
        enc = [self.encode_history(h, max_items) for h in histories]
        T = max(len(e[0]) for e in enc)
        out = [np.zeros((len(enc), T), np.int64) for _ in range(3)]
        for r, e in enumerate(enc):
            for j in range(3):
                out[j][r, T - len(e[j]) :] = e[j]
        return tuple(torch.from_numpy(o) for o in out)  # type: ignore[return-value]


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def cosine_lr(step: int, total: int, base: float, warmup: int = 100) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))
