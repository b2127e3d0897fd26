"""Product text → a FactSheet: what an ad may say about the product, each piece traceable to its own text.

- The title and description are cleaned of markup and HTML entities.
- The brand is kept only where it is a name: never a product-type word, a number or a symbol.
- The kind (and with it the family and packshot) is the kind of `prompts/product_kinds.json` that the title
  names, else the nearest by text-encoder similarity, else none: an unknown product gets the neutral packshot
  and neutral copy, never a guessed claim.
- Attributes keep their negation ("fragrance free" is fragrance, negated), and claims are the title's
  segments and the description's sentences, each with its character span.
"""

from __future__ import annotations

import functools
import html
import json
import re
import unicodedata
from collections.abc import Callable
from importlib.resources import files

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recgen.schemas import Attribute, Claim, DroppedClaim, FactSheet, Product, SourceSpan
from recgen.sid.ad_policy import breach, strip_policy_words
from recgen.sid.claim_types import claim_type, is_selling, split_size
from recgen.sid.colour_words import colour_of

KIND_MIN_SIMILARITY = 0.52  # below this the nearest kind is not trusted: the product is "unknown"
MAX_CLAIM_WORDS = 14  # longer description sentences are cut at their first clause, or left out
_PLACEHOLDER = re.compile(r"\s*(?:title|item|product|name|sku)[\s_-]*\d+\s*", re.I)  # 'title_5336': a data gap
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_SEGMENT = re.compile(r"\s+[-–—|]\s+|[,;()\[\]]|\s/\s|:\s")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_NEGATED = re.compile(
    r"\b(?P<free>[a-z][a-z]{2,}(?:\s[a-z]{3,})?)[\s-]free\b|\b(?:no|without|zero|non)[\s-](?P<no>[a-z][a-z-]{2,}(?:\s(?!and\b|or\b|with\b)[a-z]{3,}){0,2})\b",
    re.I,
)
_POSITIVE = re.compile(
    r"\b(?:spf\s?\d{1,3}|vegan|organic|waterproof|water[\s-]resistant|cruelty[\s-]free|hypoallergenic|"
    r"dermatologist[\s-]tested|\d{1,3}\s?%\s?[a-z]+(?:\s[a-z]+)?|pack of \d+|\d+\s(?:colou?rs?|shades|pieces|pcs))\b",
    re.I,
)
# words that name a kind of product, a family or a common property: never a brand
_NOT_BRAND = {
    "new", "the", "spf", "nail", "nails", "vitamin", "organic", "natural", "vegan", "professional", "pure",
    "pack", "set", "kit", "premium", "luxury", "best", "hair", "skin", "face", "body", "lip", "eye", "gel",
    "uv", "led", "kids", "baby", "men", "women", "mens", "womens", "strawberry", "original", "mini",
    # descriptors that lead many titles: size, colour, material, power, use
    "wireless", "bluetooth", "portable", "electric", "rechargeable", "cordless", "waterproof", "travel",
    "large", "small", "long", "short", "big", "black", "white", "red", "pink", "blue", "green", "gold",
    "silver", "clear", "soft", "hard", "silk", "cotton", "bamboo", "wooden", "metal", "glass", "plastic",
    "hot", "cold", "daily", "deluxe", "ultra", "super", "extra", "classic", "handmade", "unisex",
    # what a marketplace writes where a product has no brand
    "generic", "unbranded", "unknown", "none", "n/a", "na", "no brand", "nobrand", "oem", "does not apply",
    "other", "various", "misc", "no name",
}  # fmt: skip


class _Kind(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    family: str
    packshot: str
    phrases: tuple[str, ...] = Field(min_length=1)
    drawn: bool = True
    generic: bool = False  # stands for a whole category: reached only from a category path


@functools.cache
def kinds() -> tuple[_Kind, ...]:
    data = json.loads(files("recgen.prompts").joinpath("product_kinds.json").read_text(encoding="utf-8"))
    return tuple(_Kind.model_validate(k) for k in data["kinds"])


@functools.cache
def _category_kinds() -> tuple[dict[str, _Kind], frozenset[str]]:
    data = json.loads(files("recgen.prompts").joinpath("category_kinds.json").read_text(encoding="utf-8"))
    by_name = {k.name: k for k in kinds()}
    unknown = sorted(set(data["segments"].values()) - set(by_name))
    if unknown:
        raise ValueError(f"category_kinds.json names kinds that product_kinds.json lacks: {unknown}")
    return {seg: by_name[name] for seg, name in data["segments"].items()}, frozenset(data["stop"])


def kind_of_path(path: tuple[str, ...] | list[str]) -> _Kind | None:
    """The kind an Amazon category path names: its most specific segment found in category_kinds.json
    ('Parent > Segment' keys before bare ones); segments of another department end the path."""
    table, stop = _category_kinds()
    segs: list[str] = []
    for seg in path:
        if seg in stop:
            break
        segs.append(seg)
    for i in range(len(segs) - 1, -1, -1):
        for j in range(i + 1):  # the longest qualified key first
            key = " > ".join(segs[j : i + 1])
            if key in table:
                return table[key]
    return None


def clean_markup(text: str) -> str:
    """Entities decoded (twice: raw data is often double-escaped), tags removed, control characters and
    runs of whitespace squeezed."""
    text = html.unescape(html.unescape(text or ""))
    text = _TAG.sub(" ", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def strip_symbols(text: str) -> str:
    """Emoji and other pictographs out (they are decoration, and our fonts cannot draw them)."""
    return re.sub(r"\s+", " ", "".join(ch for ch in text if unicodedata.category(ch) not in ("So", "Sk", "Cs"))).strip()


def foreign_words(text: str) -> list[str]:
    """Words with letters outside the Latin script: the packaged voices are English and would spell them out
    or garble them (a title in Cyrillic, a katakana word in an English title)."""
    return [
        w for w in text.split() if any(ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN") for ch in w)
    ]


def sayable(text: str) -> str:
    """`text` without the words an English voice cannot say; empty when nothing sayable is left."""
    foreign = set(foreign_words(text))
    kept = " ".join(w for w in text.split() if w not in foreign).strip(" ,.-–:;")
    return kept if any(ch.isalpha() for ch in kept) else ""


def valid_brand(brand: str | None, kind_words: frozenset[str]) -> str | None:
    """A brand is a name: it has letters, is not a number or a symbol, is not a type or property word, and is
    not a marketplace's word for no brand ('Generic')."""
    if not brand:
        return None
    b = strip_symbols(clean_markup(brand)).strip(" ,.-")
    letters = [ch for ch in b if ch.isalpha()]
    if len(letters) < 2 or b.lower() in _NOT_BRAND or b.lower() in kind_words:
        return None
    if all(w.lower() in _NOT_BRAND | kind_words for w in re.findall(r"\w+", b)):
        return None
    return b


@functools.cache
def _kind_words() -> frozenset[str]:
    return frozenset({w for k in kinds() for p in k.phrases for w in p.lower().split()} | {k.family for k in kinds()})


def _phrase_hit(text: str) -> tuple[_Kind, str] | None:
    """The kind whose phrase the text names: the longest phrase wins ('lip gloss' over 'gloss'), and of two
    as long the later one, the head of an English compound ('Cream Blush' is a blush)."""
    low = f" {text.lower()} "
    best: tuple[tuple[int, int], _Kind, str] | None = None
    for k in kinds():
        if k.generic:
            continue
        for p in k.phrases:
            found = list(re.finditer(rf"(?<![a-z]){re.escape(p)}(?:e?s)?(?![a-z])", low))
            m = found[-1] if found else None  # its last mention
            if m is not None and (best is None or (len(p), m.start()) > best[0]):
                best = ((len(p), m.start()), k, p)
    return (best[1], best[2]) if best else None


def classify_kind(
    title: str,
    category: str | None,
    encode: Callable[[list[str]], np.ndarray] | None,
    categories: tuple[str, ...] = (),
):
    """(kind or None, score). A category path decides first (Amazon's paths are reliable); a kind of the
    same family that the title's head names refines it ('Treatments & Masks' + 'Clay Mask' → clay mask),
    and a generic category kind is refined by the whole title too. Without a path: named in the title,
    else in the free-text category, else the nearest by meaning."""
    head = re.split(r"\s(?:for|with)\s", _SEGMENT.split(title)[0], maxsplit=1)[0]  # what it is, not what for
    by_path = kind_of_path(categories) if categories else None
    if by_path is not None:
        for text in (head, title) if by_path.generic else (head,):
            hit = _phrase_hit(text)
            if hit and hit[0].family == by_path.family:
                return hit[0], 1.0
        return by_path, 1.0
    for text, score in ((head, 1.0), (title, 1.0), (category or "", 0.9)):
        hit = _phrase_hit(text)
        if hit:
            return hit[0], score
    if encode is None or not title.strip():
        return None, 0.0
    phrases = [(k, p) for k in kinds() if not k.generic for p in k.phrases]
    sims = _phrase_embeddings(encode) @ encode([title])[0]
    i = int(np.argmax(sims))
    return (phrases[i][0], float(sims[i])) if sims[i] >= KIND_MIN_SIMILARITY else (None, float(sims[i]))


_PHRASE_EMB: dict[int, np.ndarray] = {}


def _phrase_embeddings(encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Every kind phrase embedded once per encoder and process (not re-read for every product)."""
    owner = id(getattr(encode, "__self__", encode))
    if owner not in _PHRASE_EMB:
        _PHRASE_EMB[owner] = encode([f"a {p}" for k in kinds() if not k.generic for p in k.phrases])
    return _PHRASE_EMB[owner]


def _segments(text: str, field: str) -> list[Claim]:
    """The text's segments as typed claims; a size at either end of a segment is a claim of its own, and
    model numbers and lone figures are not claims."""
    out, pos = [], 0
    for part in _SEGMENT.split(text):
        start = text.find(part, pos)
        pos = start + len(part)
        seg = part.strip(" .-–—")
        if seg and start >= 0:
            s0 = start + part.find(seg)
            for a, b in split_size(seg):
                piece = seg[a:b].strip(" .-–—,/")
                if not piece:
                    continue
                p0 = s0 + seg.find(piece, a)
                kind = claim_type(piece)
                if kind != "not_a_claim":
                    span = SourceSpan(field=field, start=p0, end=p0 + len(piece))
                    out.append(Claim(text=piece, source=span, type=kind))
    return out


def _sentences(text: str) -> list[Claim]:
    out, pos = [], 0
    for sent in _SENTENCE.split(text):
        start = text.find(sent, pos)
        pos = start + len(sent)
        body = sent.strip().rstrip(".!?")
        if len(body.split()) > MAX_CLAIM_WORDS:  # a long sentence: its first clause after a strong break only
            body = re.split(r";| - | — ", body)[0].strip()  # (a comma cut leaves fragments: 'offers radiant')
        kind = claim_type(body)
        if 2 <= len(body.split()) <= MAX_CLAIM_WORDS and start >= 0 and kind != "not_a_claim":
            span = SourceSpan(field="description", start=start, end=start + len(body))
            out.append(Claim(text=body, source=span, type=kind))
    return out


def _attributes(fields: dict[str, str]) -> list[Attribute]:
    out: list[Attribute] = []
    for field, text in fields.items():
        for m in _NEGATED.finditer(text):
            name = (m.group("free") or m.group("no")).lower()
            span = SourceSpan(field=field, start=m.start(), end=m.end())
            out.append(Attribute(name=name, negated=True, text=m.group(0), source=span))
        for m in _POSITIVE.finditer(text):
            if not any(a.source.field == field and a.source.start <= m.start() < a.source.end for a in out):
                span = SourceSpan(field=field, start=m.start(), end=m.end())
                out.append(Attribute(name=m.group(0).lower(), text=m.group(0), source=span))
    seen, unique = set(), []
    for a in out:
        if (a.name, a.negated) not in seen:
            seen.add((a.name, a.negated))
            unique.append(a)
    return unique


NAME_MAX_WORDS = 5  # an on-screen name longer than this is parsed down to its product noun, never cut mid-phrase
NAME_MAX_WHOLE = 8  # a name with no product noun and no phrase boundary is kept whole up to this many words
JOINERS = {"for", "with", "and", "of", "in", "&", "-", "to", "by", "from", "on", "a", "the", "+", "or"}
_OPENERS = {'"': '"', "“": "”", "(": ")", "[": "]", "'": "'"}


def _balanced(words: list[str]) -> list[str]:
    """Words with no quote or bracket left open (an opener without its closer is dropped, not the word)."""
    text = " ".join(words)
    for o, c in _OPENERS.items():
        if o == c:
            if text.count(o) % 2 and o != "'":
                text = text.replace(o, "")
        elif text.count(o) != text.count(c):
            text = text.replace(o, "").replace(c, "")
    return text.split()


_NEW_PLACES = {"york", "jersey", "zealand", "orleans", "england", "mexico", "hampshire", "delhi"}


def _bare(text: str) -> str:
    """Letters and digits only, accents folded: 'L'Oréal' and 'LOREAL' are the same brand."""
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode())


def without_brand(title: str, brand: str | None) -> str:
    """The title with the brand that opens it taken off, matched without case or punctuation ("It's A 10
    Miracle …" by "Its a 10" → "Miracle …"); the title as it is when it does not open with the brand."""
    if not brand or not _bare(brand):
        return title
    want, words = _bare(brand), title.split()
    for k in range(1, len(words) + 1):
        got = _bare(" ".join(words[:k]))
        if got == want:
            return " ".join(words[k:])
        if not want.startswith(got):
            break
    return title


def short_name(title: str, brand: str | None, max_words: int = NAME_MAX_WORDS, kind_phrases: tuple = ()) -> str:
    """The on-screen name, parsed from the title's first segment: brand, sizes and seller wording set aside,
    then (when still long) the words up to the product noun the title names ('Mimi's Diva Dryer by Conair'
    → 'Mimi's Diva Dryer'); never ends on a joiner or leaves a quote or bracket open."""
    name = strip_symbols(title)
    name = without_brand(name, brand)
    name = strip_policy_words(re.split(r",| - | – | — |\(|\||:|;|\[", name.strip(" -–—,;:"))[0])
    name = re.sub(r"\b\d+(\.\d+)?[- ]?(oz|ounce|fluid ounce|fl oz|ml|g|pcs)\b\.?", "", name, flags=re.I)
    name = re.sub(r"\bmodel\s+(?:no\.?|number|#)?\s*[\w-]*\d[\w.-]*", "", name, flags=re.I)  # a model number
    words = _balanced(name.split())
    while words and words[0].lower() in {"new", "the"} and (len(words) < 2 or words[1].lower() not in _NEW_PLACES):
        words.pop(0)  # a leading "New" is a flag, "New York" a name
    while len(words) > 1 and words[0].lower() in JOINERS - {"the", "a"}:
        words.pop(0)  # 'Rogaine for Men Hair …' without its brand starts on a joiner
    whole = list(words)
    if len(words) > max_words:
        words = _to_noun(words, max_words, kind_phrases)
    while len(words) > 1 and (
        words[-1].lower().strip(".,") in JOINERS
        or (len(words) < len(whole) and parted_figure(words, whole[len(words)]))
        or not re.search(r"\w", words[-1])
    ):
        words.pop()  # never ends on a joiner, a lone symbol, or a number whose unit is cut off ('Static 1' Inch)
    return " ".join(words).strip(" -,.")


def _to_noun(words: list[str], max_words: int, kind_phrases: tuple = ()) -> list[str]:
    """The words up to and including the product's own noun (its kind's, else any kind's) within reach
    ('Mimi's Diva Dryer by Aquis …' → 'Mimi's Diva Dryer'); without one, up to the last word before a
    joiner (a phrase boundary), else the first `max_words`."""
    low = [w.lower().strip(".,'\"") for w in words]
    reach = min(max_words + 2, len(words))
    # a noun that also starts a kind's phrase ('hair' of 'hair dryer') is a modifier when a word follows it
    modifiers = {p.split()[0] for k in kinds() for p in k.phrases if " " in p}
    for nouns in ({p.split()[-1] for p in kind_phrases}, {p.split()[-1] for k in kinds() for p in k.phrases}):
        ends = [i for i in range(reach) if low[i] in nouns or low[i].rstrip("s") in nouns]
        ends = [i for i in ends if not (low[i] in modifiers and i + 1 < len(words) and low[i + 1] not in JOINERS)]
        if ends:
            return words[: ends[0] + 1] if ends[0] > 0 else words[:max_words]
    joins = [i for i in range(1, min(reach, len(words))) if low[i] in JOINERS]
    if joins:
        return words[: joins[-1]]
    if len(words) <= NAME_MAX_WHOLE:
        return words  # a phrase kept whole if it fits
    return words[:max_words]  # short_name then takes off a number whose unit was cut off


_NUMBER = re.compile(r"\d+(?:[.,/]\d+)?")
_TAKES_FIGURE = {"spf", "no", "no.", "#", "size", "level", "step", "vol", "vol.", "number", "type", "grade", "pa"}
_COUNTED = {"in", "speed", "day", "days", "minute", "minutes", "step", "steps", "tier", "item", "items", "way"}
_LONE_PERCENT = re.compile(r"\s+\d+(?:\.\d+)?%$")


def parted_figure(words: list[str], following: str) -> bool:
    """Whether `words` end on a bare number whose unit is the `following` word: the two make a size ('Static
    1' + 'Inch', 'Holds 12' + 'Colors') or a count ('2' + 'in 1', '4' + 'Speed'). A number that is part of a
    name ('Perfect 10 Box Color') or follows a word that takes one ('SPF 30') stays."""
    if not words or not _NUMBER.fullmatch(words[-1]) or not following[:1].isalpha():
        return False
    if len(words) >= 2 and words[-2].lower() in _TAKES_FIGURE:
        return False
    unit = following.lower().strip(".,")
    return unit in _COUNTED or claim_type(f"{words[-1]} {following}") == "size"


def fact_sheet(product: Product, encode: Callable[[list[str]], np.ndarray] | None = None) -> FactSheet:
    """The product's facts. `encode` (a text encoder) lets kinds the title does not name be found by meaning."""
    title, description = clean_markup(product.title), clean_markup(product.description)
    warnings: list[str] = []
    brand = valid_brand(product.brand, _kind_words())
    if product.brand and brand is None:
        warnings.append(
            f"brand {product.brand!r} is not a name (a type word, number, symbol or 'no brand'); none is shown"
        )
    kind, score = classify_kind(title, product.category, encode, product.categories)
    placeholder = bool(_PLACEHOLDER.fullmatch(title))
    name = "" if placeholder else short_name(title, brand, kind_phrases=tuple(kind.phrases) if kind else ())
    if not name:
        name = kind.name.capitalize() if kind else "This product"
        why = "is a placeholder, not a name" if placeholder else "has no drawable words"
        warnings.append(f"the title {product.title!r} {why}; the ad calls it {name!r}")
    segments = [] if placeholder else _segments(title, "title")
    claims = [c for c in segments if c.text.lower() != name.lower()]
    claims = [c for c in claims if not (brand and c.text.lower() == brand.lower())]
    if claims and name and name.lower() in claims[0].text.lower():  # the name's segment: what follows the name
        claims[:0] = _round_name(title, claims.pop(0), name)
    allowed, dropped = allowed_claims(
        [*claims, *_sentences(description)], {"title": title, "description": description}, name
    )
    fine = tuple(c for c in allowed if not is_selling(c.type))
    return FactSheet(
        title=title,
        description=description,
        name=name,
        brand=brand,
        kind=kind.name if kind else "unknown",
        family=kind.family if kind else "other",
        packshot=kind.packshot if kind else "box",
        kind_score=round(score, 3),
        drawn=bool(kind and kind.drawn),
        attributes=tuple(_attributes({"title": title, "description": description})),
        claims=tuple(c for c in allowed if is_selling(c.type)),
        fine_print=fine,
        dropped=dropped,
        warnings=tuple(warnings),
        colour=None if placeholder else colour_of(title, brand, kind.name if kind else "", kind.family if kind else ""),
    )


def _round_name(title: str, segment: Claim, name: str) -> list[Claim]:
    """The statements that follow the name in its own segment ('… Serum for Face'); a percentage that ends a
    use ('for Face 20%') is the name's strength, not the use's, and is left with the name."""
    lo = segment.source.start + segment.text.lower().index(name.lower()) + len(name)
    hi = segment.source.end
    piece = title[lo:hi].strip()
    m = _LONE_PERCENT.search(piece.rstrip(" .,-"))
    if m and piece.split()[0].lower() in JOINERS and len(piece[: m.start()].split()) >= 2:
        hi = lo + title[lo:hi].index(piece) + m.start()
    return [_shifted(c, lo) for c in _segments(title[lo:hi], "title") if len(c.text.split()) >= 2]


def _shifted(c: Claim, by: int) -> Claim:
    """A claim found in a slice of a field, with its span moved to the whole field."""
    span = c.source.model_copy(update={"start": c.source.start + by, "end": c.source.end + by})
    return c.model_copy(update={"source": span})


def is_generic_kind(name: str) -> bool:
    """A kind that stands for a whole category ('hair styling'): not a noun to say 'your next …' with."""
    return any(k.name == name and k.generic for k in kinds())


_CLAUSE = re.compile(r"\s+[-–—|]\s+|[;()\[\]]|:\s|\.\s|!|\?")


def _lead_in(text: str, at: int) -> str:
    """What precedes character `at` in its clause (strong separators — dashes, colons, brackets, sentence
    ends — bound a clause; commas do not): the verb a listed claim hangs on ('treats Acne, Scars')."""
    start = 0
    for m in _CLAUSE.finditer(text):
        if m.end() > at:
            break
        start = m.end()
    return text[start:at]


def allowed_claims(
    claims: list[Claim], fields: dict[str, str] | None = None, name: str = ""
) -> tuple[tuple[Claim, ...], tuple[DroppedClaim, ...]]:
    """The claims ad policy allows, and the ones it drops with the rule that drops each. A claim listed
    after a forbidden verb of its clause goes with it ('treats Acne, Scars, Sun Damage': all three); the
    product's name is set aside there ('Ultra Healing Lotion, Fragrance Free' keeps 'Fragrance Free')."""
    kept, dropped = [], []
    for c in claims:
        lead = _lead_in(fields[c.source.field], c.source.start) if fields else ""
        if name:
            lead = re.sub(re.escape(name), " ", lead, flags=re.I)
        hit = breach(c.text) or breach(lead, governing=True)
        if hit is None:
            kept.append(c)
        else:
            rule, words = hit
            dropped.append(DroppedClaim(text=c.text, rule=rule.id, words=words, reason=rule.reason, source=c.source))
    return tuple(kept), tuple(dropped)
