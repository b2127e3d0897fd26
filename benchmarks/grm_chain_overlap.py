"""How much of a trained GRM's hits a first-order item chain also gets, and the reverse. On Beauty the
chain's strength depends on how same-day interactions were ordered (README: "The result depends on the
order of same-day interactions"); this shows whether the GRM picks up what the chain knows.

    python benchmarks/grm_chain_overlap.py --checkpoint bench_out/letter_grm/grm_ours.pt --order letter
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from grm_beauty import ORDERS, interactions_path, load_checkpoint

from recgen.sid.baselines import Transitions
from recgen.sid.beam import CodeTrie, recommend_items
from recgen.sid.data import leave_one_out, load_interactions
from recgen.sid.grm import Tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True, help="a GRM saved by grm_beauty.py (with its codes)")
    ap.add_argument("--order", choices=ORDERS, default="tiger-repro", help="as in grm_beauty.py")
    ap.add_argument("--users", type=int, default=0, help="first N test users (0 = all)")
    ap.add_argument("--beam", type=int, default=20)
    a = ap.parse_args()
    model, codes = load_checkpoint(a.checkpoint)
    data = load_interactions(interactions_path(a.order), n_items=len(codes))
    split = leave_one_out(data)
    n = a.users or len(split.test_target)
    hist, target = list(split.test_history[:n]), split.test_target[:n]
    grm = recommend_items(model, Tokenizer(model.config, codes), CodeTrie(codes), hist, 10, beam=a.beam)
    transitions = Transitions().fit(split.train, data.n_items)
    chain = transitions.recommend(tuple(hist), 10)
    g = (grm == target[:, None]).any(1)
    c = (chain == target[:, None]).any(1)
    last = np.asarray([h[-1] for h in hist])
    followed = np.asarray(transitions.counts[last, target]).ravel() > 0
    print(f"{n} test users, {a.order} order")
    print(f"hit@10: GRM {g.mean():.4f}, chain {c.mean():.4f}, both {(g & c).mean():.4f}, either {(g | c).mean():.4f}")
    print(
        f"of the chain's hits the GRM gets {(g & c).sum() / max(1, c.sum()):.1%}; "
        f"of the GRM's hits the chain gets {(g & c).sum() / max(1, g.sum()):.1%}"
    )
    print(f"test item followed the last history item somewhere in training: {followed.mean():.1%}")
    for k in range(1, codes.shape[1]):
        print(
            f"test item shares its first {k} code(s) with the last history item: "
            f"{(codes[target, :k] == codes[last, :k]).all(1).mean():.1%}"
        )


if __name__ == "__main__":
    main()
