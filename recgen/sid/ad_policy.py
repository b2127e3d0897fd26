"""Ad policy on the seller's own words: the rules of `prompts/ad_policy.json`, compiled once.

A claim can be the product's own text and still be one no ad platform runs ("Best", "Guaranteed Results",
"Repairs Wrinkles"). The fact sheet drops such claims (each with the rule that dropped it), the on-screen
name loses the words of rules that say so, and the critic checks every line of copy against the same rules.
"""

from __future__ import annotations

import functools
import json
import re
from importlib.resources import files

from pydantic import BaseModel, ConfigDict, Field


class PolicyRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    patterns: tuple[str, ...] = Field(min_length=1)
    reason: str
    source: str
    strip_from_name: bool = False
    governs_list: bool = False  # its words govern the list that follows ('treats Acne, Scars')
    allowed_with_offer: bool = False  # copy may say it when the request carries an offer of its own

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.patterns), re.I)


@functools.cache
def policy_rules() -> tuple[PolicyRule, ...]:
    data = json.loads(files("recgen.prompts").joinpath("ad_policy.json").read_text(encoding="utf-8"))
    return tuple(PolicyRule.model_validate(r) for r in data["rules"])


def breach(text: str, governing: bool = False, offer: bool = False) -> tuple[PolicyRule, str] | None:
    """The first rule `text` breaks and the words that break it, or None (`governing`: only the rules whose
    words carry over a list; `offer`: the request carries an offer, so offer wording may be said)."""
    for rule in policy_rules():
        if (governing and not rule.governs_list) or (offer and rule.allowed_with_offer):
            continue
        m = rule.regex.search(text)
        if m:
            return rule, m.group(0)
    return None


def strip_policy_words(name: str) -> str:
    """The name without the words of rules that strip them ('BEST Anti Aging Serum' → 'Anti Aging Serum');
    what is left is tidied of the joiners and punctuation the words leave behind."""
    for rule in policy_rules():
        if rule.strip_from_name:
            name = rule.regex.sub(" ", name)
    name = re.sub(r"\s+", " ", name)
    return re.sub(r"^[\s,;:&+\-–—/]+|[\s,;:&+\-–—/]+$", "", name)
