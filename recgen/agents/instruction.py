"""Instruction model: decoded D-SIDs + product facts → a shot-level brief."""

from __future__ import annotations

from itertools import zip_longest
from typing import TYPE_CHECKING

from recgen.agents.context import AgentContext
from recgen.schemas import Brief, FactSheet, Product, Semantics, ShotBrief, VideoState
from recgen.sid.facts import foreign_words, sayable
from recgen.vocabulary import VOCAB

if TYPE_CHECKING:
    from recgen.runtime import RunContext


def offer_text(product: Product) -> str | None:
    if product.discount_pct:
        return f"{product.discount_pct}% OFF"
    if product.price:
        sym = {"USD": "$", "EUR": "€", "GBP": "£"}.get(product.currency, product.currency + " ")
        return f"{sym}{product.price:.2f}"
    return None


def shot_count(sem: Semantics, duration: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(duration / sem.creative.shot_seconds), max(VOCAB.structures)))


SHORT_CLAIM_WORDS = 6


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".!?")
    return text[:1].upper() + text[1:]


class _Copy:
    """The product's own claims and attributes, each said once, in an order that uses title and description."""

    def __init__(self, facts: FactSheet) -> None:
        # every line is spoken, and the voices are English: a claim in another script is shown, not said
        title = [c.text for c in facts.claims if c.source.field == "title" and not foreign_words(c.text)]
        desc = [c.text for c in facts.claims if c.source.field == "description" and not foreign_words(c.text)]
        claims = [c for pair in zip_longest(title, desc) for c in pair if c]
        # short claims first: a line that fits its shot is spoken, a long one may be left silent
        self.claims = sorted(claims, key=lambda c: len(c.split()) > SHORT_CLAIM_WORDS)
        self.attributes = [a.text for a in facts.attributes if not foreign_words(a.text)]
        self.used: set[str] = {facts.name.lower()}
        self.neutral = list(VOCAB.copy_.neutral)

    def _take(self, pool: list[str]) -> str | None:
        for text in pool:
            if text.lower() not in self.used and not any(text.lower() in u for u in self.used):
                self.used.add(text.lower())
                return text
        return None

    def claim(self) -> str | None:
        return self._take(self.claims)

    def fact(self) -> str | None:
        return self._take(self.attributes) or self._take(self.claims)

    def filler(self) -> str:
        """A line that makes no claim, never the same one twice."""
        return self.neutral.pop(0) if self.neutral else "Take a look."


def _message(role: str, ctx: AgentContext, fill: dict, lines: _Copy, offer: str | None) -> tuple[str, str]:
    """One shot's line and visual idea. Hooks and CTAs make no product claim; benefits and proofs say only
    what the product's own text says."""
    copy, mood, kind = VOCAB.copy_, VOCAB.moods[ctx.semantics.creative.mood], ctx.semantics.content.product_type
    if role == "hook":
        return mood.hooks[ctx.seed % len(mood.hooks)].format(**fill), f"opener: the {kind} revealed"
    if role == "product":
        if not fill["name"]:
            return copy.unsaid_name, f"hero packshot of the {kind}, its name in type"
        template = copy.product[0 if fill["brand"] is None else (ctx.seed % 2) * 2]
        return template.format(**fill), f"hero packshot of the {kind}"
    if role == "benefit":
        claim = lines.claim()
        if claim is None:
            return lines.filler(), f"the {kind} up close"
        text = copy.benefit[ctx.seed % len(copy.benefit)].format(**{**fill, "Benefit": _sentence(claim)})
        return text, f"the product with '{claim}' in type"
    if role == "proof":
        fact = lines.fact()
        if fact is None:
            line = copy.proof[1] if copy.proof[1].lower() not in lines.used else lines.filler()
            lines.used.add(line.lower())
            return line, "close-up of the details"
        return copy.proof[0].format(fact=_sentence(fact)), f"product detail that shows: {fact}"
    offer_line = copy.offer_line["discount" if ctx.product.discount_pct else "price"].format(offer=offer)
    return f"{mood.cta}." + (f" {offer_line}" if offer else ""), "product with the call-to-action button"


def builtin_brief(ctx: AgentContext) -> Brief:
    sem, facts = ctx.semantics, ctx.semantics.content.facts
    copy, mood = VOCAB.copy_, VOCAB.moods[sem.creative.mood]
    offer = offer_text(ctx.product)
    n = shot_count(sem, ctx.settings.duration_s, ctx.settings.min_shots, ctx.settings.max_shots)
    words = copy.family_words.get(facts.family, copy.family_words["beauty"])
    name, brand = sayable(facts.name), sayable(facts.brand or "") or None
    fill = {"name": name, "brand": brand, "family": facts.family, "offer": offer or ""}
    fill |= words.model_dump()
    foreign = foreign_words(f"{facts.title} {facts.brand or ''}")
    if foreign:
        ctx.notes.append(
            f"instruct: the voice is English and cannot say {' '.join(dict.fromkeys(foreign))[:60]!r}; "
            "those words are shown, not said" + ("" if name else f" (the voice says {copy.unsaid_name!r})")
        )
    lines = _Copy(facts)
    shots = []
    for i, role in enumerate(VOCAB.structures[n]):
        msg, idea = _message(role, ctx, fill, lines, offer)
        shots.append(ShotBrief(index=i, role=role, message=msg, visual_idea=f"{sem.creative.preset} {idea}"))
    c = sem.creative
    lead = f"lead with '{facts.claims[0].text}'" if facts.claims else "make no claim beyond its name"
    return Brief(
        content_instruction=(
            f"Advertise {facts.name} ({facts.family}, {facts.kind}) by {facts.brand or 'an unnamed brand'}; "
            f"{lead}; say only what its own text says; audience interest near: {', '.join(sem.content.keywords[:4])}."
        ),
        creative_instruction=(
            f"{c.preset.replace('-', ' ')} style: {', '.join(c.descriptors)}; "
            f"{c.music_genre} at {c.tempo_bpm:.0f} bpm; "
            f"{c.typeface} type; palette {' '.join(c.palette[:3])}."
        ),
        duration_s=ctx.settings.duration_s,
        headline=facts.name,
        offer=offer,
        cta=mood.cta,
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
