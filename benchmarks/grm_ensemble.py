"""Several trained GRMs combined on Amazon Beauty: each model proposes its top items by beam search, every
model scores the union of those candidates (teacher-forced, `score_paths`), and the candidates are ranked
by the mean log-probability. Prints each member alone and the ensemble, by the same metric code as
grm_beauty.py. The checkpoints are those grm_beauty.py saves (they carry their item codes).

    python benchmarks/grm_ensemble.py bench_out/a/grm_ours.pt bench_out/b/grm_ours.pt
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from grm_beauty import interactions_path, load_checkpoint
from rich.progress import track

from recgen.sid.beam import CodeTrie, recommend_items, score_paths
from recgen.sid.data import leave_one_out, load_interactions
from recgen.sid.grm import Tokenizer
from recgen.sid.metrics import rank_metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("--users", type=int, default=0, help="first N test users (0 = all)")
    ap.add_argument("--beam", type=int, default=20)
    ap.add_argument("--candidates", type=int, default=20, help="items each model proposes")
    ap.add_argument("--batch", type=int, default=256)
    a = ap.parse_args()
    loaded = [(c, *load_checkpoint(c)) for c in a.checkpoints]
    data = load_interactions(interactions_path("tiger-repro"))
    split = leave_one_out(data)
    n = a.users or len(split.test_target)
    hist, targets = list(split.test_history[:n]), split.test_target[:n]
    members = []
    for c, model, codes in loaded:
        members.append((c, model, Tokenizer(model.config, codes), CodeTrie(codes), codes))
    t0 = time.perf_counter()
    proposals = []
    for c, model, tok, trie, _ in members:
        top = recommend_items(model, tok, trie, hist, a.candidates, beam=max(a.beam, a.candidates))
        proposals.append(top)
        print(f"{c}: " + ", ".join(f"{k} {v:.4f}" for k, v in rank_metrics(top[:, :10], targets).items()))
    ranked = np.full((n, 10), -1, dtype=np.int64)
    for start in track(range(0, n, a.batch), description="ensemble scoring"):
        stop = min(start + a.batch, n)
        cands = [np.unique(np.concatenate([p[u] for p in proposals])) for u in range(start, stop)]
        cands = [c[c >= 0] for c in cands]
        width = max(len(c) for c in cands)
        items = np.full((stop - start, width), -1, dtype=np.int64)
        for r, c in enumerate(cands):
            items[r, : len(c)] = c
        total = np.zeros(items.shape)
        for _, model, tok, trie, codes in members:
            paths = np.where(items[:, :, None] >= 0, codes[items.clip(min=0)], -1)
            total += score_paths(model, tok, hist[start:stop], paths, trie)
        order = np.argsort(-total, axis=1, kind="stable")[:, :10]
        ranked[start:stop] = np.where(
            np.isfinite(np.take_along_axis(total, order, 1)), items[np.arange(len(items))[:, None], order], -1
        )
    m = rank_metrics(ranked, targets)
    print(
        f"ensemble of {len(members)} ({time.perf_counter() - t0:.0f} s): "
        + ", ".join(f"{k} {v:.4f}" for k, v in m.items())
    )


if __name__ == "__main__":
    main()
