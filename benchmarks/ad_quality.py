"""Ad quality benchmark: does each ad say only what is true, show it cleanly, and can a viewer read and hear it?

Generates one ad per brief of `benchmarks/briefs/ad_quality.json` (briefs no test uses) with the built-in
policy, and reports per brief what the critic measured on the *final* video: claims supported / neutral /
unsupported, share of planned on-screen text read back by OCR, layout collisions, word error rate of the
voice (ASR), critic rounds, seconds per video and the share of it spent reading back. Writes
`benchmarks/results/ad_quality.json` (the README's table is made from it) and prints the table.

    python benchmarks/ad_quality.py [--width 720 --height 1280 --fps 24 --duration 12] [--only q01,q05]
    python benchmarks/ad_quality.py --catalog 200 --seed 0 --width 360 --height 640 \
        --out benchmarks/results/ad_quality_catalog.json

`--catalog N` adds N Beauty catalog items drawn at random with the seed, stratified by top-level category
(each category's share of the catalog, at least `--min-per-category` each), each in a style preset drawn
with the same seed: ads made from a title alone, judged by the same critic, including its ad-policy check.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from craft_measures import contact_sheet, craft_measures
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from video_args import add_video_args, provenance

from recgen import Settings, generate_video
from recgen.agents.critic import ranking
from recgen.tools import product_render
from recgen.tools.asr import listen, spoken_wer
from recgen.tools.probes import probe

HERE = Path(__file__).resolve().parent
BRIEFS = HERE / "briefs" / "ad_quality.json"
OUT = HERE / "results" / "ad_quality.json"
TARGETS = {"unsupported": 0, "ocr_readback": 0.95, "collisions": 0, "wer": 0.10, "readback_share": 0.25}


def catalog_briefs(n: int, seed: int, min_per_category: int, data_dir: Path, cache_dir: Path) -> list[dict]:
    """N catalog items, stratified by top-level category (proportional, at least `min_per_category`), each
    with a style preset; the same seed gives the same draw."""
    import numpy as np

    from recgen.sid.catalog import load_catalog
    from recgen.sid.creative import PRESETS

    catalog = load_catalog(data_dir, cache_dir)
    groups: dict[str, list[str]] = {}
    for p in catalog.products:
        groups.setdefault(p.categories[1] if len(p.categories) > 1 else "Beauty", []).append(p.id)
    rng = np.random.default_rng(seed)
    names = sorted(groups)
    want = {g: max(min_per_category, round(n * len(groups[g]) / len(catalog))) for g in names}
    while sum(want.values()) > n:  # trim the largest allocation until the total is n
        want[max(names, key=lambda g: want[g])] -= 1
    while sum(want.values()) < n:
        want[max(names, key=lambda g: len(groups[g]) - want[g])] += 1
    presets = sorted(PRESETS)
    out = []
    for g in names:
        for item in rng.choice(groups[g], min(want[g], len(groups[g])), replace=False):
            out.append({"product": str(item), "creative": presets[int(rng.integers(len(presets)))], "category": g})
    return out


def spread(briefs: list[dict], n: int) -> list[dict]:
    """`n` briefs taken in turn from each category (the draw is grouped by category): a sample across it."""
    by_cat: dict[str, list[dict]] = {}
    for b in briefs:
        by_cat.setdefault(b["category"], []).append(b)
    out: list[dict] = []
    while len(out) < min(n, len(briefs)):
        for group in by_cat.values():
            if group and len(out) < n:
                out.append(group.pop(0))
    return out


def run_brief(brief: dict, settings: Settings, sheet: Path | None = None) -> dict:
    t0 = time.perf_counter()
    offer = {k: brief[k] for k in ("price", "discount_pct") if k in brief}
    drawn_before = product_render.STATS["seconds"]
    r = generate_video(brief["product"], brief["creative"], settings=settings, **offer)
    seconds = time.perf_counter() - t0
    if sheet is not None:
        contact_sheet(r.final_path, settings, sheet)
    final = max(r.state.reports, key=ranking)  # the report of the draft the critic chose
    m = final.measures
    labels = [c.label for c in final.claims if c.where != "seen"]
    readback_s = sum(rep.measures.get("readback_s", 0.0) for rep in r.state.reports)
    facts = r.state.semantics.content.facts
    return {
        "id": r.state.request.product.id,
        "source": "catalog" if isinstance(brief["product"], str) else "brief",
        "category": brief.get("category"),
        "title": facts.title[:60],
        "kind": facts.kind,
        "policy_breaches": int(m.get("policy_breaches", 0)),
        "claims_dropped_by_policy": [d.rule for d in facts.dropped],
        "creative": brief["creative"],
        "supported": labels.count("supported"),
        "neutral": labels.count("neutral"),
        "unsupported": labels.count("unsupported"),
        "ocr_readback": m.get("ocr_readback"),
        "collisions": m.get("layout_collisions", 0.0) + m.get("text_in_ui_zones", 0.0),
        "wer": m.get("voice_wer"),
        "wer_unprimed": _unprimed(r, final.round, settings),
        "rounds": len(r.state.reports),
        "verdict": r.state.reports[-1].verdict,
        "violations": sorted({v.code for v in final.violations}),
        "seconds": round(seconds, 2),
        "readback_share": round(readback_s / seconds, 3),
        "notes": r.state.notes,
        **craft_measures(r, m, seconds, product_render.STATS["seconds"] - drawn_before),
    }


def _unprimed(r, round_: int, settings: Settings) -> float | None:
    """The WER of a listener who does not know the product's title (after the timing; for comparison)."""
    if not r.state.tracks.lines or settings.asr_backend == "none":
        return None
    p = probe(next(d for d in r.state.drafts if d.round == round_).path)
    heard = " ".join(h.word for h in listen(p.audio, p.audio_rate, settings.cache_dir))
    return round(spoken_wer(" ".join(ln.text for ln in r.state.tracks.lines), heard), 4)


def totals(rows: list[dict]) -> dict:
    def mean(key: str) -> float | None:
        vals = [r[key] for r in rows if r[key] is not None]
        return round(sum(vals) / len(vals), 4) if vals else None

    return {
        "briefs": len(rows),
        "unsupported_claims": sum(r["unsupported"] for r in rows),
        "policy_breaches": sum(r.get("policy_breaches", 0) for r in rows),
        "items_with_claims_dropped_by_policy": sum(bool(r.get("claims_dropped_by_policy")) for r in rows),
        "briefs_with_unsupported": sum(r["unsupported"] > 0 for r in rows),
        "supported_claims": sum(r["supported"] for r in rows),
        "ocr_readback_mean": mean("ocr_readback"),
        "ocr_readback_min": min((r["ocr_readback"] for r in rows if r["ocr_readback"] is not None), default=None),
        "collisions": sum(r["collisions"] for r in rows),
        "wer_mean": mean("wer"),
        "wer_max": max((r["wer"] for r in rows if r["wer"] is not None), default=None),
        "wer_unprimed_mean": mean("wer_unprimed"),
        "rounds_mean": mean("rounds"),
        "stopped": sum(r["verdict"] == "stop" for r in rows),
        "seconds_mean": mean("seconds"),
        "readback_share_mean": mean("readback_share"),
    }


def print_table(rows: list[dict], tot: dict) -> None:
    t = Table("id", "kind", "claims s/n/u", "OCR", "coll.", "WER", "rounds", "s", "read-back", "open")
    for r in rows:
        t.add_row(
            r["id"],
            r["kind"],
            f"{r['supported']}/{r['neutral']}/{r['unsupported']}",
            "–" if r["ocr_readback"] is None else f"{r['ocr_readback']:.0%}",
            f"{r['collisions']:.0f}",
            "–" if r["wer"] is None else f"{r['wer']:.0%}",
            str(r["rounds"]),
            f"{r['seconds']:.1f}",
            f"{r['readback_share']:.0%}",
            ", ".join(r["violations"]) or "",
        )
    Console().print(t)
    Console().print(tot)


def markdown(results: dict) -> str:
    """The README's table, made from the results file."""
    t, rows = results["totals"], results["rows"]
    out = [
        "| brief | kind | claims supported / neutral / unsupported | OCR read back | collisions | WER | rounds | s "
        "| read-back share |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ocr = "–" if r["ocr_readback"] is None else f"{r['ocr_readback']:.0%}"
        wer = "–" if r["wer"] is None else f"{r['wer']:.0%}"
        out.append(
            f"| {r['id']} {r['title'][:34]} | {r['kind']} | {r['supported']} / {r['neutral']} / {r['unsupported']} "
            f"| {ocr} | {r['collisions']:.0f} | {wer} | {r['rounds']} | {r['seconds']:.0f} "
            f"| {r['readback_share']:.0%} |"
        )
    out.append(
        f"| **all {t['briefs']}** | | {t['supported_claims']} supported, **{t['unsupported_claims']} unsupported** "
        f"| mean {t['ocr_readback_mean']:.1%}, min {t['ocr_readback_min']:.0%} | **{t['collisions']:.0f}** "
        f"| mean {t['wer_mean']:.1%}, max {t['wer_max']:.0%} (title unknown: {t['wer_unprimed_mean']:.1%}) "
        f"| mean {t['rounds_mean']:.2f} "
        f"| mean {t['seconds_mean']:.0f} | mean {t['readback_share_mean']:.0%} |"
    )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_video_args(ap, 720, 1280, 24, 12.0)
    ap.add_argument("--only", default="", help="comma-separated brief ids")
    ap.add_argument("--catalog", type=int, default=0, help="also N catalog items, stratified by category")
    ap.add_argument("--seed", type=int, default=0, help="the catalog draw's seed")
    ap.add_argument("--min-per-category", type=int, default=10)
    ap.add_argument("--no-briefs", action="store_true", help="catalog items only")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--sheets", type=int, default=0, help="contact sheets (PNG) of the first N catalog items")
    ap.add_argument("--sheets-dir", type=Path, default=HERE / "results" / "craft")
    ap.add_argument("--markdown", action="store_true", help="print the README table from the results file and stop")
    a = ap.parse_args()
    if a.markdown:
        print(markdown(json.loads(a.out.read_text(encoding="utf-8"))))
        return
    briefs = [] if a.no_briefs else json.loads(BRIEFS.read_text(encoding="utf-8"))["briefs"]
    if a.only:
        briefs = [b for b in briefs if b["product"]["id"] in a.only.split(",")]
    env = Settings()
    if a.catalog:
        briefs += catalog_briefs(a.catalog, a.seed, a.min_per_category, env.data_dir, env.cache_dir)
    rows: list[dict] = []
    sheets = spread([b for b in briefs if b.get("category")], a.sheets)
    with tempfile.TemporaryDirectory() as tmp, Progress() as bar:
        s = env.model_copy(
            update={"runs_dir": Path(tmp), "width": a.width, "height": a.height, "fps": a.fps, "duration_s": a.duration}
        )
        task = bar.add_task("ads", total=len(briefs))
        for b in briefs:
            sheet = a.sheets_dir / f"{b['product']}-{b['creative']}.png" if b in sheets else None
            rows.append(run_brief(b, s, sheet))
            _write(a, rows, partial=True)  # a long run interrupted keeps what it measured
            bar.advance(task)
    print_table(rows, totals(rows))
    _write(a, rows, partial=False)


def _write(a: argparse.Namespace, rows: list[dict], partial: bool) -> None:
    tot = totals(rows)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(
        json.dumps(
            {
                **provenance(),
                "settings": {"width": a.width, "height": a.height, "fps": a.fps, "duration_s": a.duration},
                "catalog_draw": {"items": a.catalog, "seed": a.seed, "min_per_category": a.min_per_category},
                "targets": TARGETS,
                "totals": tot,
                "partial": partial,
                "rows": rows,
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
