"""Collect the GRM benchmark runs on Beauty's standard order into `benchmarks/results/grm_beauty.json` and
write the README's tables from it (between the `grm_beauty` markers), so the README shows what the file holds.

    python benchmarks/grm_results.py --grm-runs bench_out/g40/s0 bench_out/g40/s1 bench_out/g40/s2 \\
        --letter-runs bench_out/g40/letter_codes_s0 --latency bench_out/g40/latency_cpu3.json \\
        --sasrec bench_out/sasrec_default bench_out/g40/sas_d64_p0.5_h1 bench_out/g40/sas_d64_p0.5_s1 …

Every GRM run directory is one seed of `grm_beauty.py --order letter …` (its checkpoint and its
`grm_beauty.json`); its re-rank row is `grm_transition_rerank.py`'s `rerank.json` beside the checkpoint, or a
`--rerank` file over those checkpoints; `--latency` is a quiet `--latency-only` pass on this machine.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
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


GRM_CODES = {
    "grm_ours.pt": ("GRM, our codes", "ours: RQ-KMeans 3×256 over PPMI-SVD item embeddings + disambiguation token"),
    "grm_text.pt": ("GRM, LETTER's codes", "LETTER's published Beauty.index.json (4×256) + disambiguation token"),
}


def _rerank_row(run: Path, ckpt: Path, rerank: dict | None) -> dict:
    """A checkpoint's row of the given re-rank files, else of the `rerank.json` saved beside it (a run made on
    another machine records that machine's path, so the file beside the checkpoint is the one that matches)."""
    rows = {Path(r["checkpoint"]).resolve(): r for r in (rerank or {"rows": []})["rows"]}
    if ckpt.resolve() in rows:
        return rows[ckpt.resolve()]
    own = run / "rerank.json"
    if not own.is_file():
        raise SystemExit(f"no re-rank row for {ckpt}: pass --rerank FILE or keep {own}")
    saved = json.loads(own.read_text())
    return saved["rows"][0] | {"command": saved["command"], "candidates": saved.get("candidates")}


def grm_rows(runs: list[Path], rerank: dict | None, timing: dict | None, ckpt_name: str = "grm_ours.pt") -> list[dict]:
    """The GRM's beam alone and with transition-aware scoring, each over the seeds given; latencies from
    `timing` (a quiet `--latency-only` run on this machine's CPU) where given."""
    key, codes = GRM_CODES[ckpt_name]
    seeds, alone, ranked, lat, rr_commands, devices = [], [], [], [], [], []
    timed = {Path(r["checkpoint"]).resolve(): r for r in (timing or {"rows": []})["rows"]}
    train_s, commands, candidates = [], [], set()
    for run in runs:
        res = json.loads((run / "grm_beauty.json").read_text())
        row = res["results"][key]
        seeds.append(res["args"]["seed"])
        train_s.append(row["train_seconds"])
        devices.append(row.get("device", "cpu"))
        commands.append(row.get("command") or _command(res["args"]))
        rr = _rerank_row(run, run / ckpt_name, rerank)
        rr_commands.append(rr.get("command") or (rerank or {}).get("command"))
        candidates.add(rr.get("candidates") or (rerank or {}).get("candidates"))
        alone.append(rr["beam_alone"])
        ranked.append(rr["reranked"] | {"beta": rr["beta"]})
        lat.append(timed.get((run / ckpt_name).resolve(), rr))
    out = []
    for name, rows, kind, note in (
        (f"{key} + seen bias + weight EMA: beam alone", alone, "beam",
         "beam 20, ranked by the GRM's log-probability"),
        (f"{key} + seen bias + weight EMA + transition-aware scoring", ranked, "rerank",
         f"beam 20 ∪ the chain's top {', '.join(map(str, sorted(candidates)))}; β per seed chosen on validation: "
         + ", ".join(str(r["beta"]) for r in ranked)),
    ):  # fmt: skip
        mean, sd = mean_spread(rows)
        out.append({
            "model": name, "codes": codes,
            "order": "standard (Beauty.inter.json)", "seen_rule": "all items ranked (seen bias learned)",
            "seeds": seeds, "metrics": mean, "spread_sd": sd, "per_seed": rows,
            "train_seconds": train_s, "train_device": sorted(set(devices)),
            "ms_per_user_batch1": [r[f"{kind}_ms_per_user_batch1"] for r in lat],
            "ms_per_user_batch256": [r[f"{kind}_ms_per_user_batch256"] for r in lat],
            "latency_machine": (timing or rerank or {}).get("machine"),
            "command": commands + (_flat(rr_commands) if kind == "rerank" else [])
                       + ([timing["command"]] if timing else []), "note": note,
        })  # fmt: skip
    return out


def _flat(commands: list) -> list[str]:
    out: list[str] = []
    for c in commands:
        for x in c if isinstance(c, list) else [c]:
            if x and x not in out:
                out.append(x)
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
    """One row per SASRec configuration, over the seeds run; the configuration with the best validation
    NDCG@10 of seed 0 (the seed every configuration was run with) is the tuned reference (`tuned`), the
    default one is kept beside it. Its other seeds were run after that choice."""
    groups: dict[str, list[tuple[dict, dict]]] = {}
    for run in runs:
        res = json.loads((run / "grm_beauty.json").read_text())
        for k, v in res["results"].items():
            if k.startswith("SASRec"):
                groups.setdefault(k, []).append((res["args"], v))
    out = []
    for k, members in groups.items():
        args = members[0][0]
        seen = " + seen bias" if args.get("seen_bias") else ""
        rows = [v for _, v in members]
        mean, sd = mean_spread(rows)
        out.append({
            "model": k.replace("SASRec", "SASRec (ours, full-softmax CE" + seen + ")", 1),
            "codes": "item ids", "order": "standard (Beauty.inter.json)",
            "seen_rule": "all items ranked" + (" (seen bias learned)" if seen else ""),
            "seeds": [a.get("seed", 0) for a, _ in members], "metrics": mean, "spread_sd": sd,
            "per_seed": [{m: v[m] for m in METRICS} for v in rows], "config": rows[0].get("config"),
            "best_valid_ndcg@10": float(np.mean([v.get("best_valid_ndcg@10", 0.0) for v in rows])),
            "seed0_valid_ndcg@10": next(
                (v.get("best_valid_ndcg@10") for a, v in members if a.get("seed", 0) == 0), None
            ),
            "train_seconds": [v["train_seconds"] for v in rows],
            "train_device": sorted({v.get("device", "cpu") for v in rows}),
            "command": [v.get("command") for v in rows], "default": k == "SASRec",
        })  # fmt: skip
    if out:
        best = max(out, key=lambda r: r["seed0_valid_ndcg@10"] or 0.0)
        best["tuned"] = True
        best["model"] = best["model"].replace("SASRec (ours,", "SASRec tuned on validation (ours,", 1)
    return out


def table(rows: list[dict]) -> str:
    def fig(m: dict, k: str) -> str:
        return f"{m[k]:.4f}" if k in m else "—"

    head = "| model | seen rule | seeds | Recall@5 | Recall@10 | NDCG@5 | NDCG@10 | train s (per seed) | ms/user b1 / b256 |"  # noqa: E501
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["model"].startswith("SASRec") and not (r.get("default") or r.get("tuned")):
            continue  # the rest of the SASRec sweep is in the JSON
        m, sd = r["metrics"], r.get("spread_sd")
        cells = [fig(m, k) + (f" ± {sd[k]:.4f}" if sd and len(r["seeds"]) > 1 else "") for k in METRICS]
        t = r.get("train_seconds")
        ts = " / ".join(f"{x:,.0f}" for x in t) if t else "—"  # per seed: some runs shared the machine
        gpus = [d[d.find("(") + 1 : -1] for d in r.get("train_device", []) if d.startswith("cuda")]
        ts += f" ({', '.join(gpus)})" if t and gpus else ""
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
    ap.add_argument(
        "--rerank", type=Path, nargs="*", default=[], help="grm_transition_rerank.py files (default: each run's own)"
    )
    ap.add_argument("--letter-runs", type=Path, nargs="*", default=[], help="runs of the GRM on LETTER's codes")
    ap.add_argument("--latency", type=Path, help="a `grm_transition_rerank.py --latency-only` file")
    ap.add_argument("--sasrec", type=Path, nargs="*", default=[])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--readme", type=Path, default=README)
    a = ap.parse_args()
    parts = [json.loads(p.read_text()) for p in a.rerank]
    rerank = (
        {**parts[0], "rows": [r for p in parts for r in p["rows"]], "command": [p["command"] for p in parts]}
        if parts
        else None
    )
    timing = json.loads(a.latency.read_text()) if a.latency else None
    letter = grm_rows(a.letter_runs, rerank, timing, "grm_text.pt") if a.letter_runs else []
    doc = {
        "machine": (timing or rerank or {}).get("machine"),
        "command": "python " + " ".join(sys.argv),
        "split": "leave-one-out on Beauty.inter.json (the standard order), every item ranked, the same metric code",
        "rows": baseline_rows(a.grm_runs[0]) + sasrec_rows(a.sasrec) + letter + grm_rows(a.grm_runs, rerank, timing),
        "published": [{"model": n, "metrics": m, "seen_rule": r} for n, m, r in PUBLISHED],
    }
    a.out.write_text(json.dumps(doc, indent=1) + "\n")
    write_readme(doc, a.readme)
    print(table(doc["rows"]))


if __name__ == "__main__":
    main()
