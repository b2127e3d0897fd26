"""Where a trained GRM loses rank on Beauty: items that share a full semantic code and differ only in the
disambiguation token. Loads a checkpoint written by grm_beauty.py (it carries its item codes) and prints
collision-group statistics and the test metrics counted by item and by code group (a hit when a
recommended item is in the target's group, at the position of the first such item).

    python benchmarks/grm_collisions.py --checkpoint bench_out/grm_ours.pt --users 3000 --ppmi
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from grm_beauty import interactions_path, load_checkpoint

from recgen.sid.beam import CodeTrie, recommend_items
from recgen.sid.data import collision_rate, leave_one_out, load_interactions
from recgen.sid.encoders import CollaborativeEncoder
from recgen.sid.grm import Tokenizer
from recgen.sid.metrics import rank_metrics
from recgen.sid.rqkmeans import RQKMeans


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=Path("bench_out/grm_ours.pt"))
    ap.add_argument("--users", type=int, default=3000, help="first N test users (0 = all)")
    ap.add_argument("--beam", type=int, default=20)
    ap.add_argument(
        "--ppmi",
        action="store_true",
        help="refit our codes' PPMI-SVD embeddings and RQ-KMeans as grm_beauty.py does (about a minute) and "
        "show where the colliding items lie",
    )
    a = ap.parse_args()
    model, codes = load_checkpoint(a.checkpoint)
    data = load_interactions(interactions_path("tiger-repro"))
    split = leave_one_out(data)
    # a disambiguation token numbers the members of each group sharing the other codes 0..size-1 (in any
    # order), or gives each member a distinct token ≥ 1 and every other item 0 (--disambiguate item); a table
    # without one (e.g. --unique-codes) has no collision groups
    _, group, size = np.unique(codes[:, :-1], axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    shared, last = size[group] > 1, codes[:, -1]
    numbered = (last < size[group]).all()
    own = (last[~shared] == 0).all() and (last[shared] > 0).all() and len(np.unique(last[shared])) == shared.sum()
    if collision_rate(codes) > 0 or not (numbered or own):
        group, size = np.arange(len(codes)), np.ones(len(codes), dtype=np.int64)
    semantic = codes[:, :-1] if size.max() > 1 else codes
    members = size[group]
    popularity = np.bincount(np.concatenate(split.train), minlength=len(codes))
    n = a.users or len(split.test_target)
    targets = split.test_target[:n]
    print(f"items in a collision group: {(members > 1).mean():.1%} ({(size > 1).sum()} groups, largest {size.max()})")
    if (members > 1).any():
        print(
            f"median training interactions: {np.median(popularity[members > 1]):.0f} for colliding items, "
            f"{np.median(popularity[members == 1]):.0f} for the rest"
        )
    in_group = members[targets] > 1
    mean_size = f" (mean group size {members[targets][in_group].mean():.1f})" if in_group.any() else ""
    print(f"test targets in a collision group: {in_group.mean():.1%}{mean_size}")
    if a.ppmi:
        emb = CollaborativeEncoder(dim=64).fit(split.train, data.n_items)
        rq = RQKMeans((256, 256, 256), seed=0).fit(emb)
        refit = rq.encode(emb)
        print(f"refit codes equal the checkpoint's: {np.array_equal(refit, semantic)}")
        residual = np.linalg.norm(emb - sum(cb[refit[:, lv]] for lv, cb in enumerate(rq.codebooks[:-1])), axis=1)
        print(
            f"residual before the last level: {residual[members > 1].mean():.2f} (colliding) vs {residual.mean():.2f}"
        )
        rng = np.random.default_rng(0)
        for g in np.argsort(-size)[:3]:
            x = emb[group == g]
            d = np.linalg.norm(x[:, None] - x[None], axis=-1)[np.triu_indices(len(x), 1)]
            print(f"group of {len(x)}: mean pairwise distance {d.mean():.2f}")
        pairs = rng.choice(len(emb), (2000, 2))
        print(f"random pairs: mean distance {np.linalg.norm(emb[pairs[:, 0]] - emb[pairs[:, 1]], axis=1).mean():.2f}")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    ranked = recommend_items(
        model, Tokenizer(model.config, codes), CodeTrie(codes), list(split.test_history[:n]), 10, beam=a.beam
    )
    by_item = rank_metrics(ranked, targets)
    by_group = rank_metrics(np.where(ranked >= 0, group[np.maximum(ranked, 0)], -1), group[targets])
    for name, m in (("by item", by_item), ("by code group", by_group)):
        print(f"{name:>14}: " + ", ".join(f"{k} {v:.4f}" for k, v in m.items()) + f"  ({n} test users)")


if __name__ == "__main__":
    main()
