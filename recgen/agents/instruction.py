"""Instruction model: decoded D-SIDs + product facts → a shot-level brief."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from recgen.agents.context import AgentContext
from recgen.schemas import Brief, FactSheet, Product, Semantics, ShotBrief, VideoState
from recgen.sid.claim_types import is_selling, strength
from recgen.sid.facts import foreign_words, is_generic_kind, sayable
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
SECONDS_PER_SYLLABLE = 0.2  # the packaged voice at rate 1.0, about, plus its lead and trailing silence;
SPEECH_PAD_S = 0.3  # checked on four lines only (estimates 0.03–0.23 s off the Piper voice's own lengths)
SHOT_MARGIN_S = 0.37  # the audio agent's lead-in and tail


def speech_seconds(text: str, rate: float = 1.0) -> float:
    """About how long the voice takes to say `text`: syllables from vowel groups, an acronym letter by
    letter, a number digit by digit. The instruction model has no voice; it writes lines that will fit."""
    syllables = 0
    for word in re.findall(r"[A-Za-z]+|\d+", text):
        if word.isdigit():
            syllables += round(1.5 * len(word))
        elif word.isupper() and len(word) <= 4:
            syllables += len(word) + 2 * word.count("W")
        else:
            syllables += max(1, len(re.findall(r"[aeiouy]+", word.lower())) - word.lower().endswith("e"))
    return (syllables * SECONDS_PER_SYLLABLE + SPEECH_PAD_S) / rate


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".!?")
    return text[:1].upper() + text[1:]


class _Copy:
    """The product's own selling claims (warnings and notices never), each said once, strongest first: the
    hook takes the strongest benefit, the later shots the rest; when the text runs out, lines name the
    product's brand, kind or the product itself before any line that says nothing of it."""

    def __init__(self, facts: FactSheet, windows: dict[str, float] | None = None, rate: float = 1.0) -> None:
        # every line is spoken, and the voices are English: a claim in another script is shown, not said
        selling = [c for c in facts.claims if is_selling(c.type) and not foreign_words(c.text)]
        # strongest type first; within a type, short claims first (a line that fits its shot is spoken)
        selling.sort(key=lambda c: (-strength(c.type), len(c.text.split()) > SHORT_CLAIM_WORDS))
        self.claims = [(c.text, c.type) for c in selling]
        self.types = {c.text.lower(): c.type for c in selling}
        self.attributes = [a.text for a in facts.attributes if not foreign_words(a.text)]
        self.used: set[str] = {facts.name.lower()}
        self.kind = facts.kind if facts.kind != "unknown" and not is_generic_kind(facts.kind) else ""
        self.neutral = list(VOCAB.copy_.neutral)
        self.windows, self.rate = windows or {}, rate  # seconds each role's shot has for its line

    def fits(self, text: str, role: str = "benefit") -> bool:
        return role not in self.windows or speech_seconds(text, self.rate) <= self.windows[role]

    def _free(self, text: str) -> bool:
        low = text.lower()
        return low not in self.used and not any(low in u for u in self.used)

    def hook_claim(self, benefit: bool = True) -> str | None:
        """The strongest benefit that fits the hook's shot (what a viewer stops for); with `benefit` False, a
        feature or ingredient that fits (a use, variant or size makes a weak opener)."""
        for text, kind in self.claims:
            wanted = kind == "benefit" if benefit else kind in ("feature", "ingredient")
            if wanted and self._free(text) and self.fits(text, "hook"):
                self.used.add(text.lower())
                return text
        return None

    def claim(self, sizes: bool = True, role: str = "benefit") -> str | None:
        """The strongest claim left, one that fits its shot first (a line too long to say is left silent)."""
        for fits in (True, False):
            for text, kind in self.claims:
                if self._free(text) and (sizes or kind != "size") and (self.fits(text, role) or not fits):
                    self.used.add(text.lower())
                    return text
        return None

    def fact(self) -> str | None:
        for text in self.attributes:
            if self._free(text):
                self.used.add(text.lower())
                return text
        return self.claim()

    def said(self, claim: str, fill: dict) -> str:
        """A claim as a line: a one-word claim goes with the kind ('Hydrating serum.'), not as a fragment."""
        one = len(claim.split()) == 1 and self.kind and self.kind.lower() not in claim.lower() and claim.isalpha()
        if one:
            return VOCAB.copy_.one_word.format(**{**fill, "Benefit": _sentence(claim), "kind": self.kind})
        return f"{_sentence(claim)}."

    def about(self, fill: dict) -> str:
        """A line of this product when its text has no claim left: who makes it, what kind it is, the product
        close up; a line that says nothing of it only after those."""
        copy = VOCAB.copy_
        for line in (
            copy.brand_line.format(**fill) if fill["brand"] else None,  # a brand the voice can say
            copy.kind_line.format(**{**fill, "Kind": _sentence(self.kind)}) if self.kind else None,
            copy.name_line.format(**fill) if fill["name"] else None,
        ):
            if line and line.lower() not in self.used:
                self.used.add(line.lower())
                return line
        return self.neutral.pop(0) if self.neutral else "Take a look."


def _things_to_say(facts: FactSheet) -> int:
    """Lines of this product's own the middle shots can carry: its selling claims, attributes, brand and
    kind (the name is the product shot's; the kind is the hook's when no claim leads it)."""
    kind = facts.kind != "unknown" and not is_generic_kind(facts.kind) and bool(facts.claims)
    return len(facts.claims) + len(facts.attributes) + bool(facts.brand) + kind


def _message(role: str, ctx: AgentContext, fill: dict, lines: _Copy, offer: str | None) -> tuple[str, str, str | None]:
    """One shot's line, visual idea and the product's claim it carries (None: no claim). The hook leads
    with the product's strongest claim; benefits and proofs say only what the product's own text says; only
    the CTA (or, for a product with no claim, the hook) may carry nothing of the product."""
    copy, mood = VOCAB.copy_, VOCAB.moods[ctx.semantics.creative.mood]
    kind = ctx.semantics.content.product_type.replace("_", " ")  # the model's family, in words: "hair brush"
    if role == "hook":
        # what it does; else what it is (its kind); else a feature; else who makes it
        claim = lines.hook_claim() or (None if lines.kind else lines.hook_claim(benefit=False))
        if claim is not None:
            hook = mood.claim_hooks[ctx.seed % len(mood.claim_hooks)]
            text = hook.format(**{**fill, "Claim": _sentence(claim), "claim": claim.lower()})
            text = text if lines.fits(text, "hook") else f"{_sentence(claim)}."  # the claim alone, if that fits
            return text, f"opener: the {kind} with '{claim}' in type", claim
        if lines.kind:  # no claim to lead with: the hook says what it is (the kind line is then spent)
            text = copy.kind_line.format(**{**fill, "Kind": _sentence(lines.kind)})
            lines.used.add(text.lower())
            return text, f"opener: the {kind} revealed", None
        if fill["brand"]:  # or who makes it (the brand line is then spent)
            lines.used.add(copy.brand_line.format(**fill).lower())
            return copy.brand_hook.format(**fill), f"opener: the {kind} revealed", None
        return copy.kind_hook.format(**fill), f"opener: the {kind} revealed", None  # the one line of no product
    if role == "product":
        if not fill["name"]:
            return copy.unsaid_name, f"hero packshot of the {kind}, its name in type", None
        template = copy.product[0 if fill["brand"] is None else (ctx.seed % 2) * 2]
        return template.format(**fill), f"hero packshot of the {kind}", None
    if role == "benefit":
        claim = lines.claim(sizes=False)  # a size is a detail (proof), not a benefit
        if claim is None:
            return lines.about(fill), f"the {kind} up close", None
        return lines.said(claim, fill), f"the product with '{claim}' in type", claim
    if role == "proof":
        fact = lines.fact()
        if fact is None:
            return lines.about(fill), "close-up of the details", None
        line = copy.proof[0].format(fact=_sentence(fact))
        return line, f"product detail that shows: {fact}", fact
    offer_line = copy.offer_line["discount" if ctx.product.discount_pct else "price"].format(offer=offer)
    cta = f"{mood.cta}." + (f" {offer_line}" if offer else "")
    return cta, "product with the call-to-action button", None


def builtin_brief(ctx: AgentContext) -> Brief:
    sem, facts = ctx.semantics, ctx.semantics.content.facts
    copy, mood = VOCAB.copy_, VOCAB.moods[sem.creative.mood]
    offer = offer_text(ctx.product)
    n = shot_count(sem, ctx.settings.duration_s, ctx.settings.min_shots, ctx.settings.max_shots)
    n = max(ctx.settings.min_shots, min(n, 3 + _things_to_say(facts)))  # fewer, longer shots when little to say
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
    roles = VOCAB.structures[n]
    total = sum(VOCAB.roles[r].weight for r in roles)
    # 0.9: transitions and the visual agent's rounding leave a shot a little less than its weight's share
    windows = {r: 0.9 * ctx.settings.duration_s * VOCAB.roles[r].weight / total - SHOT_MARGIN_S for r in roles}
    lines = _Copy(facts, windows, sem.creative.speaking_rate)
    shots = []
    for i, role in enumerate(VOCAB.structures[n]):
        msg, idea, claim = _message(role, ctx, fill, lines, offer)
        kind = lines.types.get((claim or "").lower())  # an attribute ('Vegan') is said, but is not a claim
        shots.append(
            ShotBrief(
                index=i,
                role=role,
                message=msg,
                visual_idea=f"{sem.creative.preset} {idea}",
                claim=claim if kind else "",
                claim_type=kind,
            )  # fmt: skip
        )
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
