"""Craft benchmark (issue 38): would a brand run these ads? The figures a creative checks first, from the
catalog ads that `ad_quality.py --catalog N` generated and judged (each row carries the craft measures of
`craft_measures.py`), plus one figure over the whole catalog: how many items are drawn with a product model
of their own rather than the neutral box.

    python benchmarks/ad_quality.py --no-briefs --catalog 100 --seed 0 --width 360 --height 640 \\
        --sheets 12 --out benchmarks/results/ad_quality_catalog.json
    python benchmarks/craft.py            # writes benchmarks/results/craft.json and the README table

Figures: filler lines per ad (target: at most 1), warnings sold as claims (0), the product's colour on
screen where the title names one (≥ 90 %), shared background plates between products (0), truncated text
(0), revisions that changed nothing (0), drafts and seconds per video-second, and what drawing the products
cost. Contact sheets of the first 12 items: `benchmarks/results/craft/`.
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from readme_tables import replace_block
from rich.progress import track
from video_args import provenance

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "results" / "ad_quality_catalog.json"
OUT = HERE / "results" / "craft.json"
SHEETS = HERE / "results" / "craft"
TARGETS = {"filler_lines_max": 1, "warnings_as_claims": 0, "colour_agreement": 0.9, "shared_backgrounds": 0,
           "truncated": 0, "noop_revisions": 0}  # fmt: skip


def catalog_models() -> dict:
    """Share of the whole catalog whose kind has a product model of its own (not the neutral box)."""
    from recgen import Settings
    from recgen.sid.catalog import load_catalog
    from recgen.sid.facts import fact_sheet

    s = Settings()
    catalog = load_catalog(s.data_dir, s.cache_dir)
    families = collections.Counter(
        fact_sheet(p, None).packshot for p in track(catalog.products, description="fact sheets")
    )
    boxed = families.get("box", 0) + families.get("device", 0)
    n = sum(families.values())
    return {"items": n, "own_model_share": round(1 - boxed / n, 4), "families": dict(families.most_common())}


def totals(rows: list[dict]) -> dict:
    rows = [r for r in rows if r.get("family") is not None]  # rows written before the craft measures existed
    n = len(rows)
    filler = [r["filler_lines"] for r in rows if r["filler_lines"] is not None]
    coloured = [r for r in rows if r["colour"]]
    judged = [r for r in coloured if r["colour_agreement"] is not None]
    owners = collections.defaultdict(set)
    for r in rows:
        for plate in r["bg_plates"]:
            owners[plate].add(r["id"])
    shared = sum(len(ids) > 1 for ids in owners.values())
    video_s = sum(r["video_seconds"] for r in rows)
    wall_s = sum(r["seconds"] for r in rows)
    return {
        "ads": n,
        "filler_lines_mean": round(sum(filler) / max(1, len(filler)), 3),
        "ads_over_one_filler_line": sum(f > 1 for f in filler),
        "warnings_as_claims": int(sum(r["warnings_as_claims"] or 0 for r in rows)),
        "titles_naming_a_colour": len(coloured),
        "colour_judged": len(judged),
        "colour_agreement": round(sum(r["colour_agreement"] for r in judged) / len(judged), 4) if judged else None,
        "own_model_share_in_sample": round(sum(r["own_model"] for r in rows) / max(1, n), 4),
        "shared_backgrounds": shared,
        "ads_sharing_a_frame": sum(bool(r.get("frames_shared")) for r in rows),
        "truncated_ads": sum(bool(r["truncations"]) for r in rows),
        "ads_with_text_shown_twice": sum(bool(r.get("text_shown_twice")) for r in rows),
        "truncation_examples": sorted({t for r in rows for t in r["truncations"]})[:8],
        "noop_revisions": sum(r["noop_revisions"] for r in rows),
        "revisions_skipped": sum(r.get("revisions_skipped", 0) for r in rows),
        "noop_stopped": sum(r.get("noop_stopped", 0) for r in rows),
        "drafts_per_ad": round(sum(r["rounds"] for r in rows) / max(1, n), 3),
        "seconds_per_video_second": round(wall_s / max(1e-9, video_s), 3),
        "product_render_share": round(sum(r["product_render_s"] for r in rows) / max(1e-9, wall_s), 4),
        "families_in_sample": dict(collections.Counter(r["family"] for r in rows).most_common()),
        **_shot_types(rows),
    }  # fmt: skip


SHOWING = ("callout", "ingredient_field", "label_macro")  # shots that show what they say (issue 38, item 3)


def _shot_types(rows: list[dict]) -> dict:
    """How many ads have each shot that shows what it says, and the share of benefit/proof shots that do."""
    typed = [r for r in rows if r.get("shot_types")]
    if not typed:
        return {}
    shots = collections.Counter(c for r in typed for c in r["shot_types"])
    middle = sum(n for c, n in shots.items() if c in (*SHOWING, "split_text", "lifestyle_card"))
    return {
        "ads_with_shot_type": {c: sum(c in r["shot_types"] for r in typed) for c in SHOWING},
        "middle_shots_showing": round(sum(shots[c] for c in SHOWING) / max(1, middle), 4),
        "shot_types": dict(shots.most_common()),
    }


def readme_table(result: dict) -> str:
    t, c, src, q = result["totals"], result["catalog"], result["source"], result["ad_quality"]
    agree = "–" if t["colour_agreement"] is None else f"{t['colour_agreement']:.0%}"
    rows = [
        ("filler lines per ad (target ≤ 1)",
         f"mean {t['filler_lines_mean']:.2f}; {t['ads_over_one_filler_line']} ads over 1"),
        ("warnings sold as claims (target 0)", str(t["warnings_as_claims"])),
        ("product colour on screen, where the title names one (target ≥ 90 %)",
         f"{agree} of {t['colour_judged']} judged ({t['titles_naming_a_colour']} titles name a colour)"),
        ("items drawn with their own product model", f"{c['own_model_share']:.1%} of the catalog's {c['items']:,}; "
         f"{t['own_model_share_in_sample']:.0%} of the sample"),
        ("background plates shared between products (target 0)", str(t["shared_backgrounds"])),
        ("ads whose final video shares a frame with another product's, as the critic sees it (target 0)",
         str(t.get("ads_sharing_a_frame", "–"))),
        ("ads with truncated text (target 0)", str(t["truncated_ads"])),
        ("ads with a text shown twice at once (target 0)", str(t.get("ads_with_text_shown_twice", "–"))),
        ("revisions rendered that changed nothing (target 0)",
         f"{t['noop_revisions']} (of which the critic stopped on {t.get('noop_stopped', 0)} without measuring); "
         f"{t.get('revisions_skipped', 0)} seen to change nothing before rendering, stopped"),
        ("unsupported claims / policy breaches in the final videos (target 0 / 0)",
         f"{q['unsupported_claims']} / {q['policy_breaches']}; {q['items_with_claims_dropped_by_policy']} titles had "
         "claims the ad policy removed"),
        *([("benefit and proof shots that show what they say (a callout at the part named, the ingredient's "
            "colour field, the label close up)", f"{t['middle_shots_showing']:.0%}; ads with a callout "
            f"{t['ads_with_shot_type']['callout']}, an ingredient field {t['ads_with_shot_type']['ingredient_field']}"
            f", a label close-up {t['ads_with_shot_type']['label_macro']}")] if "middle_shots_showing" in t else []),
        ("drafts per ad", f"{t['drafts_per_ad']:.2f}"),
        ("seconds per video-second (all stages, read-back included)",
         f"{t['seconds_per_video_second']:.2f}; drawing products {t['product_render_share']:.1%} of it"),
    ]  # fmt: skip
    body = "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    where = (
        f"\n\n{t['ads']} catalog ads ({src['draw']}), {src['settings']}; file `benchmarks/results/craft.json` "
        f"({result['machine']}). Contact sheets: `benchmarks/results/craft/`."
    )
    return body + where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=SOURCE, help="an ad_quality.py results file with catalog rows")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-readme", action="store_true")
    a = ap.parse_args()
    src = json.loads(a.source.read_text(encoding="utf-8"))
    if src.get("partial"):
        print(f"note: {a.source} is from a run that did not finish ({len(src['rows'])} rows)")
    rows = [r for r in src["rows"] if r.get("source") == "catalog"]
    s = src["settings"]
    draw = src["catalog_draw"]
    result = {
        **provenance(),
        "source": {
            "file": str(a.source.relative_to(HERE.parent)) if a.source.is_relative_to(HERE.parent) else str(a.source),
            "command": src.get("command"),
            "partial": bool(src.get("partial")),
            "draw": f"{len(rows)} drawn with seed {draw['seed']}, stratified by top-level category, presets drawn",
            "settings": f"{s['width']}×{s['height']}, {s['fps']} fps, {s['duration_s']:g} s",
        },
        "targets": TARGETS,
        "totals": totals(rows),
        "ad_quality": {
            k: src["totals"][k]
            for k in (
                "unsupported_claims",
                "policy_breaches",
                "items_with_claims_dropped_by_policy",
                "ocr_readback_mean",
                "wer_mean",
                "rounds_mean",
                "stopped",
                "seconds_mean",
            )
        },
        "catalog": catalog_models(),
        "contact_sheets": sorted(p.name for p in SHEETS.glob("*.png")),
    }
    a.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(result["totals"], indent=1, ensure_ascii=False))
    if not a.no_readme:
        print(replace_block("craft", "craft.py", readme_table(result)))


if __name__ == "__main__":
    main()
