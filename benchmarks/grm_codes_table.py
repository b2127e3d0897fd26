"""The README's `grm_codes` table: the GRM on Beauty's standard order trained on the shared catalog codes and
on the collaborative codes, same settings and seed, each with the beam alone and with transition-aware
scoring; validation first (what the default is chosen on), then test. Reads the file
`grm_transition_rerank.py` wrote for the two checkpoints `grm_beauty.py` saved:

    python benchmarks/grm_beauty.py --order letter --seen-bias --ema 0.998 --skip sasrec text ours --out …/shared
    python benchmarks/grm_beauty.py --order letter --seen-bias --ema 0.998 --skip sasrec text shared --out …/ours
    python benchmarks/grm_transition_rerank.py …/shared/grm_shared.pt …/ours/grm_ours.pt \
        --out benchmarks/results/grm_shared_codes.json
    python benchmarks/grm_codes_table.py
"""

from __future__ import annotations

import json
from pathlib import Path

from readme_tables import replace_block

RESULTS = Path(__file__).resolve().parent / "results" / "grm_shared_codes.json"
KEYS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10")


def codes_of(row: dict) -> str:
    return "shared catalog codes (text)" if "shared" in Path(row["checkpoint"]).name else "collaborative codes"


def rows(result: dict) -> list[str]:
    out = []
    for row in result["rows"]:
        sweep = row["validation_sweep"]
        beta = row["beta"]
        chosen = sweep[str(beta)] if str(beta) in sweep else next(m for b, m in sweep.items() if float(b) == beta)
        alone_valid = next(m for b, m in sweep.items() if float(b) == 0.0)  # the beam's and chain's items, GRM order
        for label, valid, test in (
            ("beam alone", alone_valid, row["beam_alone"]),
            (f"with the chain (β = {beta:g})", chosen, row["reranked"]),
        ):
            v = " / ".join(f"{valid[k]:.4f}" for k in KEYS if k in valid)
            t = " / ".join(f"{test[k]:.4f}" for k in KEYS)
            secs = f"{row['train_seconds']:.0f}" if row.get("train_seconds") else "not recorded"
            out.append(f"| {codes_of(row)} | {label} | {v} | {t} | {secs} |")
    return out


def main() -> None:
    result = json.loads(RESULTS.read_text())
    head = (
        "| codes | ranking | validation R@5 / R@10 / N@5 / N@10 | test R@5 / R@10 / N@5 / N@10 | training s |\n"
        "|---|---|---|---|---|"
    )
    # a checkpoint whose training log was not kept beside it has no args: the settings were the same for both
    args = next((r["train_args"] for r in result["rows"] if r.get("train_args")), {})
    scope = f"the first {args['users']:,} users" if args.get("users") else "all 22,363 users"
    where = (
        f"{scope}, at most {args.get('epochs')} epochs, seed {args.get('seed')}, same settings for both; validation "
        f"at β = 0 and at the β chosen on it. File: `benchmarks/results/grm_shared_codes.json` ({result['machine']})."
    )
    body = head + "\n" + "\n".join(rows(result)) + "\n\n" + where
    print(replace_block("grm_codes", "grm_codes_table.py", body))


if __name__ == "__main__":
    main()
