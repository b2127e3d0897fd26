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
from recgen.sid.seen import SeenItems


class CodeTrie:
    """Valid next codes for every prefix of a set of code paths, and the items at each full path.

    Every level is kept as sorted edges (parent node, code); an edge's index is the id of the node it leads
    to, so beam search masks and advances all beams of a batch with a few tensor operations, on whatever
    device the model is on, in memory proportional to the number of distinct prefixes.
    """

    def __init__(self, codes: np.ndarray) -> None:
        codes = np.asarray(codes, dtype=np.int64)
        self.depth = codes.shape[1]
        self.leaf: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, row in enumerate(codes.tolist()):
            self.leaf[tuple(row)].append(i)
        self.width = [int(codes[:, lv].max()) + 1 if len(codes) else 1 for lv in range(self.depth)]
        self._levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        node = np.zeros(len(codes), dtype=np.int64)  # each path's node at the current level (root = 0)
        for lv in range(self.depth):
            edges, first, child = np.unique(codes[:, : lv + 1], axis=0, return_index=True, return_inverse=True)
            parent, code = node[first], edges[:, lv]
            ptr = np.searchsorted(parent, np.arange(parent.max() + 2 if len(parent) else 1))
            size = np.bincount(child.reshape(-1), minlength=len(edges))  # items under each edge's node
            self._levels.append((ptr, code, parent * self.width[lv] + code, size))  # edges sorted by (parent, code)
            node = child.reshape(-1)
        self._on: dict[torch.device, list[tuple[torch.Tensor, ...]]] = {}

    def __contains__(self, path: tuple[int, ...]) -> bool:
        return tuple(path) in self.leaf

    def _level(self, lv: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        if device not in self._on:
            self._on[device] = [tuple(torch.from_numpy(a).to(device) for a in arrays) for arrays in self._levels]
        return self._on[device][lv]

    def mask(self, lv: int, nodes: torch.Tensor, width: int) -> torch.Tensor:
        """(len(nodes), width): 0 where a code may follow that node at level lv, −inf elsewhere; node −1 = dead."""
        rows, codes, _ = self._children(lv, nodes, width)
        out = torch.full((len(nodes), width), float("-inf"), device=nodes.device)
        out[rows, codes] = 0.0
        return out

    def sizes(self, lv: int, nodes: torch.Tensor, width: int) -> torch.Tensor:
        """(len(nodes), width): how many items lie under each code that may follow that node (0: no such code)."""
        rows, codes, edges = self._children(lv, nodes, width)
        out = torch.zeros((len(nodes), width), dtype=torch.float32, device=nodes.device)
        out[rows, codes] = self._level(lv, nodes.device)[3][edges].float()
        return out

    def _children(self, lv: int, nodes: torch.Tensor, width: int) -> tuple[torch.Tensor, ...]:
        """Every edge out of each node at level lv, flat: (row in `nodes`, code, edge index)."""
        if width < self.width[lv]:
            raise ValueError(f"level {lv} has codes up to {self.width[lv] - 1}, more than its {width} logits")
        ptr, code = self._level(lv, nodes.device)[:2]
        alive = (nodes >= 0) & (nodes < len(ptr) - 1)
        n = torch.where(alive, nodes, 0)
        counts = torch.where(alive, ptr[n + 1] - ptr[n], 0)
        rows = torch.repeat_interleave(torch.arange(len(nodes), device=nodes.device), counts)
        starts = torch.repeat_interleave(ptr[n] - (torch.cumsum(counts, 0) - counts), counts)
        edges = starts + torch.arange(len(rows), device=nodes.device)
        return rows, code[edges], edges

    def step(self, lv: int, nodes: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """The node each (node, code) edge at level lv leads to; −1 where there is no such edge."""
        keys = self._level(lv, nodes.device)[2]
        if len(keys) == 0:
            return torch.full_like(nodes, -1)
        key = nodes * self.width[lv] + codes
        e = torch.searchsorted(keys, key).clamp(max=len(keys) - 1)
        valid = (nodes >= 0) & (codes >= 0) & (codes < self.width[lv])
        return torch.where(valid & (keys[e] == key), e, -1)


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
    paths, scores, _ = _search(model, tok, histories, beam, mode, item_trie, content_trie, creative_trie)
    return paths, scores


@torch.no_grad()
def beam_search_with(
    model: GRM, tok: Tokenizer, histories: list[np.ndarray], beam: int, item_trie: CodeTrie, forced: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Retrieval beam search that also carries given code paths (B, m, L; −1 rows pad) through the same
    decoding steps: (beam paths, their log-probabilities, the given paths' log-probabilities (B, m), −inf
    for pads). One pass instead of a beam search and a `score_paths`, which at batch 1 costs about half."""
    return _search(model, tok, histories, beam, "retrieval", item_trie, forced=forced)


def _search(
    model: GRM,
    tok: Tokenizer,
    histories: list[np.ndarray],
    beam: int,
    mode: str,
    item_trie: CodeTrie | None = None,
    content_trie: CodeTrie | None = None,
    creative_trie: CodeTrie | None = None,
    forced: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    B = len(histories)
    hidden, state = model.begin(tok, histories)
    # generation proposes new content × creative pairs: a seen product in a new creative is what it is for
    seen = (
        SeenItems.from_histories(item_trie, tok.item_codes, histories, dev)
        if c.seen_bias and mode == "retrieval" and item_trie is not None
        else None
    )
    fixed = _Forced(forced, B, dev)
    scores = torch.zeros(B, 1, device=dev)
    paths = np.zeros((B, 1, 0), dtype=np.int64)
    node = torch.zeros(B, 1, dtype=torch.long, device=dev)  # each beam's place in the trie of its level
    for lv in range(L):
        nb = scores.shape[1]
        if mode == "retrieval":
            trie, tlv = item_trie, lv
        elif lv < split:
            trie, tlv = content_trie, lv
        else:
            trie, tlv = creative_trie, lv - split
            if lv == split:  # the creative part starts from its own trie's root
                node = torch.where(node >= 0, 0, -1)
        rows = fixed.rows(node, lv)  # the beams' trie nodes, then the given paths' (level 0: all share the root)
        allowed = trie.mask(tlv, rows.view(-1), c.level_sizes[lv])  # type: ignore[union-attr]
        share = None if seen is None else seen.share(lv, rows, c.level_sizes[lv]).view(rows.numel(), -1)
        logp = model.level_log_probs(hidden, lv, allowed, share).view(B, rows.shape[1], -1)
        fixed.add(logp, lv, nb, trie, tlv)  # type: ignore[arg-type]
        logp, allowed = logp[:, :nb], allowed.view(B, rows.shape[1], -1)[:, :nb]
        cand = (scores[:, :, None] + logp + allowed).reshape(B, -1)
        k = min(beam, cand.shape[1])
        top, idx = cand.topk(k, dim=1)
        parent, code = idx // logp.shape[2], idx % logp.shape[2]
        paths = np.concatenate(
            [np.take_along_axis(paths, parent.cpu().numpy()[:, :, None], 1), code.cpu().numpy()[:, :, None]], axis=2
        )
        node = trie.step(tlv, node.gather(1, parent), code)  # type: ignore[union-attr]
        node = torch.where(torch.isfinite(top), node, -1)
        scores = top
        if lv + 1 == L:
            break
        width = rows.shape[1] if lv else 1  # rows per user of the state being advanced
        base = torch.arange(B, device=dev)[:, None] * width
        flat_parent = torch.cat([parent + base, fixed.parents(base, nb if lv else 0)], 1).view(-1)
        prefix = torch.from_numpy(np.concatenate([paths, fixed.prefix(lv)], 1).reshape(-1, lv + 1)).to(dev)
        hidden, state = model.advance(state, flat_parent, prefix, k + fixed.m)
    return paths, scores.cpu().numpy(), fixed.result()


class _Forced:
    """Given code paths decoded beside the beams (rows after each user's beams), each scored along its path."""

    def __init__(self, paths: np.ndarray | None, B: int, dev: torch.device) -> None:
        self.paths = np.zeros((B, 0, 0), np.int64) if paths is None else np.asarray(paths, np.int64)
        if self.paths.shape[0] != B:
            raise ValueError(f"forced paths need one row per history, got {self.paths.shape[0]} for {B}")
        self.m = self.paths.shape[1]
        self.codes = torch.from_numpy(self.paths.clip(min=0)).to(dev)
        self.pad = torch.from_numpy((self.paths < 0).any(2) if self.m else np.zeros((B, 0), bool)).to(dev)
        self.score = torch.zeros(B, self.m, device=dev)
        self.node = torch.zeros(B, self.m, dtype=torch.long, device=dev)

    def rows(self, node: torch.Tensor, lv: int) -> torch.Tensor:
        return node if lv == 0 or not self.m else torch.cat([node, self.node], 1)

    def add(self, logp: torch.Tensor, lv: int, nb: int, trie: CodeTrie, tlv: int) -> None:
        if not self.m:
            return
        mine = logp[:, :1].expand(-1, self.m, -1) if lv == 0 else logp[:, nb:]
        self.score += mine.gather(2, self.codes[:, :, lv : lv + 1])[:, :, 0]
        self.node = trie.step(tlv, self.node.view(-1), self.codes[:, :, lv].reshape(-1)).view_as(self.node)

    def parents(self, base: torch.Tensor, first: int) -> torch.Tensor:
        """Each given path's row in the state being advanced: its own row, or (level 0) the user's one row."""
        own = torch.arange(self.m, device=base.device)[None, :] + first if first else torch.zeros_like(self.node)
        return base + own

    def prefix(self, lv: int) -> np.ndarray:
        if not self.m:
            return np.zeros((len(self.paths), 0, lv + 1), np.int64)
        return self.paths[:, :, : lv + 1].clip(min=0)

    def result(self) -> np.ndarray:
        return self.score.masked_fill(self.pad, float("-inf")).cpu().numpy()


@torch.no_grad()
def score_paths(
    model: GRM,
    tok: Tokenizer,
    histories: list[np.ndarray],
    paths: np.ndarray,
    trie: CodeTrie | None = None,
) -> np.ndarray:
    """Log-probability (B, n) of given code paths (B, n, L) after each history, as beam search scores them;
    −1 rows pad. How another model's candidates are scored, e.g. to combine GRMs over one candidate set."""
    c = model.config
    if (c.constrained or c.seen_bias) and trie is None:
        raise ValueError("a constrained or seen-bias model scores paths against the item trie; pass it")
    model.eval()
    dev = next(model.parameters()).device
    B, n, L = paths.shape
    hidden, state = model.begin(tok, histories)
    hidden = hidden.repeat_interleave(n, 0)
    codes = torch.from_numpy(np.ascontiguousarray(paths, dtype=np.int64)).to(dev).view(B * n, L)
    pad = (codes < 0).any(1)
    codes = codes.clamp(min=0)
    total = torch.zeros(B * n, device=dev)
    node = torch.zeros(B * n, dtype=torch.long, device=dev)
    rows = torch.arange(B * n, device=dev)
    seen = SeenItems.from_histories(trie, tok.item_codes, histories, dev) if c.seen_bias and trie else None
    for lv in range(L):
        allowed = share = None
        if seen is not None:
            share = seen.share(lv, node.view(B, n), c.level_sizes[lv]).view(B * n, -1)
        if trie is not None and c.constrained:
            allowed = trie.mask(lv, node, c.level_sizes[lv])
        if trie is not None:
            node = trie.step(lv, node, codes[:, lv])
        total += model.level_log_probs(hidden, lv, allowed, share).gather(1, codes[:, lv : lv + 1])[:, 0]
        if lv + 1 < L:
            hidden, state = model.advance(state, rows, codes[:, : lv + 1], n)
    return total.masked_fill(pad, float("-inf")).view(B, n).cpu().numpy()


def recommend_items(
    model: GRM,
    tok: Tokenizer,
    item_trie: CodeTrie,
    histories: list[np.ndarray],
    k: int,
    beam: int | None = None,
    batch_size: int = 256,
    exclude: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Top-k existing items per history (retrieval mode); −1 pads when fewer items are reachable.
    `exclude` (one id array per history, e.g. the history itself): items never returned for that row; a row
    the beam leaves short of k is searched again, wide enough to hold its excluded items and k others."""
    beam = max(beam or 0, k)
    if exclude is not None and len(exclude) != len(histories):
        raise ValueError(f"exclude needs one id array per history, got {len(exclude)} for {len(histories)}")
    skips = [set()] * len(histories) if exclude is None else [set(np.asarray(e).tolist()) for e in exclude]
    out = np.full((len(histories), k), -1, dtype=np.int64)
    for start in range(0, len(histories), batch_size):
        chunk = histories[start : start + batch_size]
        paths, scores = beam_search(model, tok, chunk, beam, "retrieval", item_trie=item_trie)
        for b in range(len(chunk)):
            skip = skips[start + b]
            items = _ranked_items(paths[b], scores[b], item_trie, skip, k)
            if len(items) < k and skip and np.isfinite(scores[b]).all():  # a full beam, yet short: widen it
                wider = beam_search(model, tok, [chunk[b]], beam + len(skip), "retrieval", item_trie=item_trie)
                items = _ranked_items(wider[0][0], wider[1][0], item_trie, skip, k)
            out[start + b, : len(items)] = items
    return out


def _ranked_items(paths: np.ndarray, scores: np.ndarray, item_trie: CodeTrie, skip: set[int], k: int) -> list[int]:
    """The first k items, not in `skip`, of one row's beam in score order."""
    items: list[int] = []
    for j in np.argsort(-scores, kind="stable"):
        if np.isfinite(scores[j]):
            items.extend(i for i in item_trie.leaf.get(tuple(paths[j].tolist()), []) if i not in skip)
        if len(items) >= k:
            break
    return items[:k]
