"""Batched beam search over D-SID tokens, constrained by prefix tries.

*retrieval*: every beam stays on the code path of an existing item (TIGER-style; unique via the
disambiguation token). *generation*: the content part follows any valid content path and the creative part
any valid creative path, so a content × creative pair that no item has yet can be proposed — how RaG asks
for a video that does not exist.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from recgen.sid.grm import GRM, Tokenizer


class CodeTrie:
    """Valid next codes for every prefix of a set of code paths, and the items at each full path."""

    def __init__(self, codes: np.ndarray) -> None:
        codes = np.asarray(codes, dtype=np.int64)
        self.depth = codes.shape[1]
        nxt: dict[tuple[int, ...], set[int]] = defaultdict(set)
        self.leaf: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, row in enumerate(codes.tolist()):
            for lv in range(self.depth):
                nxt[tuple(row[:lv])].add(row[lv])
            self.leaf[tuple(row)].append(i)
        self.next = {k: np.asarray(sorted(v), dtype=np.int64) for k, v in nxt.items()}

    def allowed(self, prefix: tuple[int, ...]) -> np.ndarray:
        return self.next.get(prefix, np.zeros(0, dtype=np.int64))

    def __contains__(self, path: tuple[int, ...]) -> bool:
        return tuple(path) in self.leaf


@torch.no_grad()
def beam_search(
    model: GRM,
    tok: Tokenizer,
    histories: list[np.ndarray],
    beam: int,
    mode: str = "retrieval",
    item_trie: CodeTrie | None = None,
    content_trie: CodeTrie | None = None,
    creative_trie: CodeTrie | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (codes (B, beam, L), log-probabilities (B, beam)); rows with fewer paths pad with −inf."""
    c = model.config
    L, split = c.levels, c.content_levels
    if mode == "retrieval":
        if item_trie is None:
            raise ValueError("retrieval mode needs the item trie")
    elif mode == "generation":
        if content_trie is None or creative_trie is None:
            raise ValueError("generation mode needs the content and creative tries")
    else:
        raise ValueError(f"mode is 'retrieval' or 'generation', got {mode!r}")
    model.eval()
    dev = next(model.parameters()).device  # the same code runs on CPU and GPU
    tokens, levels, pos, items = (t.to(dev) for t in tok.batch(histories))
    B = len(histories)
    hidden, hist, hist_pad = model.prefill(tokens, levels, pos, items)
    scores = torch.zeros(B, 1, device=dev)
    paths = np.zeros((B, 1, 0), dtype=np.int64)
    gen = None
    offsets = c.offsets
    for lv in range(L):
        nb = scores.shape[1]
        logp = torch.log_softmax(model.logits_for(hidden, torch.full((len(hidden),), lv, device=dev)), -1)
        logp = logp[:, offsets[lv] : offsets[lv] + c.level_sizes[lv]].view(B, nb, -1)
        allowed = torch.full(logp.shape, float("-inf"))
        alive = torch.isfinite(scores).cpu()
        for b in range(B):
            for j in range(nb):
                if not alive[b, j]:
                    continue
                prefix = tuple(paths[b, j].tolist())
                if mode == "retrieval":
                    ok = item_trie.allowed(prefix)
                elif lv < split:
                    ok = content_trie.allowed(prefix)
                else:
                    ok = creative_trie.allowed(prefix[split:])
                allowed[b, j, torch.from_numpy(ok)] = 0.0
        cand = (scores[:, :, None] + logp + allowed.to(dev)).view(B, -1)
        k = min(beam, cand.shape[1])
        top, idx = cand.topk(k, dim=1)
        parent, code = idx // logp.shape[2], idx % logp.shape[2]
        paths = np.concatenate(
            [np.take_along_axis(paths, parent.cpu().numpy()[:, :, None], 1), code.cpu().numpy()[:, :, None]], axis=2
        )
        scores = top
        if lv + 1 == L:
            break
        flat_parent = (parent + torch.arange(B, device=dev)[:, None] * nb).view(-1)
        if gen is not None:
            gen = [(gk[flat_parent], gv[flat_parent]) for gk, gv in gen]
        hidden, gen = model.decode_step(
            (code + offsets[lv]).view(-1),
            torch.full((B * k,), lv, device=dev),
            torch.full((B * k,), c.max_items + 1, device=dev),
            hist,
            hist_pad,
            gen,
            k,
        )
    return paths, scores.cpu().numpy()


def recommend_items(
    model: GRM,
    tok: Tokenizer,
    item_trie: CodeTrie,
    histories: list[np.ndarray],
    k: int,
    beam: int | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """Top-k existing items per history (retrieval mode); −1 pads when fewer items are reachable."""
    beam = max(beam or 0, k)
    out = np.full((len(histories), k), -1, dtype=np.int64)
    for start in range(0, len(histories), batch_size):
        chunk = histories[start : start + batch_size]
        paths, scores = beam_search(model, tok, chunk, beam, "retrieval", item_trie=item_trie)
        for b in range(len(chunk)):
            items: list[int] = []
            for j in np.argsort(-scores[b], kind="stable"):
                if np.isfinite(scores[b, j]):
                    items.extend(item_trie.leaf.get(tuple(paths[b, j].tolist()), []))
                if len(items) >= k:
                    break
            out[start + b, : min(k, len(items))] = items[:k]
    return out
