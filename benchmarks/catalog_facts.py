"""Facts from titles over the whole Beauty catalog: how many titles carry wording ad policy does not allow,
how many claims the policy drops (by rule), how many items keep no claim at all, and where the kinds come
from. Writes `benchmarks/results/catalog_facts.json` and the README's `catalog_facts` table.

    python benchmarks/catalog_facts.py
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

from readme_tables import replace_block
from rich.progress import track
from video_args import provenance

from recgen.settings import Settings
from recgen.sid.ad_policy import breach, policy_rules
from recgen.sid.catalog import BEAUTY_ITEMS, forget_loaded_catalogs, load_catalog, parse_beauty_items
from recgen.sid.facts import fact_sheet, kind_of_path

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "catalog_facts.json"


def measure() -> dict:
    s = Settings()
    t = time.perf_counter()
    path = s.data_dir / BEAUTY_ITEMS
    parse_beauty_items(path.read_text(encoding="utf-8"), str(path))
    parse_s = time.perf_counter() - t
    load_catalog(s.data_dir, s.cache_dir)  # makes the on-disk cache if it is not there
    forget_loaded_catalogs()
    t = time.perf_counter()
    catalog = load_catalog(s.data_dir, s.cache_dir)
    load_s = time.perf_counter() - t
    n = len(catalog)
    titles_by_rule: Counter[str] = Counter()
    dropped_by_rule: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    from_path = any_breach = any_dropped = no_claims = emptied = names_cleaned = only_sizes = benefit = 0
    t = time.perf_counter()
    for p in track(catalog.products, description="fact sheets"):
        hits = {r.id for r in policy_rules() if r.regex.search(p.title)}
        titles_by_rule.update(hits)
        any_breach += bool(hits)
        facts = fact_sheet(p)
        kinds[facts.kind] += 1
        from_path += kind_of_path(p.categories) is not None
        any_dropped += bool(facts.dropped)
        dropped_by_rule.update(d.rule for d in facts.dropped)
        no_claims += not facts.claims and not facts.dropped
        by_type.update(c.type for c in (*facts.claims, *facts.fine_print))
        only_sizes += bool(facts.claims) and all(c.type == "size" for c in facts.claims)
        benefit += any(c.type == "benefit" for c in facts.claims)
        emptied += not facts.claims and bool(facts.dropped)
        names_cleaned += breach(re.split(r",| - | – |\(|\||:|;", p.title)[0]) is not None
    sheet_s = time.perf_counter() - t
    return {
        **provenance(),
        "items": n,
        "catalog_parse_seconds": round(parse_s, 3),
        "catalog_load_seconds_from_cache": round(load_s, 3),
        "fact_sheet_ms_per_item": round(1000 * sheet_s / n, 3),
        "titles_with_policy_wording": any_breach,
        "titles_with_policy_wording_share": round(any_breach / n, 4),
        "titles_by_rule": dict(titles_by_rule.most_common()),
        "items_with_claims_dropped": any_dropped,
        "items_with_claims_dropped_share": round(any_dropped / n, 4),
        "claims_dropped_by_rule": dict(dropped_by_rule.most_common()),
        "items_whose_title_lead_breaks_policy": names_cleaned,
        "items_whose_text_has_no_claim": no_claims,
        "items_whose_text_has_no_claim_share": round(no_claims / n, 4),
        "items_left_without_claims_by_the_policy": emptied,
        "claims_by_type": dict(by_type.most_common()),
        "items_whose_claims_are_only_sizes": only_sizes,
        "items_with_a_benefit": benefit,
        "kind_from_category_path_share": round(from_path / n, 4),
        "kinds": len(kinds),
        "unknown_kind": kinds.get("unknown", 0),
        "kind_counts": dict(kinds.most_common()),
    }


def table(r: dict) -> str:
    rules = {rule.id: rule for rule in policy_rules()}
    lines = [
        "| rule | titles with its wording | claims it dropped | source policy |",
        "|---|---|---|---|",
    ]
    for rid, rule in rules.items():
        lines.append(
            f"| `{rid}` | {r['titles_by_rule'].get(rid, 0):,} ({r['titles_by_rule'].get(rid, 0) / r['items']:.1%}) | "
            f"{r['claims_dropped_by_rule'].get(rid, 0):,} | {rule.source.split(';')[0]} |"
        )
    lines.append(
        f"| **any** | **{r['titles_with_policy_wording']:,} ({r['titles_with_policy_wording_share']:.1%})** | "
        f"{sum(r['claims_dropped_by_rule'].values()):,} claims of {r['items_with_claims_dropped']:,} items "
        f"({r['items_with_claims_dropped_share']:.1%}) | |"
    )
    return "\n".join(lines)


def write_readme(r: dict) -> None:
    body = (
        table(r)
        + f"\n\n{r['items']:,} items; kind from the category path for {r['kind_from_category_path_share']:.1%} "
        f"({r['kinds']} kinds, {r['unknown_kind']} unknown). {r['items_whose_text_has_no_claim']:,} titles "
        f"({r['items_whose_text_has_no_claim_share']:.1%}) carry no claim beyond the name, "
        f"{r['items_whose_claims_are_only_sizes']:,} only a size ('eb5 Facial Cream (4 Ounces)'), and the policy "
        f"takes the last claim of {r['items_left_without_claims_by_the_policy']:,} more: their ads say the name, "
        f"brand, kind and size. {r['items_with_a_benefit']:,} titles carry a benefit. Statements by type "
        f"(`prompts/claim_types.json`): "
        + ", ".join(f"{k} {v:,}" for k, v in r["claims_by_type"].items())
        + " (warnings and legal notices are fine print, never a selling line). File: "
        "`benchmarks/results/catalog_facts.json`."
    )
    replace_block("catalog_facts", "catalog_facts.py", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite the README table")
    a = ap.parse_args()
    r = measure()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(r, indent=2) + "\n")
    print(table(r))
    if not a.no_readme:
        write_readme(r)


if __name__ == "__main__":
    main()
