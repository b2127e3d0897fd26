"""Transition-aware scoring for a trained GRM on Amazon Beauty: candidates are the GRM's beam items plus the
items that most often followed the user's last item in training; each is scored
    log p_GRM(item's codes | history) + β · log p_chain(item | last item),
p_chain a smoothed first-order chain counted on the training sequences (the `Transitions` baseline's
counts, α·popularity as the prior). β is chosen on the validation users (their second-to-last item) and the
test users are scored once with it, so the test figures are not tuned on the test set.

    python benchmarks/grm_transition_rerank.py bench_out/letter/grm_ours.pt --order letter
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from grm_beauty import ORDERS, interactions_path, load_checkpoint
from rich.progress import track
from video_args import provenance

from recgen.sid.baselines import Popularity, Transitions
from recgen.sid.beam import CodeTrie, recommend_items, score_paths
from recgen.sid.data import leave_one_out, load_interactions
from recgen.sid.grm import Tokenizer
from recgen.sid.metrics import rank_metrics

BETAS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def chain_log_probs(trans: Transitions, pop: np.ndarray, last: np.ndarray, items: np.ndarray, alpha: float):
    """log p(item | last) with `alpha` pseudo-counts spread by popularity; items (B, C), −1 = none."""
    prior = pop / pop.sum()
    rows = trans.counts[last]
    counts = np.take_along_axis(rows.toarray(), items.clip(min=0), axis=1)
    total = np.asarray(rows.sum(axis=1)).ravel()[:, None]
    return np.log((counts + alpha * prior[items.clip(min=0)]) / (total + alpha))


def candidates_and_scores(model, tok, trie, codes, trans, pop, histories, n_cand: int, alpha: float, batch: int):
    """Per user: the union of the GRM's and the chain's top items, each with its GRM and chain log-probability."""
    grm_top = recommend_items(model, tok, trie, histories, n_cand, beam=n_cand)
    chain_top = trans.recommend(tuple(histories), n_cand)
    items_all, grm_all, chain_all = [], [], []
    for start in track(range(0, len(histories), batch), description="scoring candidates"):
        stop = min(start + batch, len(histories))
        cands = [np.unique(np.concatenate([grm_top[u], chain_top[u]])) for u in range(start, stop)]
        cands = [c[c >= 0] for c in cands]
        width = max(len(c) for c in cands)
        items = np.full((stop - start, width), -1, dtype=np.int64)
        for r, c in enumerate(cands):
            items[r, : len(c)] = c
        paths = np.where(items[:, :, None] >= 0, codes[items.clip(min=0)], -1)
        grm = score_paths(model, tok, histories[start:stop], paths, trie)
        last = np.asarray([h[-1] for h in histories[start:stop]])
        chain = np.where(items >= 0, chain_log_probs(trans, pop, last, items, alpha), 0.0)  # pads: masked in `ranked`
        items_all.append(items)
        grm_all.append(grm)
        chain_all.append(chain)
    return items_all, grm_all, chain_all


def ranked(items_all, grm_all, chain_all, beta: float, k: int = 10) -> np.ndarray:
    out = []
    for items, grm, chain in zip(items_all, grm_all, chain_all, strict=True):
        total = np.where(items >= 0, grm + beta * chain, -np.inf)
        order = np.argsort(-total, axis=1, kind="stable")[:, :k]
        top = np.take_along_axis(items, order, 1)
        out.append(np.where(np.isfinite(np.take_along_axis(total, order, 1)), top, -1))
    return np.concatenate(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--order", choices=ORDERS, default="letter")
    ap.add_argument("--candidates", type=int, default=50, help="items the GRM's beam and the chain each propose")
    ap.add_argument("--alpha", type=float, default=1.0, help="pseudo-counts of the chain's popularity prior")
    ap.add_argument("--users", type=int, default=0, help="first N users (0 = all)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--out", type=Path, default=Path("bench_out") / "grm_transition_rerank.json")
    a = ap.parse_args()
    model, codes = load_checkpoint(a.checkpoint)
    tok, trie = Tokenizer(model.config, codes), CodeTrie(codes)
    data = load_interactions(interactions_path(a.order))
    if a.users:
        data = data.head(a.users)
    split = leave_one_out(data)
    trans = Transitions().fit(split.train, data.n_items)
    pop = Popularity().fit(split.train, data.n_items).counts.astype(np.float64) + 1.0
    result = {**provenance(), "checkpoint": str(a.checkpoint), "order": a.order, "candidates": a.candidates,
              "alpha": a.alpha}  # fmt: skip
    t0 = time.perf_counter()
    valid = candidates_and_scores(model, tok, trie, codes, trans, pop, list(split.valid_history), a.candidates,
                                  a.alpha, a.batch)  # fmt: skip
    sweep = {str(b): rank_metrics(ranked(*valid, b), split.valid_target) for b in BETAS}
    best = max(BETAS, key=lambda b: sweep[str(b)]["ndcg@10"])
    test = candidates_and_scores(model, tok, trie, codes, trans, pop, list(split.test_history), a.candidates,
                                 a.alpha, a.batch)  # fmt: skip
    result |= {
        "validation_sweep": sweep,
        "beta": best,
        "test_grm_alone": rank_metrics(ranked(*test, 0.0), split.test_target),
        "test": rank_metrics(ranked(*test, best), split.test_target),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    for k in ("test_grm_alone", "test"):
        print(k, ", ".join(f"{m} {v:.4f}" for m, v in result[k].items()))
    print("β =", best, "chosen on validation:", {b: round(v["ndcg@10"], 4) for b, v in sweep.items()})
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
