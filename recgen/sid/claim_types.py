"""What kind of statement a segment of a product's own text is (benefit, feature, ingredient, use, variant,
size, warning, legal), by the rules in prompts/claim_types.json: copy sells with the selling types, shows
warnings and notices only as small print, and leaves model numbers and lone figures out."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources

from recgen.errors import InputError


@dataclass(frozen=True)
class ClaimRules:
    order: tuple[str, ...]
    selling: frozenset[str]
    fine_print: frozenset[str]
    strength: dict[str, int]
    patterns: dict[str, tuple[re.Pattern, ...]]
    reasons: dict[str, str]


@functools.cache
def claim_rules() -> ClaimRules:
    raw = json.loads(resources.files("recgen.prompts").joinpath("claim_types.json").read_text())
    try:
        patterns = {t: tuple(re.compile(p, re.I) for p in spec["patterns"]) for t, spec in raw["types"].items()}
        rules = ClaimRules(
            order=tuple(raw["order"]),
            selling=frozenset(raw["selling"]),
            fine_print=frozenset(raw["fine_print"]),
            strength=dict(raw["strength"]),
            patterns=patterns,
            reasons={t: spec["reason"] for t, spec in raw["types"].items()},
        )
    except (KeyError, re.error) as e:
        raise InputError(f"prompts/claim_types.json is malformed: {e}") from e
    if set(rules.order) != set(rules.patterns):
        raise InputError("prompts/claim_types.json: `order` must list every type once")
    return rules


def claim_type(text: str) -> str:
    """The first type of the rules' order whose pattern matches (the last, `feature`, matches anything)."""
    rules = claim_rules()
    t = text.strip()
    for kind in rules.order:
        if any(p.search(t) for p in rules.patterns[kind]):
            return kind
    return rules.order[-1]


def split_size(text: str) -> list[tuple[int, int]]:
    """A segment that ends or starts with a size ('Facial Cleanser with Charcoal 4.85 oz', 'Pure Beige-
    0.28 Ounce'): the spans (start, end) of the phrase and of the size, as two statements; one span, the
    whole, where the size is the whole segment or sits inside it."""
    for p in claim_rules().patterns["size"]:
        m = p.search(text)
        if not m:
            continue
        before, after = text[: m.start()], text[m.end() :]
        if after.strip(" .,;-–—/") and before.strip(" .,;-–—/"):
            break  # in the middle: the phrase would not be one span of the text
        rest = before if before.strip(" .,;-–—/") else after
        if not re.search(r"[A-Za-z]{2,}", rest):
            break
        lead = len(rest) - len(rest.lstrip(" .,;-–—/"))
        trail = len(rest.rstrip(" .,;-–—/"))
        phrase = (lead, trail) if rest is before else (m.end() + lead, m.end() + trail)
        size = (m.start(), m.end())
        return sorted([phrase, (size[0], size[0] + len(m.group(0).rstrip()))])
    return [(0, len(text))]


def is_selling(kind: str) -> bool:
    return kind in claim_rules().selling


def strength(kind: str) -> int:
    """How strongly a type sells (the hook leads with the strongest); fine print and non-claims: −1."""
    return claim_rules().strength.get(kind, -1)
