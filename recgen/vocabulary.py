"""The one creative vocabulary: the closed sets the renderers implement, and the data-driven sets (moods,
presets, ad structures, copy) read from `prompts/vocabulary.json`.

A new mood or preset is one entry in that file. Every entry is validated when the module is imported, so a
missing choice (a mood without a transition, a preset naming an unknown mood, a copy template with an unknown
placeholder) fails at load time with the entry's name, never halfway through a run.
"""

from __future__ import annotations

import functools
import json
import string
from importlib.resources import files
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# --- closed sets: each value is something a renderer draws or a rule branches on -------------------------
STYLE_DIMS: tuple[str, ...] = (
    "hue",  # dominant palette hue, 0..1 around the colour wheel
    "brightness",
    "saturation",
    "motion",  # camera and element motion energy
    "cut_rate",  # shots per second, normalised
    "text_density",  # how much on-screen type
    "tempo",  # music tempo, normalised
    "loudness",  # mix energy
    "voice",  # voice register: 0 deep and slow .. 1 bright and quick
)
ShotRole = Literal["hook", "product", "benefit", "proof", "cta"]
Typeface = Literal["serif", "sans", "sans-bold", "mono", "rounded"]
Composition = Literal[
    "hero_center",
    "closeup",
    "split_text",
    "lifestyle_card",
    "grid",
    "cta_card",
    "callout",
    "label_macro",
    "ingredient_field",
]
Camera = Literal["static", "push_in", "pull_out", "pan_left", "pan_right", "tilt_up", "tilt_down"]
Background = Literal["gradient", "shapes", "particles", "stripes", "spotlight"]
TransitionKind = Literal["cut", "crossfade", "flash", "slide"]
ChordQuality = Literal["maj", "min", "maj7", "sus2"]

# placeholders the built-in policy fills in copy templates
COPY_FIELDS = frozenset(
    {"name", "brand", "Benefit", "family", "routine", "ritual", "subject", "offer", "fact"}
    | {"Claim", "claim", "kind", "Kind"}
)


class VocabularyError(ValueError):
    """The vocabulary file is incomplete or inconsistent (raised at import time)."""


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MoodStyle(_Entry):
    """Everything each agent chooses for one mood."""

    background: Background  # visual agent
    music_root_hz: float = Field(gt=20, lt=2000)  # audio agent: the BGM's key
    music_chords: tuple[int, int, int, int]  # scale degrees of the 4-chord loop (music tool)
    music_quality: ChordQuality
    music_drums: float = Field(ge=0, le=1)  # drum density
    music_plucks: float = Field(ge=0, le=1)  # pluck density
    transition: TransitionKind  # effects agent
    transition_s: float = Field(ge=0, le=1)
    hooks: tuple[str, ...] = Field(min_length=1)  # instruction model: opening lines, for a product with no claim
    claim_hooks: tuple[str, ...] = Field(min_length=1)  # opening lines around the product's strongest claim
    cta: str = Field(min_length=1, max_length=40)


class Preset(_Entry):
    """A named point of the creative style space and the choices that go with it."""

    style: tuple[float, ...]
    mood: str
    music_genre: str = Field(min_length=1)
    typeface: Typeface
    caption: str

    @model_validator(mode="after")
    def _style_ok(self) -> Preset:
        if len(self.style) != len(STYLE_DIMS) or not all(0 <= x <= 1 for x in self.style):
            raise ValueError(f"style needs {len(STYLE_DIMS)} values in 0..1 ({', '.join(STYLE_DIMS)})")
        return self


class RoleStyle(_Entry):
    weight: float = Field(gt=0)  # share of the ad's length
    composition: Composition


class FamilyWords(_Entry):
    routine: str
    ritual: str
    subject: str


class Copy(_Entry):
    product: tuple[str, ...] = Field(min_length=3)  # [no brand, alternative, with brand]
    benefit: tuple[str, ...] = Field(min_length=1)  # around one of the product's own claims
    proof: tuple[str, str]  # [with a fact, without one]
    neutral: tuple[str, ...] = Field(min_length=2)  # for a shot when the product's text has no claim left
    unsaid_name: str = Field(min_length=1)  # the product shot's line when the voice cannot say the name
    kind_hook: str  # the opening line of a product with no claim, kind or brand: what it is for
    kind_line: str  # a shot's line when no claim is left: the kind and what it is for
    brand_line: str  # … or who makes it
    brand_hook: str  # the opening line of a product with no claim and no kind, but a brand
    one_word: str  # a one-word claim ('Hydrating') said with the kind, not as a fragment
    name_line: str  # the last line of the product's own before a neutral one: its name, shown close
    offer_line: dict[Literal["discount", "price"], str]
    family_words: dict[str, FamilyWords]


class Vocabulary(_Entry):
    moods: dict[str, MoodStyle] = Field(min_length=1)
    presets: dict[str, Preset] = Field(min_length=1)
    roles: dict[ShotRole, RoleStyle]
    structures: dict[int, tuple[ShotRole, ...]]
    camera_moves: dict[Literal["calm", "energetic"], tuple[Camera, ...]]
    copy_: Copy = Field(alias="copy")

    @model_validator(mode="after")
    def _consistent(self) -> Vocabulary:
        problems = [
            f"preset {n!r}: unknown mood {p.mood!r}" for n, p in self.presets.items() if p.mood not in self.moods
        ]
        problems += [f"roles: no entry for {r!r}" for r in ShotRole.__args__ if r not in self.roles]
        for n, roles in self.structures.items():
            if len(roles) != n or roles[0] != "hook" or roles[-1] != "cta":
                problems.append(f"structure {n}: needs {n} roles from hook to cta, got {list(roles)}")
        if "beauty" not in self.copy_.family_words:
            problems.append("copy.family_words: needs the fallback family 'beauty'")
        problems += _template_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _template_problems(v: Vocabulary) -> list[str]:
    texts = [(f"moods.{m}.hooks", h) for m, s in v.moods.items() for h in (*s.hooks, *s.claim_hooks)]
    c = v.copy_
    texts += [(f"copy.{k}", t) for k in ("product", "benefit", "proof", "neutral") for t in getattr(c, k)]
    texts += [
        (f"copy.{k}", getattr(c, k))
        for k in ("unsaid_name", "kind_hook", "kind_line", "brand_line", "brand_hook", "one_word", "name_line")
    ]
    texts += [(f"copy.offer_line.{k}", t) for k, t in c.offer_line.items()]
    out = []
    for where, text in texts:
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as e:
            out.append(f"{where}: {e}")
            continue
        unknown = names - COPY_FIELDS
        if unknown:
            out.append(f"{where}: unknown placeholder(s) {sorted(unknown)} in {text!r}")
    return out


def parse_vocabulary(data: dict) -> Vocabulary:
    """Validate a vocabulary document; every problem is named with its entry."""
    try:
        return Vocabulary.model_validate({k: v for k, v in data.items() if not k.startswith("_")})
    except ValidationError as e:
        parts = [f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()[:8]]
        raise VocabularyError("prompts/vocabulary.json is invalid: " + "; ".join(parts)) from None


@functools.cache
def vocabulary() -> Vocabulary:
    text = files("recgen.prompts").joinpath("vocabulary.json").read_text(encoding="utf-8")
    return parse_vocabulary(json.loads(text))


VOCAB = vocabulary()
Mood = Literal[tuple(VOCAB.moods)]  # type: ignore[valid-type]  # the moods are data: one entry each
