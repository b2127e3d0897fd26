"""Instruction model: decoded D-SIDs + product facts → a shot-level brief."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from recgen.agents.context import AgentContext
from recgen.schemas import Brief, Product, Semantics, ShotBrief, VideoState
from recgen.vocabulary import VOCAB

if TYPE_CHECKING:
    from recgen.runtime import RunContext


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
    return max(lo, min(hi, round(duration / sem.creative.shot_seconds), max(VOCAB.structures)))


def builtin_brief(ctx: AgentContext) -> Brief:
    copy, mood_style = VOCAB.copy_, VOCAB.moods[ctx.semantics.creative.mood]
    sem, product = ctx.semantics, ctx.product
    name = short_name(product)
    benefits = list(sem.content.benefits) or [
        copy.generic_benefits.get(sem.content.family, copy.generic_benefits["beauty"])
    ]
    facts = product_facts(product)
    offer = offer_text(product)
    n = shot_count(sem, ctx.settings.duration_s, ctx.settings.min_shots, ctx.settings.max_shots)
    roles = VOCAB.structures[n]
    words = copy.family_words.get(sem.content.family, copy.family_words["beauty"])
    fill = {
        "name": name,
        "brand": product.brand or name,
        "family": sem.content.family,
        "offer": offer or "",
        **words.model_dump(),
    }
    shots, b_i, f_i = [], 0, 0
    for i, role in enumerate(roles):
        if role == "hook":
            options = mood_style.hooks
            msg = options[ctx.seed % len(options)].format(**fill)
            idea = f"{sem.creative.preset} opener: the {sem.content.product_type} revealed"
        elif role == "product":
            msg = copy.product[0 if product.brand is None else (ctx.seed % 2) * 2].format(**fill)
            idea = f"hero packshot of the {sem.content.product_type}"
        elif role == "benefit":
            benefit = benefits[b_i % len(benefits)]
            b_i += 1
            msg = copy.benefit[(b_i - 1 + ctx.seed) % len(copy.benefit)].format(
                Benefit=benefit[:1].upper() + benefit[1:], **fill
            )
            idea = f"the product with the benefit '{benefit}' in type"
        elif role == "proof":
            fact = facts[f_i] if f_i < len(facts) else None  # each fact once; no invented claims
            f_i += 1
            msg = copy.proof[0].format(fact=fact[:1].upper() + fact[1:]) if fact else copy.proof[1]
            idea = f"product detail that shows: {fact}" if fact else "close-up of the product's details"
        else:
            cta = mood_style.cta
            msg = f"{cta}." + (
                " " + copy.offer_line["discount" if product.discount_pct else "price"].format(offer=offer)
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
        cta=mood_style.cta,
        shots=tuple(shots),
    )


# --------------------------------------------------------------------------------------------------------
# nodes
# --------------------------------------------------------------------------------------------------------


def instruct_node(state: VideoState, rc: RunContext) -> dict:
    ctx = rc.agent_context("instruct", state)
    brief = rc.policy.instruct(ctx)
    rc.folder.write_plan("brief", brief)
    rc.emit("instruct", f"brief with {len(brief.shots)} shots")
    return {"brief": brief, "notes": ctx.notes}
