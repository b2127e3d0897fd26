"""Every state, plan and score type of recgen, declared once.

Read top to bottom this is the data flow: Product + D-SID → Semantics → Brief → VisualPlan → ShotClip
→ AudioPlan / AudioTracks → EffectsPlan → Draft → CriticReport, all carried by VideoState.
"""

from __future__ import annotations

import operator
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from recgen.vocabulary import (  # the creative vocabulary's types, declared with its data
    STYLE_DIMS,
    Background,
    Camera,
    Composition,
    Mood,
    ShotRole,
    TransitionKind,
    Typeface,
)

# ---------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------

MAX_TITLE_CHARS = 1000  # the Beauty catalog's longest seller title is 841 characters
AgentName = Literal["instruct", "visual", "audio", "effects"]  # the agents a critic can send a draft back to


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Product(_Frozen):
    """What is advertised. Catalog items have no price; an offer can be given with the request."""

    id: str = Field(min_length=1, max_length=64)
    title: str
    brand: str | None = None
    description: str = ""
    category: str | None = None  # a free-text category (a user's product)
    categories: tuple[str, ...] = ()  # a catalog item's category path, broadest first (Beauty > Makeup > …)
    price: float | None = Field(None, gt=0, lt=1_000_000, allow_inf_nan=False)
    currency: str = "USD"
    discount_pct: int | None = Field(None, ge=1, le=90)
    image_path: Path | None = None

    @field_validator("title")
    @classmethod
    def _title_ok(cls, v: str) -> str:
        v = re.sub(r"\s+", " ", v).strip()
        if not v:
            raise ValueError("the product title is empty; give the product a name")
        if len(v) > MAX_TITLE_CHARS:
            raise ValueError(
                f"the product title has {len(v)} characters; at most {MAX_TITLE_CHARS} are accepted "
                "(put the long text in 'description')"
            )
        return v


class DSID(_Frozen):
    """A disentangled semantic ID: content codes (what) ; creative codes (how).

    The creative codes always belong to the one creative space the agents decode. The content codes belong
    to the catalog's text space (what the agents decode into product facts) or, for a D-SID the GRM proposed,
    to the GRM's collaborative space (which the recommender maps to an item); `content_space` says which,
    so a run record never holds two different codes under one name."""

    content: tuple[int, ...]
    creative: tuple[int, ...]
    content_space: Literal["catalog", "grm"] = "catalog"

    def __str__(self) -> str:
        prefix = "c" if self.content_space == "catalog" else "g"
        return prefix + ".".join(map(str, self.content)) + "/s" + ".".join(map(str, self.creative))

    @classmethod
    def parse(cls, text: str) -> DSID:
        """Parse 'c3.1/s2.0' (either half may be given alone as 's2.0')."""
        m = re.fullmatch(r"\s*(?:c(?P<c>\d+(?:\.\d+)*))?\s*/?\s*(?:s(?P<s>\d+(?:\.\d+)*))?\s*", text)
        if not m or not (m.group("c") or m.group("s")):
            raise ValueError(f"{text!r} is not a D-SID; write it as c<codes>/s<codes>, e.g. c3.1/s2.0")
        c = tuple(int(x) for x in m.group("c").split(".")) if m.group("c") else ()
        s = tuple(int(x) for x in m.group("s").split(".")) if m.group("s") else ()
        return cls(content=c, creative=s)


class StyleVector(_Frozen):
    """A point of the creative style space; every dimension in 0..1 (see STYLE_DIMS)."""

    hue: float = Field(ge=0, le=1)
    brightness: float = Field(ge=0, le=1)
    saturation: float = Field(ge=0, le=1)
    motion: float = Field(ge=0, le=1)
    cut_rate: float = Field(ge=0, le=1)
    text_density: float = Field(ge=0, le=1)
    tempo: float = Field(ge=0, le=1)
    loudness: float = Field(ge=0, le=1)
    voice: float = Field(ge=0, le=1)

    def as_list(self) -> list[float]:
        return [getattr(self, d) for d in STYLE_DIMS]


class GenerationRequest(_Frozen):
    run_id: str
    product: Product
    dsid: DSID
    seed: int = 0
    review: bool = False  # pause after the visual plan so a creative can approve or edit it
    viewer: tuple[int, ...] = ()  # the viewer's interaction history (item ids) when the video is for a user
    space: str = ""  # the D-SID space its content codes belong to (name and fingerprint; "" before spaces were named)


# ---------------------------------------------------------------------------------------------------------
# Product facts: what the product's own text says, each piece with where it says it
# ---------------------------------------------------------------------------------------------------------


class SourceSpan(_Frozen):
    """Characters [start, end) of a cleaned product field."""

    field: Literal["title", "description"]
    start: int
    end: int


ClaimType = Literal["benefit", "feature", "ingredient", "use", "variant", "size", "warning", "legal"]


class Claim(_Frozen):
    """A statement the product's text makes (a title segment or a description sentence), with its type
    (prompts/claim_types.json): copy sells with benefits, features, ingredients, uses, variants and sizes;
    warnings and legal notices are fine print, never a selling line."""

    text: str
    source: SourceSpan
    type: ClaimType = "feature"


class ProductColour(_Frozen):
    """The colour a product's title names (sid/colour_words.py): drawn on the product, checked on screen."""

    phrase: str  # as the title writes it, modifiers included: "Deep Blue"
    name: str  # the colour word it was read as: "blue"
    rgb: tuple[int, int, int]  # sRGB, modifiers applied


class DroppedClaim(_Frozen):
    """A claim of the product's own text that ad policy does not allow (prompts/ad_policy.json)."""

    text: str
    rule: str  # the policy rule's id
    words: str  # what in the claim breaks the rule
    reason: str
    source: SourceSpan


class Attribute(_Frozen):
    """A property the text names, negation kept: 'fragrance free' is (fragrance, negated)."""

    name: str
    negated: bool = False
    text: str  # as written, e.g. "Fragrance-Free"
    source: SourceSpan


class FactSheet(_Frozen):
    """Everything an ad may say about a product, traceable to its own text."""

    title: str  # cleaned of markup and entities
    description: str
    name: str  # the short on-screen name
    brand: str | None  # only where the text shows one
    kind: str  # a product kind of prompts/product_kinds.json, or "unknown"
    family: str
    packshot: str  # the shape drawn for it; "box" is the neutral one
    kind_score: float  # how sure the kind is (1.0: named in the title; else text-encoder similarity)
    drawn: bool  # False for kinds we recognise but do not advertise with category copy, and for unknown kinds
    attributes: tuple[Attribute, ...] = ()
    claims: tuple[Claim, ...] = ()  # supported by the text and allowed by ad policy: the selling types
    fine_print: tuple[Claim, ...] = ()  # the text's warnings and legal notices: small print at most
    dropped: tuple[DroppedClaim, ...] = ()  # supported by the text, dropped by ad policy
    warnings: tuple[str, ...] = ()  # what could not be used as given (e.g. a brand that is not a brand)
    colour: ProductColour | None = None  # the colour its title names for the product or its contents


class ClaimCheck(_Frozen):
    """One line a viewer sees or hears, labelled against the fact sheet."""

    text: str
    where: Literal["voice", "headline", "subtitle", "sticker", "cta", "seen"]  # seen: read back by OCR
    agent: AgentName
    label: Literal["supported", "neutral", "unsupported"]
    source: SourceSpan | None = None  # the supporting span, for a supported claim
    reason: str = ""
    policy: str | None = None  # the ad-policy rule the line breaks (prompts/ad_policy.json), if any
    fine_print: bool = False  # it sells with a warning or legal notice of the product's text
    reviewed: bool = False  # written by a creative at the review pause: shown, not sent back to an agent


# ---------------------------------------------------------------------------------------------------------
# Decoded semantics
# ---------------------------------------------------------------------------------------------------------


class ContentSemantics(_Frozen):
    codes: tuple[int, ...]
    product_type: str  # packshot shape: dropper, jar, tube, palette, lash_box, polish, ... ("box": neutral)
    family: str  # skin care, make-up, hair, nails, tools, fragrance, ... ("other": not a beauty product)
    keywords: tuple[str, ...]  # words of the items near these codes: the audience's interest
    nearest_items: tuple[str, ...]
    benefits: tuple[str, ...]  # the product's own claims (from its fact sheet), at most three
    facts: FactSheet  # everything the ad may say about this product


class CreativeSemantics(_Frozen):
    codes: tuple[int, ...]
    preset: str  # the nearest named preset
    style: StyleVector
    palette: tuple[str, ...]  # hex colours: background, secondary, accent, text
    mood: Mood
    shot_seconds: float  # pacing
    music_genre: str
    tempo_bpm: float
    voice_id: str
    speaking_rate: float
    typeface: Typeface
    descriptors: tuple[str, ...]


class Semantics(_Frozen):
    dsid: DSID
    content: ContentSemantics
    creative: CreativeSemantics


# ---------------------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------------------


class ShotBrief(_Frozen):
    index: int
    role: ShotRole
    message: str  # what this shot must say
    visual_idea: str
    claim: str = ""  # the product's own claim the message carries, as its text has it ("" for none)
    claim_type: ClaimType | None = None  # and that claim's type


class Brief(_Frozen):
    """The Instruction model's output: what to say and how, shot by shot."""

    content_instruction: str
    creative_instruction: str
    duration_s: float
    headline: str  # short product name used on screen
    offer: str | None  # e.g. "20% OFF" or "$24.99"
    cta: str
    shots: tuple[ShotBrief, ...]


class ShotPlan(_Frozen):
    index: int
    role: ShotRole
    start: float
    duration: float = Field(gt=0)
    composition: Composition
    camera: Camera
    motion: float = Field(ge=0, le=1)
    background: Background
    asset: Literal["packshot", "user_image", "none"]
    headline: str  # kinetic type on the shot ("" for none)
    prompt: str  # the t2v/i2v prompt (used by generative backends, kept for the trace)
    points_at: str = ""  # callout: the model role of the part the headline names (a line points there)
    field_colour: str = ""  # ingredient_field: the ingredient's colour (hex) the shot is a field of


class VisualPlan(_Frozen):
    palette: tuple[str, ...]
    shots: tuple[ShotPlan, ...]

    @property
    def duration_s(self) -> float:
        """The ad's length: the shots' durations summed (the same quantity as Brief.duration_s)."""
        return round(sum(s.duration for s in self.shots), 3)


class ShotClip(_Frozen):
    """A rendered shot: a procedural scene (plates + motion spec, `.scene.json`) or a generated video file."""

    index: int
    backend: str  # the renderer's name (tools/backends.py RENDERERS)
    scene_path: Path
    keyframe_path: Path
    duration: float
    plan_hash: str

    @classmethod
    def of(cls, shot: ShotPlan, backend: str, scene_path: Path, keyframe_path: Path) -> ShotClip:
        """A freshly rendered shot (its plan hash is stamped by the render node)."""
        return cls(
            index=shot.index,
            backend=backend,
            scene_path=scene_path,
            keyframe_path=keyframe_path,
            duration=shot.duration,
            plan_hash="",
        )


class VoiceLinePlan(_Frozen):
    shot_index: int
    text: str
    span: int = Field(1, ge=1, le=3)  # shots the line may run across (fast cuts need two for a full line)


class BgmSpec(_Frozen):
    tempo_bpm: float = Field(ge=50, le=200)
    mood: Mood
    genre: str
    root_hz: float
    seed: int


class AudioPlan(_Frozen):
    voice_id: str
    speaking_rate: float = Field(gt=0.4, le=2.5)
    lines: tuple[VoiceLinePlan, ...]
    bgm: BgmSpec
    duck_db: float = Field(-10.0, le=0)
    target_lufs: float = -14.0


class WordTiming(_Frozen):
    word: str
    start: float
    end: float


class TimedLine(_Frozen):
    shot_index: int
    text: str
    span: int = 1
    start: float
    end: float
    words: tuple[WordTiming, ...]


class AudioTracks(_Frozen):
    voice_path: Path
    bgm_path: Path
    mix_path: Path
    mix_aac_path: Path  # the mix encoded once, copied into every draft
    lines: tuple[TimedLine, ...]
    beat_times: tuple[float, ...]
    voice_end_s: float  # when the last voice line ends (may pass the video's end: the critic checks)
    voice_backend: str
    word_timing: Literal["heard", "estimated"] = "estimated"  # heard: re-timed by speech recognition


class Subtitle(_Frozen):
    text: str
    start: float
    end: float
    words: tuple[WordTiming, ...]
    highlight: tuple[str, ...]


class Sticker(_Frozen):
    kind: Literal["price", "discount", "badge"]
    text: str
    start: float
    end: float
    anchor: Literal["top_left", "top_right", "mid_left", "mid_right"]


class CallToAction(_Frozen):
    text: str
    start: float
    end: float
    color: str


class Transition(_Frozen):
    after_shot: int
    kind: TransitionKind
    duration: float = Field(ge=0, le=1.0)


class ColorGrade(_Frozen):
    contrast: float = Field(1.0, ge=0.5, le=1.6)
    saturation: float = Field(1.0, ge=0.0, le=1.8)
    warmth: float = Field(0.0, ge=-1, le=1)
    vignette: float = Field(0.0, ge=0, le=1)


class EffectsPlan(_Frozen):
    typeface: Typeface
    text_color: str
    accent_color: str
    subtitle_backdrop: bool
    safe_margin: float = Field(ge=0, le=0.3)  # fraction of width/height kept free of text
    subtitles: tuple[Subtitle, ...]
    stickers: tuple[Sticker, ...]
    cta: CallToAction | None
    transitions: tuple[Transition, ...]
    grade: ColorGrade


# ---------------------------------------------------------------------------------------------------------
# Drafts, critic, run bookkeeping
# ---------------------------------------------------------------------------------------------------------


class TextBox(_Frozen):
    """Where text (or the product: kind "product", no text) landed on screen in a draft, measured by the
    compositor while drawing."""

    kind: Literal["subtitle", "headline", "sticker", "cta", "product"]
    text: str
    start: float
    end: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels
    color: str
    contrast: float  # WCAG contrast ratio of the text colour against what is behind it


class Draft(_Frozen):
    round: int
    path: Path
    duration: float
    text_boxes: tuple[TextBox, ...]
    render_seconds: float
    plan_digest: str = ""  # of every plan and clip the draft was composed from: equal digests, equal videos
    # a revision that changed nothing of this round's: its plans (not composed) or its file (not measured)
    unchanged_from: int | None = None


class Violation(_Frozen):
    code: str
    agent: AgentName
    message: str
    fix: str


class Reencoding(_Frozen):
    """A draft as a viewer perceives it, re-encoded to D-SIDs (rewards/reencode.py), never from its plans."""

    content: tuple[int, ...]
    creative: tuple[int, ...]
    lines: tuple[str, ...]  # what was read and heard that the content codes came from
    measures: dict[str, float] = Field(default_factory=dict)  # style measurements of the file (reencode.MEASURES)
    seconds: float


class CriticReport(_Frozen):
    round: int
    measures: dict[str, float]
    scores: dict[str, float]
    total: float
    violations: tuple[Violation, ...]
    verdict: Literal["accept", "revise", "stop"]
    revise_agent: AgentName | None
    instruction: str
    claims: tuple[ClaimCheck, ...] = ()  # every line seen or heard, labelled against the fact sheet
    reencoding: Reencoding | None = None
    rewards: dict[str, float] = Field(default_factory=dict)  # per reward module, 0..1 (rewards/combine.py)
    reward: float | None = None  # the constrained combination; None while the thresholds are not calibrated
    shortfall: str | None = None  # the constraint that costs the most below its threshold, if any


class CriticDecision(_Frozen):
    """What the critic decides from the measured report: accept, or send the draft back to one agent with an
    instruction. Drafts with open violations cannot be accepted (the constraints are hard)."""

    verdict: Literal["accept", "revise"]
    revise_agent: AgentName | None = None
    instruction: str = Field("", max_length=600)


class Revision(_Frozen):
    """What the critic asks of one agent; the agent receives it with its next call."""

    round: int
    agent: AgentName
    violations: tuple[Violation, ...]


class ReviewEdits(_Frozen):
    """A creative's answer at the review pause: approve as is, or edit the brief, shot prompts and voice lines.

    A shot's voice line is its brief message (the audio agent speaks the message), so editing a line edits it.
    """

    headline: str | None = Field(None, min_length=1, max_length=80)
    cta: str | None = Field(None, min_length=1, max_length=40)
    shot_prompts: dict[int, str] = Field(default_factory=dict)
    voice_lines: dict[int, str] = Field(default_factory=dict)
    reviewer_note: str = Field("", max_length=500)

    @field_validator("shot_prompts", "voice_lines")
    @classmethod
    def _texts(cls, v: dict[int, str]) -> dict[int, str]:
        out = {}
        for k, text in v.items():
            text = " ".join(str(text).split())
            if not text:
                raise ValueError(f"shot {k}: the text is empty")
            if len(text) > 400:
                raise ValueError(f"shot {k}: the text has {len(text)} characters (at most 400)")
            out[int(k)] = text
        return out

    @property
    def is_approval(self) -> bool:
        return not (self.headline or self.cta or self.shot_prompts or self.voice_lines)


class ToolCall(_Frozen):
    agent: str
    tool: str
    args: dict[str, str]
    seconds: float
    ok: bool
    error: str | None = None


class RenderTask(BaseModel):
    """What one parallel shot render receives (a LangGraph Send payload)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    shot: ShotPlan | None
    hash: str
    state: VideoState


def _merge_clips(old: list[ShotClip], new: list[ShotClip]) -> list[ShotClip]:
    """Parallel shot renders each add one clip; a re-render replaces the clip of the same index."""
    by_index = {c.index: c for c in old}
    by_index.update({c.index: c for c in new})
    return [by_index[i] for i in sorted(by_index)]


class VideoState(BaseModel):
    """The graph's state. Lists annotated with a reducer are appended to by the nodes."""

    model_config = ConfigDict(extra="forbid")

    request: GenerationRequest
    semantics: Semantics | None = None
    brief: Brief | None = None
    visual: VisualPlan | None = None
    clips: Annotated[list[ShotClip], _merge_clips] = Field(default_factory=list)
    audio_plan: AudioPlan | None = None
    tracks: AudioTracks | None = None
    effects: EffectsPlan | None = None
    drafts: Annotated[list[Draft], operator.add] = Field(default_factory=list)
    reports: Annotated[list[CriticReport], operator.add] = Field(default_factory=list)
    revision: Revision | None = None
    review: ReviewEdits | None = None
    final_path: Path | None = None
    tool_calls: Annotated[list[ToolCall], operator.add] = Field(default_factory=list)
    notes: Annotated[list[str], operator.add] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# Feedback: what viewers did with the videos (recgen.feedback)
# ---------------------------------------------------------------------------------------------------------

FeedbackKind = Literal["impression", "click", "watch", "like", "purchase"]
_DSID_TEXT = re.compile(r"[cg]\d+(?:\.\d+)*/s\d+(?:\.\d+)*")
USER_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"  # a user id of the interaction data (Beauty's are numbers)
PRODUCT_ID = r"^(0|[1-9][0-9]{0,8})$"  # a catalog item id


class FeedbackEvent(_Frozen):
    """One thing one viewer did with one video. `event_id` makes recording idempotent: the same event sent
    twice is stored once."""

    # watch_seconds with a 'watch' event and only with one (checked in model_post_init), in the schema's words
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"kind": {"const": "watch"}}, "required": ["kind"]},
            "then": {"required": ["watch_seconds"], "properties": {"watch_seconds": {"type": "number"}}},
            "else": {"properties": {"watch_seconds": {"type": "null"}}},
        },
    )

    event_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    user: str = Field(min_length=1, max_length=128, pattern=USER_ID)
    # the video's D-SID as text: c<content>/s<creative> (g<content>/... for GRM content codes); the pattern is
    # for the schema (the API's narrows it to its code space), the validator words the error
    dsid: str = Field(
        max_length=200,
        json_schema_extra={"pattern": "^" + _DSID_TEXT.pattern + "$"},
        description="the video's D-SID: c<content codes>/s<creative codes>, e.g. c12.200.7.0/s3.1",
    )
    kind: FeedbackKind
    run_id: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    item: int | None = Field(None, ge=0, description="the catalog item the video advertised, when known")
    watch_seconds: float | None = Field(None, ge=0, le=3600, allow_inf_nan=False)
    at: float | None = Field(None, ge=0, allow_inf_nan=False)  # unix time; the store stamps it when absent

    @field_validator("dsid")
    @classmethod
    def _dsid_text(cls, v: str) -> str:
        v = v.strip()
        if not _DSID_TEXT.fullmatch(v):
            raise ValueError(f"{v!r} is not a D-SID; write it as c<codes>/s<codes>, e.g. c3.1/s2.0")
        return v

    def model_post_init(self, _context) -> None:
        if (self.kind == "watch") != (self.watch_seconds is not None):
            raise ValueError("watch_seconds goes with a 'watch' event, and only with one")

    @property
    def creative(self) -> tuple[int, ...]:
        return tuple(int(x) for x in self.dsid.split("/s")[1].split("."))


# ---------------------------------------------------------------------------------------------------------
# Serving API (recgen.serving.api): what a client sends and gets back
# ---------------------------------------------------------------------------------------------------------


class VideoRequest(_Frozen):
    product: str = Field(min_length=1, max_length=200, pattern=PRODUCT_ID, description="a catalog product id")
    creative: str = Field(
        min_length=1,
        max_length=200,
        json_schema_extra={"pattern": r"^([a-z][a-z0-9-]{0,63}|s[0-9]{1,4}(\.[0-9]{1,4}){0,7})$"},
        description="a style preset name or a creative D-SID (s3.1)",
    )


class ErrorBody(_Frozen):
    """Every refusal: one readable line naming the field or thing at fault; validation errors add the
    machine-readable detail (location, message, type; never the input sent)."""

    error: str
    detail: list[dict] | None = None


class VideoRef(_Frozen):
    id: str
    url: str
    product: str
    dsid: str  # c<content>/s<creative> of the cached video
    run_id: str | None = None
    measured: dict | None = None  # the D-SID re-encoded from the rendered file, where measured
    hits: int = 0


class JobView(_Frozen):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    note: str | None = None
    url: str
    video: VideoRef | None = None  # once done
    error: str | None = None
    created: float
    started: float | None = None
    finished: float | None = None


class ServedVideo(_Frozen):
    """The online path's answer: which cache case applied, what is served now, and what is being made."""

    case: Literal["hit", "content", "nearest", "miss"]
    requested: str  # the D-SID asked for (catalog content codes / creative codes)
    basis: Literal["history", "popular", "request"] = Field(
        "request",
        description="why this D-SID: the GRM on the user's history; 'popular': the user has no history yet, so "
        "the catalog's most popular D-SID (cold start); 'request': the product and creative asked for",
    )
    product: str
    video: VideoRef | None  # the exact video (hit), the closest variant (content, nearest), none (miss)
    job: JobView | None  # the job making the exact video, when the cache lacks it


class FeedbackReceipt(_Frozen):
    added: int
    duplicates: int


RenderTask.model_rebuild()
