"""GRM on Amazon Beauty (leave-one-out, full ranking) next to popularity, SASRec and the published TIGER
numbers. All models use the same split and the same metric code, measured in one run.

    python benchmarks/grm_beauty.py                    # full data, CPU, under an hour on 2 cores
    python benchmarks/grm_beauty.py --users 3000 --epochs 3   # a quick smoke run

The split and the precomputed text-derived codes come from ../shared/data/amazon-beauty/tiger-repro (an
independent TIGER reproduction: RQ-KMeans 3×256 over LLaMA embeddings of item text + a 4th token), or with
`--order letter` from the standard file `Beauty.inter.json` and LETTER's published codes `Beauty.index.json`
(4×256, a learnable tokenizer over text embeddings). `--device cuda` trains on a GPU. "Our codes" are
RQ-KMeans 3×256 over collaborative item embeddings learned from the training interactions, with a
disambiguation token. "Shared codes" (`--order letter`) are the catalog's D-SID space
(`recgen/sid/semantics.py`): RQ-KMeans 3×256 over MiniLM embeddings of each item's title, category path
and brand, + a disambiguation token — the codes the video agents decode and the cache is keyed by.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from video_args import provenance

from recgen.settings import Settings
from recgen.sid.baselines import Popularity, SASRec, Transitions
from recgen.sid.beam import CodeTrie, recommend_items
from recgen.sid.data import (
    Split,
    collision_rate,
    disambiguate,
    leave_one_out,
    load_code_table,
    load_interactions,
)
from recgen.sid.encoders import CollaborativeEncoder, TableItemEncoder
from recgen.sid.grm import GRM, GRMConfig, Tokenizer, param_count
from recgen.sid.grm_train import DEVICES, TrainConfig, evaluate, resolve_device, train_grm
from recgen.sid.metrics import rank_metrics
from recgen.sid.recommender import dataset_paths
from recgen.sid.rqkmeans import RQKMeans

ORDERS = ("tiger-repro", "letter")


def interactions_path(order: str) -> Path:
    """The interactions file whose within-user order sets the split: tiger-repro's (it comes with the text
    codes) or LETTER's `Beauty.inter.json` (the one `recgen grm train` uses)."""
    return dataset_paths(Settings().data_dir, "ours" if order == "letter" else "text")[0]


def epoch_row(row: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "epoch")


def device_label(device: str) -> str:
    """The device a figure was measured on, by name for a GPU (timings are only comparable on the same one)."""
    return f"cuda ({torch.cuda.get_device_name()})" if device == "cuda" else device


def text_code_path(order: str) -> Path:
    """The published text-derived codes for the order's item ids: tiger-repro's RQ-KMeans table, or LETTER's
    `Beauty.index.json` (4 × 256, its learnable tokenizer) for the standard file."""
    if order == "letter":
        return Settings().data_dir / "amazon-beauty" / "Beauty.index.json"
    return dataset_paths(Settings().data_dir, "text")[1]


def load_checkpoint(path: Path) -> tuple[GRM, np.ndarray]:
    """A GRM saved by this script and the item code table it was trained on, ready for beam search."""
    if not path.is_file():
        raise SystemExit(f"{path} not found: run benchmarks/grm_beauty.py first (it saves the checkpoints)")
    model, extra = GRM.load(path)
    model.eval()
    return model, np.asarray(extra["codes"])


def count_baseline(model: Popularity | Transitions, split: Split) -> dict:
    """A count baseline's metrics, ranking all items and with the user's own items left out."""
    top = model.recommend(split.test_history, 10)
    unseen = model.recommend(split.test_history, 10, exclude_seen=True)
    return {**rank_metrics(top, split.test_target), "unseen_only": rank_metrics(unseen, split.test_target)}


PUBLISHED = {
    "TIGER (paper)": {"recall@5": 0.0454, "recall@10": 0.0648, "ndcg@5": 0.0321, "ndcg@10": 0.0384},
    "TIGER (repro)": {"recall@5": 0.0376, "recall@10": 0.0582, "ndcg@5": 0.0252, "ndcg@10": 0.0319},
    "SASRec (repro)": {"recall@5": 0.0320, "recall@10": 0.0516, "ndcg@5": 0.0209, "ndcg@10": 0.0272},
}


def run_grm(name: str, codes: np.ndarray, split, a, log) -> dict:
    popularity = np.bincount(np.concatenate(split.train), minlength=len(codes))
    priority = popularity if a.disambiguate == "popularity" else None
    own = a.disambiguate == "item"
    full = disambiguate(codes, priority, item_tokens=own) if collision_rate(codes) > 0 else codes
    sizes = tuple(int(full[:, lv].max()) + 1 for lv in range(full.shape[1]))
    cfg = GRMConfig(
        level_sizes=sizes,
        content_levels=len(sizes),
        max_items=20,
        n_layer=a.layers,
        n_head=4,
        d_model=a.d_model,
        dropout=a.dropout,
        item_ids=len(full) if a.item_ids else 0,
        constrained=a.constrained,
        history=a.history,
        decoder_layers=a.decoder_layers,
        seen_bias=a.seen_bias,
    )
    torch.manual_seed(a.seed)
    t_start = time.perf_counter()
    model, tok = GRM(cfg).to(a.device), Tokenizer(cfg, full)
    log(f"[{name}] levels {sizes}, {param_count(model) / 1e6:.2f} M parameters")
    rep = train_grm(
        model,
        tok,
        split,
        TrainConfig(
            epochs=a.epochs,
            batch_size=256,
            lr=a.lr,
            patience=a.patience,
            min_epochs=a.min_epochs,
            eval_users=a.eval_users,
            beam=20,
            label_smoothing=a.label_smoothing,
            seed=a.seed,
            ema=a.ema,
            device=a.device,
        ),
        on_epoch=lambda e, r: log(f"[{name}] epoch {e} ({time.perf_counter() - t_start:.0f} s): {epoch_row(r)}"),
    )
    ckpt = a.out / f"{name.replace(' ', '_').lower()}.pt"
    model.save(ckpt, {"codes": full.tolist()})
    trie = CodeTrie(full)
    t = time.perf_counter()
    test = evaluate(model, tok, trie, split.test_history, split.test_target, beam=a.beam)
    eval_s = time.perf_counter() - t
    unseen = evaluate(model, tok, trie, split.test_history, split.test_target, beam=a.beam, exclude_seen=True)
    lat = {}
    for bs in (1, 256):
        hist = list(split.test_history[:bs])
        reps = 20 if bs == 1 else 2
        t = time.perf_counter()
        for _ in range(reps):
            recommend_items(model, tok, trie, hist, 10, beam=a.beam, batch_size=bs)
        lat[f"beam_ms_per_user_batch{bs}"] = (time.perf_counter() - t) / reps / bs * 1000
    return {
        **test,
        "command": provenance()["command"],
        "checkpoint": ckpt.name,
        "device": device_label(a.device),
        "train_seconds": rep.seconds,
        "epochs": rep.epochs_run,
        "best_epoch": rep.best_epoch,
        "collision_rate_before_disambiguation": collision_rate(codes),
        "test_eval_seconds": eval_s,
        **lat,
        "unseen_only": unseen,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=0, help="use only the first N users (0 = all)")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--patience", type=int, default=6)
    ap.add_argument("--min-epochs", type=int, default=None, help="no early stop before this epoch (default: half)")
    ap.add_argument("--eval-users", type=int, default=2000)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--beam", type=int, default=20)
    ap.add_argument(
        "--ema", type=float, default=0.0, help="validate and keep an EMA of the GRM weights, this decay per step"
    )
    ap.add_argument("--ppmi-dim", type=int, default=64, help="our codes: collaborative embedding size")
    ap.add_argument(
        "--ppmi-window", type=int, default=3, help="our codes: items this many steps apart count as co-occurring"
    )
    ap.add_argument("--seed", type=int, default=0, help="initialisation, batch order, validation sample (GRM, SASRec)")
    ap.add_argument(
        "--disambiguate",
        choices=["popularity", "index", "item"],
        default="index",
        help="how items sharing a code are told apart: numbered by training popularity or by item id, or "
        "each by a token of its own (disambiguate(item_tokens=True))",
    )
    ap.add_argument(
        "--item-ids", action="store_true", help="history items also carry an item-id embedding (GRMConfig.item_ids)"
    )
    ap.add_argument(
        "--constrained",
        action="store_true",
        help="softmax over only the codes the item trie allows, in training and beam search (GRMConfig.constrained)",
    )
    ap.add_argument(
        "--history",
        choices=["tokens", "items"],
        default="tokens",
        help="the GRM reads one position per code token, or one per history item (GRMConfig.history)",
    )
    ap.add_argument(
        "--seen-bias",
        action="store_true",
        help="GRM and SASRec learn a weight on whether a candidate is (or leads to) the user's own history "
        "items (GRMConfig.seen_bias); everything is still ranked",
    )
    ap.add_argument("--decoder-layers", type=int, default=1, help="item decoder blocks for --history items")
    ap.add_argument(
        "--unique-codes",
        action="store_true",
        help="our codes: items sharing a prefix get distinct last codes (RQKMeans.encode(unique=True))",
    )
    ap.add_argument(
        "--balanced",
        action="store_true",
        help="our codes: balanced RQ-KMeans, at most ceil(n/256) items per code and level (RQKMeans.balanced)",
    )
    ap.add_argument(
        "--weighted",
        type=float,
        default=0.0,
        help="our codes: RQ-KMeans weights each item by (training interactions + 1) ** this (0 = unweighted)",
    )
    ap.add_argument(
        "--levels", type=int, default=3, help="our codes: RQ-KMeans levels of 256 codes (before disambiguation)"
    )
    ap.add_argument("--sasrec-d-model", type=int, default=64)
    ap.add_argument("--sasrec-layers", type=int, default=2)
    ap.add_argument("--sasrec-heads", type=int, default=1)
    ap.add_argument("--sasrec-dropout", type=float, default=0.3)
    ap.add_argument("--out", type=Path, default=Path("bench_out"))
    ap.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where the GRM and SASRec train and rank (auto: CUDA when torch sees a GPU); the beam ms/user "
        "figures are measured there too",
    )
    ap.add_argument("--skip", nargs="*", default=[], help="any of: sasrec text ours shared")
    ap.add_argument(
        "--order",
        choices=ORDERS,
        default="tiger-repro",
        help="which file's within-user order of the same interactions sets the split: tiger-repro/inter.json "
        "(the reproduction's, the default) or Beauty.inter.json (the standard file; its text "
        "codes are LETTER's Beauty.index.json)",
    )
    ap.add_argument(
        "--ours-from",
        choices=["ppmi", "sasrec"],
        default="ppmi",
        help="embeddings our codes quantize: PPMI-SVD co-occurrence, or the trained SASRec's item table",
    )
    a = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    try:
        a.device = resolve_device(a.device)
    except ValueError as e:
        ap.error(str(e))
    data = load_interactions(interactions_path(a.order))
    if a.users:
        data = data.head(a.users)
    split = leave_one_out(data)
    a.out.mkdir(parents=True, exist_ok=True)
    logf = (a.out / "grm_beauty.log").open("w")

    def log(msg: str) -> None:
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    log(f"Beauty: {len(data)} users, {data.n_items} items, {sum(len(s) for s in data.sequences)} interactions")
    previous = a.out / "grm_beauty.json"
    last = json.loads(previous.read_text()) if previous.is_file() else {"args": {}}
    same_data = last["args"].get("users") == a.users and last["args"].get("order", "tiger-repro") == a.order
    # models skipped in this run keep the figures of the last run on the same data
    results: dict[str, dict] = last["results"] if same_data else {}
    # transitions: how much of this split a first-order item chain explains (it moves with the same-day order)
    for key, baseline in (("Popularity", Popularity()), ("Last-item transitions", Transitions())):
        results[key] = count_baseline(baseline.fit(split.train, data.n_items), split)
        log(f"{key}: {results[key]}")
    if "sasrec" not in a.skip:
        torch.manual_seed(a.seed)
        t_start = time.perf_counter()
        sas_cfg = {"d_model": a.sasrec_d_model, "n_layer": a.sasrec_layers, "n_head": a.sasrec_heads,
                   "dropout": a.sasrec_dropout}  # fmt: skip
        sas = SASRec(data.n_items, seen_bias=a.seen_bias, **sas_cfg).to(a.device)
        info = sas.fit(
            split,
            epochs=max(a.epochs * 3, 10),
            eval_users=a.eval_users,
            patience=3,
            seed=a.seed,
            on_epoch=lambda e, r: (
                log(f"[SASRec] epoch {e} ({time.perf_counter() - t_start:.0f} s): {epoch_row(r)}")
                if "valid_ndcg@10" in r
                else None
            ),
        )
        default = sas_cfg == {"d_model": 64, "n_layer": 2, "n_head": 1, "dropout": 0.3}
        key = "SASRec" if default else "SASRec " + ", ".join(f"{k} {v}" for k, v in sas_cfg.items())
        results[key] = {
            **rank_metrics(sas.recommend(split.test_history, 10), split.test_target),
            "unseen_only": rank_metrics(sas.recommend(split.test_history, 10, exclude_seen=True), split.test_target),
            "best_valid_ndcg@10": max(r.get("valid_ndcg@10", 0.0) for r in info["history"]),
            "config": sas_cfg,
            "train_seconds": info["seconds"],
            "device": device_label(a.device),
            "epochs": info["epochs"],
            "command": provenance()["command"],
        }
        log(f"{key}: {results[key]}")
    if "text" not in a.skip:
        text_codes = load_code_table(text_code_path(a.order), data.n_items)
        key = "GRM, LETTER's codes" if a.order == "letter" else "GRM, text-derived codes"
        results[key] = run_grm("GRM text", text_codes, split, a, log)
        log(f"{key}: {results[key]}")
    if "ours" not in a.skip:
        t = time.perf_counter()
        if a.ours_from == "sasrec":
            if "sasrec" in a.skip:
                raise SystemExit("--ours-from sasrec needs the SASRec run (do not --skip sasrec)")
            emb = TableItemEncoder.from_sasrec(sas).encode_items(np.arange(data.n_items))
            key = "GRM, our codes (SASRec item table)"
        else:
            emb = CollaborativeEncoder(dim=a.ppmi_dim, window=a.ppmi_window).fit(split.train, data.n_items)
            key = "GRM, our codes"
        traffic = np.bincount(np.concatenate(split.train), minlength=data.n_items) + 1.0
        weights = traffic**a.weighted if a.weighted else None
        rq = RQKMeans((256,) * a.levels, seed=0, balanced=a.balanced).fit(emb, weights)
        ours = rq.encode(emb, unique=a.unique_codes, balanced=a.balanced)
        rep = rq.report(emb, unique=a.unique_codes, balanced=a.balanced)
        fit_s = time.perf_counter() - t
        log(f"our codes: RQ-KMeans {a.levels}×256 over {a.ours_from} embeddings in {fit_s:.1f}s: {rep}")
        results[key] = {**run_grm("GRM ours", ours, split, a, log), "sid_report": rep}
        log(f"{key}: {results[key]}")
    if "shared" not in a.skip:
        if a.order != "letter":
            raise SystemExit(
                "the shared codes have the ids of Beauty.inter.json: add --order letter (or --skip shared)"
            )
        from recgen.sid.semantics import load_sid_space

        s = Settings()
        space = load_sid_space(s.data_dir, s.cache_dir, on_status=log)
        shared = np.asarray(space.item_codes[: data.n_items, :-1])  # run_grm adds the disambiguation code
        key = "GRM, shared catalog codes"
        results[key] = {**run_grm("GRM shared", shared, split, a, log), "sid_report": space.report()["content"],
                        "space": space.name}  # fmt: skip
        log(f"{key}: {results[key]}")
    (a.out / "grm_beauty.json").write_text(
        json.dumps({"results": results, "published": PUBLISHED, "args": vars(a) | {"out": str(a.out)}}, indent=2)
    )
    rows = [(k, v) for k, v in results.items()] + [(k, v) for k, v in PUBLISHED.items()]
    head = "| model | Recall@5 | Recall@10 | NDCG@5 | NDCG@10 |\n|---|---|---|---|---|"
    log(f"\nAll items ranked:\n{head}")
    for name, m in rows:
        log(f"| {name} | {m['recall@5']:.4f} | {m['recall@10']:.4f} | {m['ndcg@5']:.4f} | {m['ndcg@10']:.4f} |")
    log(f"\nThe user's own history items excluded (the same rule for every model):\n{head}")
    for name, m in rows:
        if "unseen_only" in m:
            u = m["unseen_only"]
            log(f"| {name} | {u['recall@5']:.4f} | {u['recall@10']:.4f} | {u['ndcg@5']:.4f} | {u['ndcg@10']:.4f} |")


if __name__ == "__main__":
    main()
