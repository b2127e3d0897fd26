"""Transition-aware scoring (`recgen/sid/transitions.py`, the default of `recgen grm train`) for GRMs saved by
`grm_beauty.py`, one row per checkpoint: the GRM's beam items ∪ the item chain's top items, ranked by

    log p_GRM(item's codes | history) + β · log p_chain(item | the latest history items).

The chain is counted on the training sequences; β is chosen on every validation user (their second-to-last
item) and the test users are scored once with it, so no test figure is tuned on the test set. Each row also
has the beam alone, the latency per user at batch 1 and 256, and the checkpoint's training figures.

    python benchmarks/grm_transition_rerank.py bench_out/letter/grm_ours.pt bench_out/letter_s1/grm_ours.pt …
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from grm_beauty import ORDERS, device_label, interactions_path, load_checkpoint
from video_args import provenance

from recgen.sid.beam import CodeTrie, recommend_items
from recgen.sid.data import leave_one_out, load_interactions
from recgen.sid.grm import Tokenizer
from recgen.sid.grm_train import DEVICES, resolve_device
from recgen.sid.metrics import rank_metrics
from recgen.sid.transitions import TransitionScorer, fit_beta, rerank_items


def latency_ms(fn, histories: list[np.ndarray], batch: int, reps: int) -> float:
    """Wall time per user of ranking `histories` in batches of `batch`, best of `reps` passes."""
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        for s in range(0, len(histories), batch):
            fn(histories[s : s + batch], batch)
        best = min(best, time.perf_counter() - t)
    return best / len(histories) * 1000


def latencies(model, tok, trie, scorer, hist: list[np.ndarray], beam: int, users: int) -> dict:
    """ms per user of the beam alone and of the re-ranking, one by one (`users` users) and at batch 256."""
    return {
        f"{name}_ms_per_user_batch{bs}": latency_ms(fn, hist[:users] if bs == 1 else hist[:1024], bs, 2)
        for bs in (1, 256)
        for name, fn in (
            ("beam", lambda h, b: recommend_items(model, tok, trie, h, 10, beam=beam, batch_size=b)),
            ("rerank", lambda h, b: rerank_items(model, tok, trie, scorer, h, 10, beam, batch_size=b)),
        )
    }


def measure(
    ckpt: Path,
    split,
    n_items: int,
    beam: int,
    candidates: int,
    latency_users: int,
    latency_only: bool = False,
    device: str = "cpu",
) -> dict:
    model, codes = load_checkpoint(ckpt)
    model.to(device)
    tok, trie = Tokenizer(model.config, codes), CodeTrie(codes)
    scorer = TransitionScorer.fit(split.train, n_items, candidates=candidates)
    if latency_only:  # β does not change the work, only the order
        scorer.beta = 2.0
        hist = list(split.test_history)
        return {
            "checkpoint": str(ckpt),
            "device": device_label(device),
            **latencies(model, tok, trie, scorer, hist, beam, latency_users),
        }
    t0 = time.perf_counter()
    sweep = fit_beta(model, tok, trie, scorer, list(split.valid_history), split.valid_target, beam=beam)
    fit_s = time.perf_counter() - t0
    hist = list(split.test_history)
    t0 = time.perf_counter()
    test = rank_metrics(rerank_items(model, tok, trie, scorer, hist, 10, beam), split.test_target)
    test_s = time.perf_counter() - t0
    alone = rank_metrics(recommend_items(model, tok, trie, hist, 10, beam=beam), split.test_target)
    lat = latencies(model, tok, trie, scorer, hist, beam, latency_users)
    log = ckpt.parent / "grm_beauty.json"
    trained = json.loads(log.read_text()) if log.is_file() else {}
    grms = [v for k, v in trained.get("results", {}).items() if k.startswith("GRM")]
    # rows saved before the checkpoint name was recorded: the run's only GRM row
    row = next((v for v in grms if v.get("checkpoint", ckpt.name) == ckpt.name), {})
    return {
        "checkpoint": str(ckpt),
        "seed": trained.get("args", {}).get("seed"),
        "train_args": trained.get("args"),
        "train_seconds": row.get("train_seconds"),
        "epochs": row.get("epochs"),
        "best_epoch": row.get("best_epoch"),
        "beta": scorer.beta,
        "weights": list(scorer.weights),
        "validation_sweep": {str(b): m for b, m in sweep.items()},
        "beam_alone": alone,
        "reranked": test,
        "fit_beta_seconds": round(fit_s, 1),
        "test_seconds": round(test_s, 1),
        "device": device_label(device),
        **lat,
    }


def kept_rows(out: Path, result: dict) -> dict[str, dict]:
    """Rows of an earlier, interrupted run measured under the same settings, by checkpoint path."""
    if not out.is_file():
        return {}
    old = json.loads(out.read_text())
    if any(old.get(k) != result[k] for k in ("order", "beam", "candidates")):
        raise SystemExit(f"{out} was measured with other settings; --resume keeps only like-for-like rows")
    return {r["checkpoint"]: r for r in old.get("rows", []) if "reranked" in r}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("--order", choices=ORDERS, default="letter")
    ap.add_argument("--beam", type=int, default=20)
    ap.add_argument(
        "--candidates", type=int, default=TransitionScorer.candidates, help="the chain's top items added to the beam's"
    )
    ap.add_argument("--users", type=int, default=0, help="only the first N users, as the checkpoint's run (0 = all)")
    ap.add_argument("--latency-users", type=int, default=200, help="test users timed one by one")
    ap.add_argument("--latency-only", action="store_true", help="time the ranking only (a quiet machine)")
    ap.add_argument("--out", type=Path, default=Path("bench_out") / "grm_transition_rerank.json")
    ap.add_argument("--resume", action="store_true", help="keep the rows --out already holds for these checkpoints "
                    "(same order, beam and candidates) and measure only the others")  # fmt: skip
    ap.add_argument("--device", choices=DEVICES, default="cpu", help="where β is fitted and the "
                    "test ranked (the latency figures are measured there too: CPU for the README)")  # fmt: skip
    a = ap.parse_args()
    try:
        a.device = resolve_device(a.device)
    except ValueError as e:
        ap.error(str(e))
    data = load_interactions(interactions_path(a.order))
    if a.users:
        data = data.head(a.users)
    split = leave_one_out(data)
    result = {**provenance(), "order": a.order, "beam": a.beam, "candidates": a.candidates, "rows": []}
    done = kept_rows(a.out, result) if a.resume else {}
    for ckpt in a.checkpoints:
        if str(ckpt) in done:
            result["rows"].append(done[str(ckpt)])
            print(ckpt, "kept from", a.out, flush=True)
            continue
        row = measure(ckpt, split, data.n_items, a.beam, a.candidates, a.latency_users, a.latency_only, a.device)
        result["rows"].append(row)
        for k in ("beam_alone", "reranked") if not a.latency_only else ():
            print(ckpt, k, ", ".join(f"{m} {v:.4f}" for m, v in row[k].items()), flush=True)
        print(f"β = {row.get('beta', '—')}; ms/user at batch 1: beam {row['beam_ms_per_user_batch1']:.1f}, re-ranked "
              f"{row['rerank_ms_per_user_batch1']:.1f}", flush=True)  # fmt: skip
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
