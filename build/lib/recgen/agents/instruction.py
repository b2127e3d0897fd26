"""Instruction model: decoded D-SIDs + product facts → a shot-level brief."""

from __future__ import annotations

import re

from langgraph.runtime import Runtime

from recgen.agents.policy import AgentContext
from recgen.prompts import load_json
from recgen.schemas import Brief, Product, Semantics, ShotBrief, ShotRole, VideoState

# ad structure by shot count: hook → product → benefit(s) → proof → CTA
_STRUCTURE: dict[int, tuple[ShotRole, ...]] = {
    2: ("hook", "cta"),
    3: ("hook", "product", "cta"),
    4: ("hook", "product", "benefit", "cta"),
    5: ("hook", "product", "benefit", "proof", "cta"),
    6: ("hook", "product", "benefit", "benefit", "proof", "cta"),
    7: ("hook", "product", "benefit", "proof", "benefit", "proof", "cta"),
    8: ("hook", "product", "benefit", "proof", "benefit", "benefit", "proof", "cta"),
}


def short_name(product: Product, max_words: int = 4) -> str:
    """The on-screen product name: the title up to its first separator, without brand and sizes."""
    name = product.title
    if product.brand and name.lower().startswith(product.brand.lower()):
        name = name[len(product.brand) :]
    name = re.split(r",| - |\(|\||:|;", name)[0]
    name = re.sub(r"\b\d+(\.\d+)?[- ]?(oz|ounce|fluid ounce|ml|g|pcs)\b\.?", "", name, flags=re.I)
    words = [w for w in name.split() if w.lower() not in {"new", "the"}][:max_words]
    while len(words) > 1 and words[-1].lower() in {"for", "with", "and", "of", "in", "&", "-", "to"}:
        words.pop()
    return " ".join(words).strip(" -,.") or product.title.split()[0]


def product_facts(product: Product) -> list[str]:
    """Checkable facts in the product's own text (no invented claims): '100% pure', '15 colours', 'pack of 4'."""
    text = f"{product.title}. {product.description}"
    pats = [
        r"\b\d{1,3}% (?:pure|natural|organic|human hair)\b",
        r"\b\d{1,3} (?:colou?rs?|shades|pairs|pcs|sheets)\b",
        r"\bpack of \d+\b",
        r"\bwaterproof\b",
        r"\bvegan\b",
        r"\bhandmade\b",
        r"\bstainless steel\b",
    ]
    facts: list[str] = []
    for p in pats:
        for m in re.finditer(p, text, flags=re.I):
            f = m.group(0).lower()
            if f not in facts:
                facts.append(f)
    return facts[:3]


def offer_text(product: Product) -> str | None:
    if product.discount_pct:
        return f"{product.discount_pct}% OFF"
    if product.price:
        sym = {"USD": "$", "EUR": "€", "GBP": "£"}.get(product.currency, product.currency + " ")
        return f"{sym}{product.price:.2f}"
    return None


def shot_count(sem: Semantics, duration: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(duration / sem.creative.shot_seconds), max(_STRUCTURE)))


def builtin_brief(ctx: AgentContext) -> Brief:
    copy = load_json("builtin_copy.json")
    sem, product = ctx.semantics, ctx.product
    mood = sem.creative.mood
    name = short_name(product)
    benefits = list(sem.content.benefits) or [copy["generic_benefits"].get(sem.content.family, "your routine")]
    facts = product_facts(product)
    offer = offer_text(product)
    n = shot_count(sem, ctx.settings.duration_s, ctx.settings.min_shots, ctx.settings.max_shots)
    roles = _STRUCTURE[n]
    words = copy["family_words"].get(sem.content.family, copy["family_words"]["beauty"])
    fill = {"name": name, "brand": product.brand or name, "family": sem.content.family, "offer": offer or "", **words}
    shots, b_i, f_i = [], 0, 0
    for i, role in enumerate(roles):
        if role == "hook":
            options = copy["hook"][mood]
            msg = options[ctx.seed % len(options)].format(**fill)
            idea = f"{sem.creative.preset} opener: the {sem.content.product_type} revealed"
        elif role == "product":
            msg = copy["product"][0 if product.brand is None else (ctx.seed % 2) * 2].format(**fill)
            idea = f"hero packshot of the {sem.content.product_type}"
        elif role == "benefit":
            benefit = benefits[b_i % len(benefits)]
            b_i += 1
            msg = copy["benefit"][(b_i - 1 + ctx.seed) % len(copy["benefit"])].format(
                Benefit=benefit[:1].upper() + benefit[1:], **fill
            )
            idea = f"the product with the benefit '{benefit}' in type"
        elif role == "proof":
            fact = facts[f_i] if f_i < len(facts) else None  # each fact once; no invented claims
            f_i += 1
            msg = copy["proof"][0].format(fact=fact[:1].upper() + fact[1:]) if fact else copy["proof"][1]
            idea = f"product detail that shows: {fact}" if fact else "close-up of the product's details"
        else:
            cta = copy["cta"][mood]
            msg = f"{cta}." + (
                " " + copy["offer_line"]["discount" if product.discount_pct else "price"].format(offer=offer)
                if offer
                else ""
            )
            idea = "product with the call-to-action button"
        shots.append(ShotBrief(index=i, role=role, message=msg, visual_idea=idea))
    c = sem.creative
    return Brief(
        content_instruction=(
            f"Advertise {name} ({sem.content.family}, {sem.content.product_type}) by {product.brand or 'the brand'}; "
            f"lead with {benefits[0]}; audience interest near: {', '.join(sem.content.keywords[:4])}."
        ),
        creative_instruction=(
            f"{c.preset.replace('-', ' ')} style: {', '.join(c.descriptors)}; "
            f"{c.music_genre} at {c.tempo_bpm:.0f} bpm; "
            f"{c.typeface} type; palette {' '.join(c.palette[:3])}."
        ),
        duration_s=ctx.settings.duration_s,
        headline=name,
        offer=offer,
        cta=copy["cta"][mood],
        shots=tuple(shots),
    )


# --------------------------------------------------------------------------------------------------------
# nodes
# --------------------------------------------------------------------------------------------------------


def decode_node(state: VideoState, runtime: Runtime) -> dict:
    """D-SID → Semantics (content: what to say; creative: how it looks and sounds)."""
    rc = runtime.context
    sem = rc.space.decode(state.request.dsid, state.request.product)
    rc.run_dir.joinpath("plans").mkdir(parents=True, exist_ok=True)
    rc.run_dir.joinpath("plans", "semantics.json").write_text(sem.model_dump_json(indent=2))
    rc.emit("decode_sids", f"{sem.dsid} → {sem.content.product_type} / {sem.creative.preset}")
    return {"semantics": sem}


def instruct_node(state: VideoState, runtime: Runtime) -> dict:
    rc = runtime.context
    ctx = rc.agent_context("instruct", state)
    brief = rc.policy.instruct(ctx)
    rc.run_dir.joinpath("plans", "brief.json").write_text(brief.model_dump_json(indent=2))
    rc.emit("instruct", f"brief with {len(brief.shots)} shots")
    return {"brief": brief, "notes": ctx.notes}
