"""Grounding: is every line a viewer sees or hears true of the product?

Each line is labelled against the product's fact sheet:
- neutral: once the product's name, brand and offer are set aside, only words that make no claim remain
  (the words of the vocabulary's hooks, CTAs and neutral lines, and function words);
- supported: its remaining words all stand in one claim, attribute or field of the product's own text (the
  span is kept), and it does not assert what the text negates ("fragrance" for a fragrance-free product);
- unsupported: anything else. An unsupported line is a violation of the agent that wrote it.

A line is also checked against ad policy (`prompts/ad_policy.json`), with the product's on-screen name and
brand set aside: a line true of the product can still be one no platform runs ("Guaranteed results").
"""

from __future__ import annotations

import functools
import re
import string

from recgen.schemas import AgentName, Brief, ClaimCheck, FactSheet, SourceSpan
from recgen.sid.ad_policy import breach
from recgen.vocabulary import VOCAB

# function words and ad phrasing that assert nothing about a product
_FUNCTION = frozenset(
    {
        *("a", "an", "and", "the", "of", "for", "with", "to", "in", "on", "by", "from", "at", "or", "is", "it"),
        *("its", "it's", "this", "that", "these", "those", "your", "you", "our", "we", "my", "me", "i", "be"),
        *("are", "was", "all", "any", "every", "each", "more", "most", "so", "as", "up", "out", "into", "over"),
        *("very", "just", "one", "here", "there", "now", "today", "only", "get", "got", "yours", "see", "look"),
        *("try", "new", "meet", "shop", "discover", "learn", "claim", "deal", "off", "price", "no", "not"),
    }
)
_NEGATORS = r"(?:no|non|not|without|zero|free of)"


def _stem(word: str) -> str:
    word = word.lower().strip("'’-")
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def words_of(text: str) -> list[str]:
    found = re.findall(r"[\w%$€£.]+(?:['’-][\w]+)*", text.lower())
    return [_stem(w.strip(".")) for w in found if w.strip(".")]


@functools.cache
def _neutral_words() -> frozenset[str]:
    """Every word of the vocabulary's claim-free phrasing: hooks, CTAs, templates, neutral lines (the family
    words — 'skin', 'nail routine' — are neutral only for a product of that family, see `label_line`)."""
    c = VOCAB.copy_
    texts = [h for m in VOCAB.moods.values() for h in (*m.hooks, *m.claim_hooks, m.cta)]
    texts += [*c.product, *c.benefit, *c.proof, *c.neutral, *c.offer_line.values()]
    texts += [c.unsaid_name, c.kind_hook, c.kind_line, c.brand_line, c.one_word, c.name_line]
    fields = {f for t in texts for _, f, _, _ in string.Formatter().parse(t) if f}
    plain = " ".join(re.sub(r"\{\w+\}", " ", t) for t in texts)
    return frozenset(words_of(plain)) | frozenset(_FUNCTION) | frozenset(map(str.lower, fields))


def _sources(facts: FactSheet) -> list[tuple[SourceSpan, set[str], str]]:
    spans = [(c.source, set(words_of(c.text)), c.text) for c in facts.claims]
    spans += [(a.source, set(words_of(a.text)), a.text) for a in facts.attributes]
    spans.append((SourceSpan(field="title", start=0, end=len(facts.title)), set(words_of(facts.title)), "the title"))
    if facts.description:
        whole = SourceSpan(field="description", start=0, end=len(facts.description))
        spans.append((whole, set(words_of(facts.description)), "the description"))
    return spans


def _contradiction(text: str, facts: FactSheet) -> str | None:
    """The line names something the product's text says it is free of, without negating it itself."""
    low = text.lower()
    for a in facts.attributes:
        if not a.negated:
            continue
        term = re.escape(a.name)
        if re.search(rf"(?<![a-z]){term}", low) and not re.search(
            rf"{term}[\s-]*free|{_NEGATORS}[\s-]+(?:\w+\s)?{term}", low
        ):
            return f"the product is '{a.text}'"
    return None


def content_words(text: str, facts: FactSheet, offer: str | None = None) -> list[str]:
    """The line's words that could claim something: without the product's name, brand, kind, family words,
    the offer, and the vocabulary's claim-free phrasing."""
    family = VOCAB.copy_.family_words.get(facts.family)
    family_words = " ".join(family.model_dump().values()) if family else ""
    kind = facts.kind if facts.kind != "unknown" else ""  # from the product's own category path or title
    own = set(words_of(f"{facts.name} {facts.brand or ''} {offer or ''} {family_words} {kind}"))
    return [w for w in words_of(text) if w not in own and w not in _neutral_words()]


def fine_print_sold(text: str, facts: FactSheet, offer: str | None = None) -> str | None:
    """The warning or notice of the product's text that the line sells with ('May cause irritation' as a
    benefit), when its claiming words all come from one and from no selling claim."""
    content = set(content_words(text, facts, offer))
    if not content or any(content <= set(words_of(c.text)) for c in facts.claims):
        return None
    return next((c.text for c in facts.fine_print if content <= set(words_of(c.text))), None)


def label_line(text: str, facts: FactSheet, offer: str | None = None) -> tuple[str, SourceSpan | None, str]:
    """(label, supporting span, reason) for one line."""
    contradiction = _contradiction(text, facts)
    if contradiction:
        return "unsupported", None, f"contradicts the text: {contradiction}"
    content = content_words(text, facts, offer)
    if not content:
        return "neutral", None, ""
    sources = _sources(facts)
    for span, words, quote in sources:
        if all(w in words for w in content):
            return "supported", span, f"from {quote!r}"
    missing = sorted({w for w in content if not any(w in s[1] for s in sources)})
    reason = f"not in the product's text: {', '.join(missing)}" if missing else "its words come from different claims"
    return "unsupported", None, reason


def policy_breach(text: str, facts: FactSheet, offer: str | None = None) -> tuple[str, str] | None:
    """(rule id, reason) when the line breaks ad policy outside the product's name and brand; with an offer
    of the request's own, offer wording is the caller's to say."""
    rest = text
    for own in sorted(filter(None, (facts.name, facts.brand)), key=len, reverse=True):
        rest = re.sub(re.escape(own), " ", rest, flags=re.I)
    hit = breach(rest, offer=bool(offer))
    if hit is None:
        return None
    rule, words = hit
    return rule.id, f"ad policy ({rule.id}): '{words}' — {rule.reason}"


def _check(text: str, where, agent: AgentName, facts: FactSheet, offer: str | None) -> ClaimCheck:
    label, span, reason = label_line(text, facts, offer)
    policy = policy_breach(text, facts, offer)
    if policy is not None:
        return ClaimCheck(text=text, where=where, agent=agent, label="unsupported", reason=policy[1], policy=policy[0])
    fine = fine_print_sold(text, facts, offer)
    if fine is not None:
        reason = f"sells with a warning or notice of the product's text ('{fine}'): small print at most"
        return ClaimCheck(text=text, where=where, agent=agent, label=label, source=span, reason=reason, fine_print=True)
    return ClaimCheck(text=text, where=where, agent=agent, label=label, source=span, reason=reason)


def author(text: str, brief_texts: list[str], fallback: AgentName) -> AgentName:
    """The instruction model wrote a line the brief holds (or a shortening of it); else the agent that shows it."""
    words = set(words_of(text))
    return "instruct" if any(words <= set(words_of(b)) for b in brief_texts) else fallback


def check_plan(
    facts: FactSheet,
    brief: Brief,
    voice: list[str],
    headlines: list[str],
    subtitles: list[str],
    stickers: list[str],
    cta: str | None,
) -> list[ClaimCheck]:
    """Every line of a draft, labelled, with the agent that wrote it. Subtitles that only show a voice line's
    words are judged with that line."""
    brief_texts = [brief.headline, *(s.message for s in brief.shots)]
    spoken = [set(words_of(v)) for v in voice]
    out = [_check(v, "voice", author(v, brief_texts, "audio"), facts, brief.offer) for v in voice]
    out += [_check(h, "headline", author(h, brief_texts, "visual"), facts, brief.offer) for h in headlines if h]
    out += [
        _check(s, "subtitle", "effects", facts, brief.offer)
        for s in subtitles
        if not any(set(words_of(s)) <= v for v in spoken)
    ]
    out += [_check(s, "sticker", "effects", facts, brief.offer) for s in stickers]
    if cta:
        out.append(_check(cta, "cta", author(cta, [brief.cta], "effects"), facts, brief.offer))
    return out


def carries_product(text: str, facts: FactSheet, offer: str | None = None) -> bool:
    """Whether a line says something of this product: a word of its name, brand, kind, colour, claims,
    attributes or offer (stopwords aside). "Take a good look" carries nothing; "Russian Navy Suede." does."""
    own = [facts.name, facts.brand or "", facts.kind if facts.kind != "unknown" else "", offer or ""]
    own += [c.text for c in facts.claims] + [a.text for a in facts.attributes]
    own += [facts.colour.phrase] if facts.colour else []
    words = set(words_of(" ".join(own))) - _FUNCTION
    return bool(words & set(words_of(text)))


def filler_lines(
    claims: list[ClaimCheck], facts: FactSheet, offer: str | None = None, ctas: tuple[str, ...] = ()
) -> list[str]:
    """The distinct lines a viewer sees or hears that carry nothing of the product (the call to action
    aside, shown or spoken: it may be the one line that only sells). A line spoken as a cut of one shown
    ('Your day.' under 'Made for your day.') is that line, counted once."""
    cta_words = [set(words_of(c)) for c in ctas if c]
    texts = dict.fromkeys(" ".join(c.text.split()) for c in claims if c.where != "cta" and c.text.strip())
    empty = [
        t for t in texts if not carries_product(t, facts, offer) and not any(set(words_of(t)) <= w for w in cta_words)
    ]
    words = [set(words_of(t)) for t in empty]
    return [
        t for i, t in enumerate(empty)
        if not any(words[i] < w or (words[i] == w and j < i) for j, w in enumerate(words) if j != i)
    ]  # fmt: skip


def unsaid_facts(claims: list[ClaimCheck], facts: FactSheet) -> list[str]:
    """The product's selling claims, attributes and brand that no line of the ad says (its words all in one
    line): what a line that says nothing could have said instead."""
    said = [set(words_of(c.text)) for c in claims]
    own = [c.text for c in facts.claims] + [a.text for a in facts.attributes] + [facts.brand or ""]
    return [t for t in own if t and words_of(t) and not any(set(words_of(t)) <= s for s in said)]


def repeated_lines(voice: list[str], cta_texts: list[str]) -> list[str]:
    """Voice lines said more than once (the call to action may be)."""
    seen, out = set(), []
    ctas = {" ".join(words_of(c)) for c in cta_texts}
    for v in voice:
        key = " ".join(words_of(v))
        if key in seen and not any(key.startswith(c) for c in ctas):
            out.append(v)
        seen.add(key)
    return out
