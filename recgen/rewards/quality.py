"""Quality reward: one small check per constraint, each reading the rendered draft (probes) or what the
compositor measured while drawing text, and returning its measurements and any violation for one agent.

A new constraint is one function here, added to `CHECKS`; `evaluate` runs them all, and `rewards.combine`
turns the measurements into the scores the critic uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from recgen.layout import ECHO_MARGIN_S, SAFE_BOTTOM, SAFE_TOP, SUB_TAIL_S, echoed
from recgen.rewards.appearance import shows_colour
from recgen.rewards.grounding import (
    author,
    check_plan,
    filler_lines,
    label_line,
    repeated_lines,
    unsaid_facts,
    words_of,
)
from recgen.rewards.layout import collisions, in_ui_zones, owner, shown_twice
from recgen.rewards.perception import (
    MARKUP,
    MAX_WER,
    READ_WORDS,
    SILENT_OPENING_S,
    UNREADABLE,
    copy_read,
    markup_seen,
    ocr_can_read,
    off_frame,
    opening_s,
    read_share,
    unplanned_text,
    voice_over_music_db,
    voice_wer,
)
from recgen.schemas import (
    AgentName,
    AudioTracks,
    Brief,
    ClaimCheck,
    Draft,
    EffectsPlan,
    FactSheet,
    TextBox,
    Violation,
    VisualPlan,
)
from recgen.sid.facts import foreign_words
from recgen.tools.asr import norm_words, voice_offset
from recgen.tools.probes import VideoProbe
from recgen.tools.readback import ReadBack

DURATION_TOL = 0.1
LUFS_TOL = 2.0
PEAK_MAX_DB = -0.1  # decoded AAC reaching full scale is clipping
MIN_CONTRAST = 3.0  # WCAG AA for large text
MIN_SEEN_CONTRAST = 2.0  # in the file: brightest against darkest pixels of the text's place (glyphs vs ground)
SUB_SYNC_TOL = 0.25
MIN_CTA_SECONDS = 1.5
MAX_VOICE_OFFSET_S = 0.15  # voice against its subtitles: later than this reads as out of sync
MAX_DURATION_ERROR_S = 0.5  # renders match the plan to the frame; an edit that cuts or pads a file does not
BLACK_LUMA = 12.0
FROZEN_SECONDS = 1.5
BEAT_TOL = 0.12  # mean distance of the cuts from the nearest beat
MAX_FILLER = 1  # lines that carry nothing of the product, besides the call to action


@dataclass(frozen=True)
class DraftView:
    """Everything a check may read: the draft as rendered and measured, and the plans it was made from."""

    draft: Draft
    probe: VideoProbe
    visual: VisualPlan
    tracks: AudioTracks
    effects: EffectsPlan
    width: int
    height: int
    target_lufs: float
    brief: Brief | None = None
    facts: FactSheet | None = None
    reviewed: tuple[str, ...] = ()  # lines a creative wrote at the review: labelled, but theirs to answer for
    readback: ReadBack | None = None  # what a viewer reads and hears in the rendered file


@dataclass
class Result:
    measures: dict[str, float] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    claims: list[ClaimCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be judged, said rather than hidden

    def fail(self, code: str, agent: AgentName, message: str, fix: str) -> None:
        self.violations.append(Violation(code=code, agent=agent, message=message, fix=fix))


Check = Callable[[DraftView], Result]


def streams(d: DraftView) -> Result:
    r = Result({"duration_error_s": abs(d.probe.duration - d.visual.duration_s)})
    if not d.probe.has_video or not d.probe.has_audio:
        agent = "visual" if not d.probe.has_video else "audio"
        r.fail("missing_stream", agent, "the draft lacks a video or audio stream", "re-render the draft")
    if r.measures["duration_error_s"] > MAX_DURATION_ERROR_S:  # cut short (its ending lost) or padded
        r.fail(
            "duration_off",
            "visual",
            f"the file runs {d.probe.duration:.1f}s, the plan {d.visual.duration_s:.1f}s",
            "re-render the draft at the planned length",
        )
    return r


def voice_overrun(d: DraftView) -> Result:
    end, video = d.tracks.voice_end_s, d.visual.duration_s
    r = Result({"voice_end_s": end, "voice_overrun_s": max(0.0, end - (video - 0.1))})
    if r.measures["voice_overrun_s"] > 0:
        r.fail(
            "voice_overrun",
            "audio",
            f"the voice ends at {end:.2f}s, after the video ({video:.2f}s)",
            "shorten the voice lines or speak faster so every line ends inside its shot",
        )
    foreign = [w for ln in d.tracks.lines for w in foreign_words(ln.text)]
    if foreign:
        r.fail(
            "voice_foreign",
            "instruct",
            f"the English voice is given words it cannot say: {' '.join(foreign[:4])!r}",
            "write the voice lines in English; show the product's own-script name on screen instead",
        )
    return r


def loudness(d: DraftView) -> Result:
    r = Result({"lufs": d.probe.lufs, "peak_db": d.probe.peak_db})
    if abs(d.probe.lufs - d.target_lufs) > LUFS_TOL:
        r.fail(
            "loudness",
            "audio",
            f"loudness {d.probe.lufs:.1f} LUFS, target {d.target_lufs}",
            "re-mix to the target loudness",
        )
    if d.probe.peak_db > PEAK_MAX_DB:
        r.fail(
            "clipping", "audio", f"peaks reach {d.probe.peak_db:.2f} dBFS", "lower the mix or limit peaks below −1 dBFS"
        )
    return r


def subtitle_sync(d: DraftView) -> Result:
    worst = 0.0
    fx = d.effects
    shown = [(s.headline, s.start, s.start + s.duration) for s in d.visual.shots if s.headline]
    shown += [(fx.cta.text, fx.cta.start, fx.cta.end)] if fx.cta else []
    for line in d.tracks.lines:
        subs = [s for s in d.effects.subtitles if s.start < line.end and s.end > line.start]
        span = (line.start - ECHO_MARGIN_S, min(line.end + SUB_TAIL_S + ECHO_MARGIN_S, d.visual.duration_s))
        if not subs and echoed(line.text, *span, shown):
            continue  # a headline or the button on screen shows the line: its caption is left out on purpose
        if not subs:
            worst = max(worst, line.end - line.start)
            continue
        worst = max(worst, abs(min(s.start for s in subs) - line.start), abs(max(s.end for s in subs) - line.end) - 0.2)
    r = Result({"subtitle_sync_error_s": max(0.0, worst)})
    if d.tracks.lines and r.measures["subtitle_sync_error_s"] > SUB_SYNC_TOL:
        r.fail(
            "subtitle_sync",
            "effects",
            f"subtitles drift up to {worst:.2f}s from the voice",
            "rebuild the subtitles from the voice's word timings",
        )
    return r


def safe_area(d: DraftView) -> Result:
    m_x = d.effects.safe_margin * d.width * 0.5
    outside = [
        b
        for b in d.draft.text_boxes
        if b.kind != "product"
        and (
            b.box[0] < m_x
            or b.box[2] > d.width - m_x
            or b.box[1] < SAFE_TOP * d.height
            or b.box[3] > SAFE_BOTTOM * d.height
        )
    ]
    r = Result({"text_outside_safe_area": float(len(outside))})
    for agent, group in (
        ("visual", [b for b in outside if b.kind == "headline"]),
        ("effects", [b for b in outside if b.kind != "headline"]),
    ):
        if group:
            r.fail(
                "safe_area",
                agent,
                f"{len(group)} text element(s) leave the 9:16 safe area: "
                + ", ".join(f"{b.kind} '{b.text[:20]}'" for b in group[:3]),
                "shorten the headline" if agent == "visual" else "keep text inside the safe margins",
            )
    return r


def text_contrast(d: DraftView) -> Result:
    """Text a viewer can tell from what it stands on: measured in the file where it was read back (the
    frames the OCR read: a veil edited over a headline), and as the compositor measured each element when
    drawing it (a highlighted word in a subtitle, which the file's whole-box measure does not isolate)."""
    boxes = tuple(b for b in d.draft.text_boxes if b.kind != "product")
    r = Result({"min_text_contrast": min([b.contrast for b in boxes] or [21.0])})
    seen = d.readback.contrast if d.readback is not None else {}
    if seen:
        r.measures["min_seen_contrast"] = round(min(seen.values()), 3)
    faint = [d.draft.text_boxes[i] for i, ratio in seen.items() if ratio < MIN_SEEN_CONTRAST]
    for agent in ("visual", "effects"):
        mine = [b for b in faint if (b.kind == "headline") == (agent == "visual")]
        if mine:
            r.fail(
                "text_contrast",
                agent,
                f"{len(mine)} text element(s) barely stand out in the video ({MIN_SEEN_CONTRAST}:1 or less), "
                f"e.g. {mine[0].kind} '{mine[0].text[:20]}' at {mine[0].start:.1f}s",
                "draw the text on a backdrop or in a colour that stands out",
            )
    low = [b for b in boxes if b.contrast < MIN_CONTRAST]
    if low and not any(v.agent == "effects" for v in r.violations):
        r.fail(
            "text_contrast",
            "effects",
            f"{len(low)} text element(s) below {MIN_CONTRAST}:1 contrast, e.g. {low[0].kind} "
            f"'{low[0].text[:20]}' at {low[0].contrast:.2f}:1",
            "put subtitles on a backdrop or change the text colour",
        )
    return r


def cta_at_end(d: DraftView) -> Result:
    end = d.visual.duration_s
    cta = [b for b in d.draft.text_boxes if b.kind == "cta"]
    r = Result({"cta_seconds_at_end": max([end - b.start for b in cta if b.end >= end - 0.05] or [0.0])})
    if r.measures["cta_seconds_at_end"] < MIN_CTA_SECONDS:
        r.fail(
            "cta_missing",
            "effects",
            f"no call-to-action button is on screen for the last {MIN_CTA_SECONDS:.1f}s",
            "add a CTA button for the last 2 seconds",
        )
    return r


def black_frames(d: DraftView) -> Result:
    luma = d.probe.luma() if len(d.probe.frames) else np.zeros(1)
    r = Result({"black_frame_ratio": float((luma < BLACK_LUMA).mean())})
    if r.measures["black_frame_ratio"] > 0.05:
        r.fail(
            "black_frames",
            "visual",
            f"{r.measures['black_frame_ratio']:.0%} of sampled frames are black",
            "use brighter backgrounds",
        )
    return r


def frozen(d: DraftView) -> Result:
    frames = d.probe.frames
    diffs = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3)) if len(frames) > 1 else np.ones(1)
    still = longest = 0
    for x in diffs:
        still = still + 1 if x < 0.25 else 0
        longest = max(longest, still)
    r = Result({"longest_still_s": longest / d.probe.sample_fps})
    if r.measures["longest_still_s"] >= FROZEN_SECONDS:
        r.fail(
            "frozen",
            "visual",
            f"the picture stands still for {r.measures['longest_still_s']:.1f}s",
            "add camera motion to every shot",
        )
    return r


def cuts_on_beat(d: DraftView) -> Result:
    """Cuts land on the music's beat grid (planned cuts against the synthesised beats)."""
    beats = np.asarray(d.tracks.beat_times)
    cuts = np.array([s.start for s in d.visual.shots[1:]])
    err = float(np.abs(cuts[:, None] - beats[None, :]).min(1).mean()) if cuts.size and beats.size else 0.0
    r = Result({"cut_beat_error_s": err})
    if err > BEAT_TOL:
        r.fail(
            "cut_off_beat",
            "visual",
            f"cuts sit {err:.2f}s from the beat on average",
            "snap every cut to the nearest beat of the music",
        )
    return r


def grounding(d: DraftView) -> Result:
    """Every line seen or heard is supported by the product's text or makes no claim; none is said twice."""
    if d.facts is None or d.brief is None:
        return Result()
    voice = [ln.text for ln in d.tracks.lines]
    fx = d.effects
    claims = check_plan(
        d.facts,
        d.brief,
        voice,
        [s.headline for s in d.visual.shots],
        [s.text for s in fx.subtitles],
        [s.text for s in fx.stickers],
        fx.cta.text if fx.cta else None,
    )
    mine = [set(words_of(t)) for t in d.reviewed]
    claims = [
        c.model_copy(update={"reviewed": True}) if any(set(words_of(c.text)) <= m for m in mine) else c for c in claims
    ]
    bad = [c for c in claims if c.label == "unsupported" and c.policy is None and not c.reviewed]
    breaches = [c for c in claims if c.policy is not None]  # reviewed or not: no platform runs them
    fine = [c for c in claims if c.fine_print and not c.reviewed]
    repeated = repeated_lines(voice, [d.brief.cta])
    ctas = (d.brief.cta, *(s.message for s in d.brief.shots if s.role == "cta"))
    filler = filler_lines([c for c in claims if not c.reviewed], d.facts, d.brief.offer, ctas)  # a creative's own aside
    measures = {"unsupported_claims": float(len(bad)), "policy_breaches": float(len(breaches)),
                "repeated_lines": float(len(repeated)), "warnings_as_claims": float(len(fine)),
                "filler_lines": float(len(filler))}  # fmt: skip
    r = Result(measures, claims=claims)
    for code, lines, says, fix in (
        ("policy_breach", breaches, "break ad policy",
         "drop the line or say it without the flagged words; use the fact sheet's allowed claims only"),
        ("unsupported_claim", bad, "say what the product's text does not",
         "say only what the product's own text says (its claims and attributes), or use a neutral line"),
        ("warning_as_claim", fine, "sell with a warning or notice",
         "sell with the fact sheet's claims (benefits, features, ingredients, uses); warnings only as small print"),
    ):  # fmt: skip
        for agent in dict.fromkeys(c.agent for c in lines):
            own = [c for c in lines if c.agent == agent]
            quoted = "; ".join(f"'{c.text}' ({c.reason})" for c in own[:3])
            r.fail(code, agent, f"{len(own)} line(s) {says}: {quoted}", fix)
    for c in [c for c in claims if MARKUP.search(c.text)][:1]:
        r.fail("markup_shown", c.agent, f"markup in a {c.where}: {c.text[:40]!r}", "write the text without markup")
    unsaid = [u for u in unsaid_facts(claims, d.facts) if not foreign_words(u)]  # what the voice could say
    if len(filler) > MAX_FILLER and not unsaid:
        r.notes.append(
            f"critic: {len(filler)} lines say nothing of the product, but every fact of its text is already said: "
            "the ad is longer than its title has things to say"
        )
    elif len(filler) > MAX_FILLER:
        r.fail(
            "filler",
            author(filler[0], [d.brief.headline, *(s.message for s in d.brief.shots)], "audio"),
            f"{len(filler)} lines say nothing of the product ({', '.join(repr(f) for f in filler[:3])}) while its "
            f"text has more to say: {', '.join(repr(u) for u in unsaid[:3])}",
            "give each line a fact of the product (a claim, its kind, name, brand or size); only the CTA may just sell",
        )
    if repeated:
        r.fail(
            "repeated_line",
            author(repeated[0], [d.brief.headline, *(s.message for s in d.brief.shots)], "audio"),
            f"said more than once: {', '.join(repr(v) for v in repeated[:3])}",
            "give each shot its own line; only the call to action may repeat",
        )
    return r


def layout(d: DraftView) -> Result:
    """No text over other text or over the product, none under the platform's UI."""
    hits = collisions(d.draft.text_boxes)
    zoned = in_ui_zones(d.draft.text_boxes, d.width, d.height)
    r = Result({"layout_collisions": float(len(hits)), "text_in_ui_zones": float(len(zoned))})
    for agent in dict.fromkeys(owner(a, b) for a, b in hits):
        mine = [(a, b) for a, b in hits if owner(a, b) == agent]
        a, b = mine[0]
        r.fail(
            "collision",
            agent,
            f"{len(mine)} overlap(s), e.g. {a.kind} '{a.text[:20]}' over {b.kind} '{b.text[:20]}' "
            f"at {max(a.start, b.start):.1f}s",
            "move the text clear of the product and of other text",
        )
    for agent in dict.fromkeys(owner(b) for b, _ in zoned):
        mine = [(b, z) for b, z in zoned if owner(b) == agent]
        b, zone = mine[0]
        r.fail(
            "ui_zone",
            agent,
            f"{len(mine)} text(s) under the platform's {zone}, e.g. {b.kind} '{b.text[:20]}'",
            "keep text out of the right-hand action column and the bottom caption bar",
        )
    return r


def unplanned(d: DraftView) -> Result:
    """Text found on the whole frames where no plan put it (rewards/perception.unplanned_text): over the
    product or other text, cut by the frame's edge, or under the platform's UI. No plan drew it, so the agent
    that lays text over the picture (effects) is sent to clear it; what it says is grounded with the rest of
    what is read (`perceived`)."""
    rb = d.readback
    if rb is None or not rb.whole:
        return Result()
    label = set(norm_words(" ".join(x for x in (d.facts and d.facts.brand, d.facts and d.facts.name) if x)))
    starts = {s.index: s.start for s in d.visual.shots}
    quiet = [(starts[tr.after_shot + 1] - tr.duration / 2 - 0.05, starts[tr.after_shot + 1] + tr.duration / 2 + 0.05)
             for tr in d.effects.transitions if tr.kind == "slide" and tr.after_shot + 1 in starts]  # fmt: skip
    photos = [(s.start, s.start + s.duration) for s in d.visual.shots if s.asset == "user_image"]
    placed = unplanned_text(rb, d.draft.text_boxes, d.width, d.height, label, quiet, photos)
    over = [(t, s, where) for t, s, where in placed if where != "free"]
    found = [(t, s) for t, s, _ in placed]
    cut = [(t, s) for t, s in found if off_frame(s, d.width, d.height)]
    boxes = tuple(TextBox(kind="sticker", text=s.text, start=t, end=t, box=s.box, color="", contrast=21.0)
                  for t, s in found)  # fmt: skip
    zoned = in_ui_zones(boxes, d.width, d.height)
    claims = ([] if d.facts is None else [
        (t, s, label_line(s.text, d.facts, d.brief.offer if d.brief else None)) for t, s in found])  # fmt: skip
    unsupported = [(t, s, why) for t, s, (lab, _, why) in claims if lab == "unsupported"]
    r = Result({"unplanned_text": float(len(found)), "text_off_frame": float(len(cut)),
                "unplanned_over": float(len(over)), "unplanned_unsupported": float(len(unsupported))})  # fmt: skip
    if unsupported:  # what no plan said is grounded too: another product's name burned in is a claim
        t, s, why = unsupported[0]
        r.fail("unsupported_claim", "effects", f"{len(unsupported)} text(s) no plan drew say what the product's "
               f"text does not, e.g. {s.text[:30]!r} at {t:.1f}s ({why})",
               "show only the planned text: remove what was added over the picture")  # fmt: skip
    if over:
        t, s, where = over[0]
        r.fail("collision", "effects", f"{len(over)} text(s) no plan drew over the "
               f"{'product' if where == 'product' else 'planned text'}, e.g. {s.text[:30]!r} at {t:.1f}s",
               "show only the planned text: remove what was added over the picture")  # fmt: skip
    if cut:
        t, s = cut[0]
        r.fail("text_off_frame", "effects", f"{len(cut)} text(s) cut by the frame's edge, e.g. {s.text[:30]!r} at "
               f"{t:.1f}s", "keep every text inside the frame's safe area")  # fmt: skip
    if zoned:
        b, zone = zoned[0]
        r.fail("ui_zone", "effects", f"{len(zoned)} text(s) no plan drew under the platform's {zone}, e.g. "
               f"{b.text[:30]!r} at {b.start:.1f}s",
               "keep text out of the action column and the caption bar")  # fmt: skip
    return r


def perceived(d: DraftView) -> Result:
    """The rendered file as a viewer gets it: planned text readable where it was drawn, no markup on screen,
    the voice understood, and something seen or heard in the first second."""
    rb = d.readback
    if rb is None:
        return Result()
    r = Result({"readback_s": round(rb.seconds, 3)})
    shares = {b: read_share(b, rb.frames, d.width, d.height) for b in d.draft.text_boxes}
    judged = {b: x for b, x in shares.items() if x is not None}
    unread = sorted({w for b in d.draft.text_boxes for w in b.text.split() if not ocr_can_read(w)})
    if unread:
        r.notes.append(
            f"critic: the OCR model does not read {' '.join(unread)[:40]!r} (not Latin or Chinese script); "
            "those words were not checked on screen"
        )
    if judged:
        r.measures["ocr_readback"] = sum(x >= READ_WORDS for x in judged.values()) / len(judged)
        r.measures["ocr_elements"] = float(len(judged))
        for agent, kinds in (("visual", {"headline"}), ("effects", {"subtitle", "sticker", "cta"})):
            lost = [b for b, x in judged.items() if x < UNREADABLE and b.kind in kinds]
            if lost:
                r.fail(
                    "text_unreadable",
                    agent,
                    f"{len(lost)} planned text(s) cannot be read back from the video, e.g. {lost[0].kind} "
                    f"'{lost[0].text[:30]}' at {lost[0].start:.1f}s",
                    "draw the text larger, on a calmer or darker area, or with a backdrop",
                )
    if rb.frames:
        markup = markup_seen(rb.frames)
        if markup:
            r.fail("markup_shown", "instruct", f"markup on screen: {markup[0]!r}", "write text without markup")
        if d.facts is not None:
            r.claims += [
                ClaimCheck(text=s.text, where="seen", agent="visual", label=lab, source=src, reason=why)
                for s in dict.fromkeys(copy_read(rb, d.draft.text_boxes, d.width, d.height))
                for lab, src, why in [label_line(s.text, d.facts, d.brief.offer if d.brief else None)]
            ]
    if rb.heard is not None and d.tracks.lines:
        r.measures["voice_wer"] = round(voice_wer([ln.text for ln in d.tracks.lines], [h.word for h in rb.heard]), 4)
        if r.measures["voice_wer"] > MAX_WER:
            r.fail(
                "voice_unclear",
                "audio",
                f"{r.measures['voice_wer']:.0%} of the script's words are not heard as written",
                "speak more slowly or duck the music further under the voice",
            )
    offset = voice_offset(d.tracks.lines, rb.heard) if rb.heard else None
    if offset is not None:
        r.measures["voice_offset_s"] = round(offset, 3)
        if abs(offset) > MAX_VOICE_OFFSET_S:
            r.fail(
                "av_offset",
                "audio",
                f"the voice is heard {offset:+.2f}s off where its words were placed, and their subtitles shown",
                "mix the voice again against the picture",
            )
    if rb.heard:
        ratio = voice_over_music_db(d.probe.audio, d.probe.audio_rate, rb.heard, d.visual.duration_s)
        if ratio is not None:  # measured, not judged: a short voice over loud music reads as low as a buried one
            r.measures["voice_over_music_db"] = round(ratio, 2)
    r.measures["opening_s"] = round(min(opening_s(rb, d.draft.text_boxes, d.width, d.height), d.visual.duration_s), 3)
    if r.measures["opening_s"] > SILENT_OPENING_S and (rb.frames or rb.heard is not None):
        r.fail(
            "silent_hook",
            "visual",
            f"nothing is heard or readable for the first {r.measures['opening_s']:.1f}s",
            "show the hook's line on screen from the first frame",
        )
    return r


def text_twice(d: DraftView) -> Result:
    """No text shown twice at once: a viewer reads the same words in two places as a mistake, not emphasis."""
    pairs = shown_twice(d.draft.text_boxes)
    r = Result({"text_shown_twice": float(len(pairs))})
    for agent in dict.fromkeys(owner(a, b) for a, b in pairs):
        a, b = next((a, b) for a, b in pairs if owner(a, b) == agent)
        r.fail(
            "text_twice",
            agent,
            f"{a.kind} '{a.text[:30]}' and {b.kind} '{b.text[:30]}' say the same at {max(a.start, b.start):.1f}s",
            "let each text on screen say its own thing: a different line, or one of the two left out",
        )
    return r


def product_colour(d: DraftView) -> Result:
    """The product shows the colour its title names ("Deep Blue" polish is blue on screen), measured at each
    product shot's keyframe in the rendered file; a user's own photo is the product as it is, not judged."""
    rb, colour = d.readback, d.facts.colour if d.facts else None
    if rb is None or colour is None or not rb.products:
        return Result()
    if any(s.asset == "user_image" for s in d.visual.shots):
        return Result(notes=["critic: the product is the user's photo; its colour is not checked"])
    seen = [shows_colour(v.inside, v.ring, colour.rgb) for v in rb.products]
    judged = [ok for ok, _ in seen if ok is not None]
    if not judged:
        return Result(notes=[f"critic: the product stands on a background of its own colour ({colour.phrase}); "
                             "its colour was not judged"])  # fmt: skip
    r = Result({"colour_agreement": sum(judged) / len(judged), "colour_share": float(np.median([x for _, x in seen]))})
    if r.measures["colour_agreement"] < 0.5:
        r.fail(
            "colour_mismatch",
            "visual",
            f"the title names the colour {colour.phrase!r}; the product on screen shows it in "
            f"{sum(judged)} of {len(judged)} product shots",
            f"draw the product in {colour.phrase.lower()}",
        )
    return r


CHECKS: tuple[Check, ...] = (
    streams,
    voice_overrun,
    loudness,
    subtitle_sync,
    safe_area,
    text_contrast,
    cta_at_end,
    black_frames,
    frozen,
    cuts_on_beat,
    grounding,
    layout,
    text_twice,
    perceived,
    unplanned,
    product_colour,
)


def evaluate(view: DraftView, checks: tuple[Check, ...] = CHECKS) -> Result:
    """Run every check; measurements merged, violations in check order."""
    out = Result()
    for check in checks:
        r = check(view)
        out.measures.update(r.measures)
        out.violations.extend(r.violations)
        out.claims.extend(r.claims)
        out.notes.extend(r.notes)
    return out
