"""What a claim can be shown as, beyond its words: the part of the product it names (a feature callout
points at it: "Fine Mist Sprayer" → the spray head) and the colour of the ingredient it names (the
ingredient shot is a field of that colour: "Tea Tree Oil" → a green). Word lists in
prompts/product_parts.json and prompts/ingredient_colours.json; whole words, longest phrase first.
"""

from __future__ import annotations

import functools
import json
import re
from importlib.resources import files


@functools.cache
def _table(name: str, key: str) -> dict:
    return json.loads(files("recgen.prompts").joinpath(name).read_text(encoding="utf-8"))[key]


@functools.cache
def _pattern(name: str, key: str) -> re.Pattern:
    words = sorted(_table(name, key), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.I)


def named_part(claim: str, family: str) -> tuple[str, str] | None:
    """The part of a `family`'s model the claim names: (the word, the part's role); None when the claim names
    no part, or one this family's model does not have ('Mist Sprayer' on a dropper). A '*' role is any
    family's, provided its model has a part of that role (the caller checks)."""
    for m in _pattern("product_parts.json", "parts").finditer(claim):
        where = _table("product_parts.json", "parts")[m.group(1).lower()]
        role = where.get(family, where.get("*"))
        if role is not None:
            return m.group(1).lower(), role
    return None


def ingredient_colour(claim: str, brand: str | None = None) -> tuple[str, tuple[int, int, int]] | None:
    """The first ingredient the claim names that has a colour a viewer pictures, and that colour (sRGB). The
    brand's own words are not an ingredient ('Cheeky Brown Tanning Lotion Australian Gold' names no gold)."""
    if brand:
        claim = re.sub(re.escape(brand), " ", claim, flags=re.I)
    m = _pattern("ingredient_colours.json", "colours").search(claim.replace("-", " "))
    if m is None:
        return None
    word = m.group(1).lower()
    return word, tuple(_table("ingredient_colours.json", "colours")[word])  # type: ignore[return-value]
