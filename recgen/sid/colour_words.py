"""The colour a title names for its product ("Deep Blue", "Rose Gold", "Jet Black"), parsed with the word
lists of prompts/colour_words.json: the product model is drawn in it and the critic checks that the
rendered product shows it.

A colour word counts only as a colour of this product: not inside the brand, not before a word that makes
it an ingredient or a thing ("black soap", "green tea"), and for words that are also scents ("lavender",
"honey") only on products sold by shade.
"""

from __future__ import annotations

import colorsys
import functools
import json
import re
from importlib.resources import files

from recgen.schemas import ProductColour

_WORD = re.compile(r"[a-z]+")


@functools.cache
def _lexicon() -> dict:
    return json.loads(files("recgen.prompts").joinpath("colour_words.json").read_text(encoding="utf-8"))


def _adjust(rgb: tuple[int, int, int], modifiers: list[str]) -> tuple[int, int, int]:
    h, lum, s = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    for m in modifiers:
        mod = _lexicon()["modifiers"][m]
        lum = min(0.95, max(0.05, lum + mod["l"]))
        s = min(1.0, s * mod["s"])
    return tuple(int(round(c * 255)) for c in colorsys.hls_to_rgb(h, lum, s))  # type: ignore[return-value]


def sold_by_shade(kind: str, family: str) -> bool:
    lex = _lexicon()
    return family in lex["shade_families"] or kind in lex["shade_kinds"]


def colour_of(title: str, brand: str | None = None, kind: str = "", family: str = "") -> ProductColour | None:
    """The first colour the title names for the product, with the modifiers before it, or None."""
    lex = _lexicon()
    names = dict(lex["colours"])
    if sold_by_shade(kind, family):
        names.update(lex["shades"])
    text = title.lower()
    if brand:
        text = text.replace(brand.lower(), " " * len(brand))  # a colour inside the brand is not the product's
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    not_before, not_colours = set(lex["not_before"]), set(lex["not_colours"])
    i = 0
    while i < len(words):
        for span in (2, 1):  # "jet black", "rose gold" before "black", "rose"
            phrase = " ".join(w for w, _, _ in words[i : i + span])
            if len(words[i : i + span]) < span or phrase not in names:
                continue
            after = words[i + span][0] if i + span < len(words) else ""
            if after in not_before or f"{phrase} {after}" in not_colours:
                break
            mods: list[str] = []
            j = i - 1
            while j >= 0 and words[j][0] in lex["modifiers"] and len(mods) < 2:
                mods.insert(0, words[j][0])
                j -= 1
            start = words[j + 1][1]
            end = words[i + span - 1][2]
            return ProductColour(phrase=title[start:end], name=phrase, rgb=_adjust(tuple(names[phrase]), mods))
        i += 1
    return None
