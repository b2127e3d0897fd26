"""Collect the GRM benchmark runs on Beauty's standard order into `benchmarks/results/grm_beauty.json` and
write the README's tables from it (between the `grm_beauty` markers), so the README shows what the file holds.

    python benchmarks/grm_results.py --grm-runs bench_out/letter bench_out/letter_s1 bench_out/letter_s2 \\
        --rerank bench_out/rerank_s0.json bench_out/rerank_s1.json bench_out/rerank_s2.json \\
        --latency bench_out/grm_latency.json --sasrec bench_out/sasrec_default bench_out/sasrec_d05

Every GRM run directory is one seed of `grm_beauty.py --order letter …` (its checkpoint and its
`grm_beauty.json`); the re-rank file is `grm_transition_rerank.py` over those checkpoints.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

METRICS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10")
RESULTS = Path(__file__).parent / "results" / "grm_beauty.json"
README = Path(__file__).parents[1] / "README.md"

# Published figures on the same file (leave-one-out, full ranking). "seen rule": whether the user's own
# history items may be recommended, as far as the paper or its released code says.
PUBLISHED = [
    ("TIGER (NeurIPS'23)", {"recall@5": 0.0454, "recall@10": 0.0648, "ndcg@5": 0.0321, "ndcg@10": 0.0384},
     "all items (no filter described)"),
    ("ActionPiece (ICML'25, mean of 5 seeds)",
     {"recall@5": 0.0511, "recall@10": 0.0775, "ndcg@5": 0.0340, "ndcg@10": 0.0424},
     "all items (released evaluator)"),
    ("RPG (KDD'25)", {"ndcg@10": 0.0464}, "all items (same framework)"),
    ("HG-Rec (ICML'26)", {"recall@5": 0.0572, "recall@10": 0.0872, "ndcg@5": 0.0377, "ndcg@10": 0.0473},
     "not stated"),
    ("EAGER (KDD'24)", {"recall@10": 0.0836, "ndcg@10": 0.0525}, "not stated"),
    ("SASRec, sampled softmax (eSASRec paper)", {"recall@10": 0.0921, "ndcg@10": 0.0531},
     "not stated"),
]  # fmt: skip


def mean_spread(rows: list[dict]) -> tuple[dict, dict]:
    """Per metric: the mean over seeds and the sample standard deviation (0 for one seed)."""
    mean = {m: float(np.mean([r[m] for r in rows])) for m in METRICS}
    sd = {m: float(np.std([r[m] for r in rows], ddof=1)) if len(rows) > 1 else 0.0 for m in METRICS}
    return mean, sd


def grm_rows(runs: list[Path], rerank: dict, timing: dict | None) -> list[dict]:
    """The GRM's beam alone and with transition-aware scoring, each over the seeds given; latencies from
    `timing` (a quiet `--latency-only` run) where given."""
    seeds, alone, ranked, lat = [], [], [], []
    by_ckpt = {Path(r["checkpoint"]).resolve(): r for r in rerank["rows"]}
    timed = {Path(r["checkpoint"]).resolve(): r for r in (timing or {"rows": []})["rows"]}
    train_s, commands = [], []
    for run in runs:
        res = json.loads((run / "grm_beauty.json").read_text())
        row = res["results"]["GRM, our codes"]
        seeds.append(res["args"]["seed"])
        train_s.append(row["train_seconds"])
        commands.append(row.get("command") or _command(res["args"]))
        rr = by_ckpt[(run / "grm_ours.pt").resolve()]
        alone.append(rr["beam_alone"])
        ranked.append(rr["reranked"] | {"beta": rr["beta"]})
        lat.append(timed.get((run / "grm_ours.pt").resolve(), rr))
    out = []
    for name, rows, kind, note in (
        ("GRM, our codes + seen bias + weight EMA: beam alone", alone, "beam",
         "beam 20, ranked by the GRM's log-probability"),
        ("GRM, our codes + seen bias + weight EMA + transition-aware scoring", ranked, "rerank",
         f"beam 20 ∪ the chain's top {rerank['candidates']}; β per seed chosen on validation: "
         + ", ".join(str(r["beta"]) for r in ranked)),
    ):  # fmt: skip
        mean, sd = mean_spread(rows)
        out.append({
            "model": name, "codes": "ours: RQ-KMeans 3×256 over PPMI-SVD item embeddings + disambiguation token",
            "order": "standard (Beauty.inter.json)", "seen_rule": "all items ranked (seen bias learned)",
            "seeds": seeds, "metrics": mean, "spread_sd": sd, "per_seed": rows,
            "train_seconds": train_s,
            "ms_per_user_batch1": [r[f"{kind}_ms_per_user_batch1"] for r in lat],
            "ms_per_user_batch256": [r[f"{kind}_ms_per_user_batch256"] for r in lat],
            "command": commands + (rerank["command"] if kind == "rerank" else [])
                       + ([timing["command"]] if timing else []), "note": note,
        })  # fmt: skip
    return out


def _command(args: dict) -> str:
    flags = ["--order letter", "--seen-bias" if args.get("seen_bias") else "", f"--ema {args['ema']}",
             "--skip " + " ".join(args["skip"]), f"--epochs {args['epochs']}", f"--seed {args['seed']}",
             f"--out {args['out']}"]  # fmt: skip
    return "python benchmarks/grm_beauty.py " + " ".join(f for f in flags if f)


def baseline_rows(run: Path) -> list[dict]:
    res = json.loads((run / "grm_beauty.json").read_text())
    notes = {"Popularity": "training counts", "Last-item transitions": "what followed the last item in training"}
    return [
        {"model": k, "codes": "—", "order": "standard (Beauty.inter.json)", "seen_rule": "all items ranked",
         "seeds": [], "metrics": {m: res["results"][k][m] for m in METRICS}, "note": notes[k],
         "command": _command(res["args"])}
        for k in notes
    ]  # fmt: skip


def sasrec_rows(runs: list[Path]) -> list[dict]:
    out = []
    for run in runs:
        res = json.loads((run / "grm_beauty.json").read_text())
        for k, v in res["results"].items():
            if k.startswith("SASRec"):
                seen = " + seen bias" if res["args"].get("seen_bias") else ""
                out.append({
                    "model": k.replace("SASRec", "SASRec (ours, full-softmax CE" + seen + ")", 1),
                    "codes": "item ids", "order": "standard (Beauty.inter.json)",
                    "seen_rule": "all items ranked" + (" (seen bias learned)" if seen else ""),
                    "seeds": [0], "metrics": {m: v[m] for m in METRICS}, "config": v.get("config"),
                    "best_valid_ndcg@10": v.get("best_valid_ndcg@10"), "train_seconds": [v["train_seconds"]],
                    "command": v.get("command"),
                })  # fmt: skip
    return out


def table(rows: list[dict]) -> str:
    def fig(m: dict, k: str) -> str:
        return f"{m[k]:.4f}" if k in m else "—"

    head = "| model | seen rule | seeds | Recall@5 | Recall@10 | NDCG@5 | NDCG@10 | train s (per seed) | ms/user b1 / b256 |"  # noqa: E501
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m, sd = r["metrics"], r.get("spread_sd")
        cells = [fig(m, k) + (f" ± {sd[k]:.4f}" if sd and len(r["seeds"]) > 1 else "") for k in METRICS]
        t = r.get("train_seconds")
        ts = " / ".join(f"{x:,.0f}" for x in t) if t else "—"  # per seed: some runs shared the machine
        b1, b256 = r.get("ms_per_user_batch1"), r.get("ms_per_user_batch256")
        lat = f"{np.mean(b1):.1f} / {np.mean(b256):.1f}" if b1 else "—"
        seeds = ", ".join(map(str, r["seeds"])) if r["seeds"] else "—"
        lines.append(f"| {r['model']} | {r['seen_rule']} | {seeds} | " + " | ".join(cells) + f" | {ts} | {lat} |")
    return "\n".join(lines)


def write_readme(doc: dict, readme: Path) -> None:
    text = readme.read_text()
    block = "<!-- grm_beauty:standard (generated by benchmarks/grm_results.py) -->\n" + table(doc["rows"])
    block += "\n" + "\n".join(
        f"| {name} | {rule} | published | " + " | ".join(f"{m[k]:.4f}" if k in m else "—" for k in METRICS)
        + " | — | — |" for name, m, rule in PUBLISHED
    ) + "\n<!-- /grm_beauty:standard -->"  # fmt: skip
    pattern = re.compile(r"<!-- grm_beauty:standard.*?<!-- /grm_beauty:standard -->", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no grm_beauty:standard markers")
    readme.write_text(pattern.sub(lambda _: block, text))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grm-runs", type=Path, nargs="+", required=True)
    ap.add_argument("--rerank", type=Path, nargs="+", required=True, help="grm_transition_rerank.py files")
    ap.add_argument("--latency", type=Path, help="a `grm_transition_rerank.py --latency-only` file")
    ap.add_argument("--sasrec", type=Path, nargs="*", default=[])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--readme", type=Path, default=README)
    a = ap.parse_args()
    parts = [json.loads(p.read_text()) for p in a.rerank]
    rerank = {**parts[0], "rows": [r for p in parts for r in p["rows"]], "command": [p["command"] for p in parts]}
    timing = json.loads(a.latency.read_text()) if a.latency else None
    doc = {
        "machine": rerank["machine"],
        "split": "leave-one-out on Beauty.inter.json (the standard order), every item ranked, the same metric code",
        "rows": baseline_rows(a.grm_runs[0]) + sasrec_rows(a.sasrec) + grm_rows(a.grm_runs, rerank, timing),
        "published": [{"model": n, "metrics": m, "seen_rule": r} for n, m, r in PUBLISHED],
    }
    a.out.write_text(json.dumps(doc, indent=1) + "\n")
    write_readme(doc, a.readme)
    print(table(doc["rows"]))


if __name__ == "__main__":
    main()
