"""Artistic Effects agent: word-timed subtitles, highlight words, price/discount sticker, CTA button at the
end, transitions and colour grade; typography and button tools."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from recgen.agents.context import AgentContext
from recgen.color import best_ink, contrast_ratio, hex_rgb, subtitle_backdrop
from recgen.layout import ECHO_MARGIN_S, SUB_TAIL_S, echoed, subtitle_size, subtitle_width
from recgen.schemas import (
    CallToAction,
    ColorGrade,
    EffectsPlan,
    Sticker,
    Subtitle,
    Transition,
    VideoState,
    VisualPlan,
)
from recgen.sid.facts import JOINERS
from recgen.tools.typography import drawing_warnings
from recgen.vocabulary import VOCAB

if TYPE_CHECKING:
    from recgen.runtime import RunContext

CTA_SECONDS = 2.2


def highlight_words(text: str, keys: set[str]) -> tuple[str, ...]:
    out = []
    for w in text.split():
        bare = w.strip(".,!?").lower()
        if bare in keys or re.search(r"\d", w) or w.strip(".,!?").isupper() and len(bare) > 1:
            out.append(w.strip(".,!?"))
    return tuple(dict.fromkeys(out))[:2]


def chunk_end(words: list[str], i: int, per_chunk: int, take_orphan: bool = True) -> int:
    """Where the subtitle chunk starting at word `i` ends (exclusive): `per_chunk` words, but never on a
    joiner ('… What a' | 'Night Cream') and never leaving one word alone for the next chunk ('By Its a' |
    '10.'); a chunk ends early after a sentence's last word."""
    n = min(i + per_chunk, len(words))
    stops = [k + 1 for k in range(i + 1, n - 1) if words[k].endswith((".", "!", "?"))]
    if stops:
        n = stops[0]
    if take_orphan and len(words) - n == 1:
        n = len(words)
    while n - i > 1 and words[n - 1].lower().strip(".,!?") in JOINERS and not words[n - 1].endswith((".", "!", "?")):
        n -= 1
    return n


def on_screen(visual: VisualPlan, cta: str | None, duration: float) -> list[tuple[str, float, float]]:
    """The texts the plan puts on screen besides the subtitles, with their times: headlines and the CTA."""
    shown = [(s.headline, s.start, s.start + s.duration) for s in visual.shots if s.headline]
    return shown + ([(cta, max(visual.shots[-1].start, duration - CTA_SECONDS), duration)] if cta else [])


def _subtitles(ctx: AgentContext, margin: float) -> list[Subtitle]:
    """Word-timed chunks of each voice line that fit two lines, one on screen at a time."""
    brief, visual, tracks, c = ctx.brief, ctx.visual, ctx.tracks, ctx.semantics.creative
    duration = visual.duration_s
    keys = {w.lower() for b in ctx.semantics.content.benefits for w in b.split() if len(w) > 4}
    keys |= {w.lower() for w in brief.headline.split()} | {"off", "today", "only"}
    per_chunk = 3 if c.style.text_density > 0.7 else 4 if c.style.text_density > 0.4 else 5
    width = subtitle_width(ctx.settings.width, margin)
    size = subtitle_size(ctx.settings.height)
    subtitles = []
    shown = on_screen(visual, brief.cta, duration)
    # sent back for a text shown twice: keep captions a further 0.3 s clear of what says the same
    wide = ECHO_MARGIN_S if any(v.code == "text_twice" for v in ctx.fixes) else 0.0
    for line in tracks.lines:
        if echoed(line.text, line.start - wide, min(line.end + SUB_TAIL_S + wide, duration), shown):
            continue  # the headline (or the button) shows these words already: a caption would say them twice
        words = list(line.words)
        i = 0
        said = [w.word for w in words]
        while i < len(words):
            n = chunk_end(said, i, per_chunk)
            chunk = words[i:n]
            text = " ".join(w.word for w in chunk)
            lines = ctx.tools.call("typography", text=text, typeface=c.typeface, size=size, max_width=width)
            while lines > 2 and len(chunk) > 2:  # too wide for two lines: take fewer words, not ending on a joiner
                n = min(chunk_end(said, i, len(chunk) - 1, take_orphan=False), i + len(chunk) - 1)
                chunk = words[i:n]
                text = " ".join(w.word for w in chunk)
                lines = ctx.tools.call("typography", text=text, typeface=c.typeface, size=size, max_width=width)
            end = min(chunk[-1].end + SUB_TAIL_S, duration)
            if chunk[0].start < duration:
                subtitles.append(
                    Subtitle(
                        text=text,
                        start=chunk[0].start,
                        end=end,
                        words=tuple(chunk),
                        highlight=highlight_words(text, keys),
                    )
                )
            i += len(chunk)
    # one subtitle at a time: a chunk leaves the screen when the next one comes
    for k in range(len(subtitles) - 1):
        if subtitles[k + 1].start < subtitles[k].end:
            subtitles[k] = subtitles[k].model_copy(update={"end": round(subtitles[k + 1].start, 3)})
    return subtitles


def builtin_effects_plan(ctx: AgentContext) -> EffectsPlan:
    brief, visual, tracks, c = ctx.brief, ctx.visual, ctx.tracks, ctx.semantics.creative
    assert brief is not None and visual is not None and tracks is not None
    fixes = {v.code for v in ctx.fixes}
    duration = visual.duration_s
    palette = visual.palette
    margin = 0.08 if "safe_area" in fixes else 0.06
    subtitles = _subtitles(ctx, margin)
    stickers = []
    product = ctx.product
    if brief.offer:
        kind = "discount" if product.discount_pct else "price"
        shown = [s for s in visual.shots if s.role in ("product", "benefit", "cta")]
        if shown:
            first, last = shown[0], visual.shots[-1]
            stickers.append(
                Sticker(
                    kind=kind,
                    text=brief.offer,
                    start=round(first.start + 0.3, 3),
                    end=round(last.start + last.duration, 3),
                    anchor="top_left",  # beside the product, clear of the action column on the right
                )
            )
    cta = CallToAction(
        text=brief.cta.upper() if c.style.text_density > 0.6 else brief.cta,
        start=math.ceil(max(visual.shots[-1].start, duration - CTA_SECONDS) * 1000) / 1000,
        end=duration,
        color=palette[2],
    )
    kind, tdur = VOCAB.moods[c.mood].transition, VOCAB.moods[c.mood].transition_s
    transitions = tuple(Transition(after_shot=s.index, kind=kind, duration=tdur) for s in visual.shots[:-1])
    st = c.style
    warm_hue = min(abs(st.hue - 0.08), 1 - abs(st.hue - 0.08)) < 0.12
    grade = ColorGrade(
        contrast=round(0.95 + 0.25 * st.loudness, 3),
        saturation=round(0.85 + 0.4 * st.saturation, 3),
        warmth=0.25 if warm_hue else (-0.15 if 0.45 < st.hue < 0.7 else 0.0),
        vignette=round(0.6 * (1 - st.brightness), 3),
    )
    backdrop = 0.35 < st.brightness < 0.75 or "text_contrast" in fixes
    accent = palette[2]
    if "text_contrast" in fixes:  # highlight words must read on the subtitle box too
        box = subtitle_backdrop(palette[3])
        accent = max(palette, key=lambda col: contrast_ratio(hex_rgb(col), hex_rgb(box)))
        if contrast_ratio(hex_rgb(accent), hex_rgb(box)) < 4.5:
            accent = best_ink(box)
    return EffectsPlan(
        typeface=c.typeface,
        text_color=palette[3],
        accent_color=accent,
        subtitle_backdrop=backdrop,
        safe_margin=margin,
        subtitles=tuple(subtitles),
        stickers=tuple(stickers),
        cta=cta,
        transitions=transitions,
        grade=grade,
    )


def effects_node(state: VideoState, rc: RunContext) -> dict:
    ctx = rc.agent_context("effects", state)
    toolbox = ctx.tools
    plan = rc.policy.plan_effects(ctx)
    rc.folder.write_plan("effects", plan)
    facts = state.semantics.content.facts
    shown = [s.headline for s in state.visual.shots] + [t.text for t in (*plan.subtitles, *plan.stickers)]
    shown += [plan.cta.text] if plan.cta else []
    shown += [facts.name, facts.brand or ""]  # printed on the packshot
    ctx.notes.extend(f"effects: {w}" for w in drawing_warnings(shown, plan.typeface))
    rc.emit("effects", f"{len(plan.subtitles)} subtitles, CTA {'yes' if plan.cta else 'no'}")
    return {"effects": plan, "tool_calls": toolbox.drain(), "notes": ctx.notes}
