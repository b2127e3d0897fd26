"""Audio Alignment agent: voice lines timed to shots, voice and rate, BGM tempo and mood; tts + bgm tools."""

from __future__ import annotations

import numpy as np
from langgraph.runtime import Runtime

from recgen.agents.policy import AgentContext
from recgen.schemas import AudioPlan, AudioTracks, BgmSpec, TimedLine, VideoState, VoiceLinePlan, WordTiming
from recgen.tools.mixer import encode_aac, mix, resample, write_wav

LEAD_IN = 0.12  # a line starts this long after its shot
GAP = 0.08  # minimum silence between lines
TAIL = 0.25  # the voice ends at least this long before its shot does
_ROOT_HZ = {
    "calm": 110.0,
    "dramatic": 98.0,
    "bold": 123.5,
    "energetic": 130.8,
    "playful": 146.8,
    "clinical": 116.5,
    "warm": 110.0,
    "fresh": 138.6,
}


_LEAD_INS = ("made for ", "get ", "for ", "meet ", "this is ", "only ")


def shorten(text: str) -> str:
    """A shorter line that still reads: drop the last clause, else the lead-in ('Made for …'). Anything
    else would cut mid-phrase, so the line comes back unchanged and the caller decides."""
    body = text.rstrip(".!? ")
    for sep in (". ", ", ", " — ", " - "):
        if sep in body:
            return body.rsplit(sep, 1)[0] + "."
    low = body.lower()
    for lead in _LEAD_INS:
        if low.startswith(lead) and len(body) > len(lead) + 3:
            rest = body[len(lead) :]
            return rest[:1].upper() + rest[1:] + "."
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
        if text is not None:  # a line that cannot be shortened without cutting mid-phrase is left out
            lines.append(VoiceLinePlan(shot_index=shot.index, text=text, span=span))
            covered = shot.index + span - 1
    return AudioPlan(
        voice_id=c.voice_id,
        speaking_rate=round(rate, 3),
        lines=tuple(lines),
        bgm=BgmSpec(tempo_bpm=c.tempo_bpm, mood=c.mood, genre=c.music_genre, root_hz=_ROOT_HZ[c.mood], seed=ctx.seed),
        duck_db=-12.0 if c.style.loudness > 0.6 else -9.0,
        target_lufs=ctx.settings.target_lufs - (1.0 if "clipping" in fixes else 0.0),
    )


def audio_node(state: VideoState, runtime: Runtime) -> dict:
    rc = runtime.context
    s = rc.settings
    ctx = rc.agent_context("audio", state)
    toolbox = ctx.tools
    plan = rc.policy.plan_audio(ctx)
    duration = state.visual.duration
    starts = {sh.index: sh.start for sh in state.visual.shots}
    # voice track: each line at its shot's start, never overlapping the one before
    voice = np.zeros(int((duration + 30) * s.audio_rate), np.float32)
    timed, t_prev = [], 0.0
    backend = ""
    for line in plan.lines:
        speech = toolbox.call("tts", text=line.text, rate=plan.speaking_rate)
        backend = speech.backend
        audio = resample(speech.audio, speech.rate, s.audio_rate)
        start = max(starts.get(line.shot_index, 0.0) + LEAD_IN, t_prev + GAP)
        i0 = int(start * s.audio_rate)
        voice[i0 : i0 + len(audio)] += audio[: len(voice) - i0]
        words = tuple(
            WordTiming(word=w, start=round(start + a, 3), end=round(start + b, 3)) for w, a, b in speech.words
        )
        end = start + len(audio) / s.audio_rate
        timed.append(
            TimedLine(
                shot_index=line.shot_index,
                text=line.text,
                span=line.span,
                start=round(start, 3),
                end=round(end, 3),
                words=words,
            )
        )
        t_prev = end
    total = max(duration, t_prev)  # an overrunning voice is kept so the critic can hear it
    voice = voice[: int(total * s.audio_rate)]
    music = toolbox.call("bgm", spec=plan.bgm, duration=duration, rate=s.audio_rate)
    mixed, lufs = mix(voice, music.audio, s.audio_rate, plan.duck_db, plan.target_lufs)
    folder = rc.run_dir / "audio"
    tracks = AudioTracks(
        voice_path=write_wav(folder / "voice.wav", voice, s.audio_rate),
        bgm_path=write_wav(folder / "bgm.wav", music.audio, s.audio_rate),
        mix_path=(mix_wav := write_wav(folder / "mix.wav", mixed[: int(duration * s.audio_rate)], s.audio_rate)),
        mix_aac_path=encode_aac(mix_wav, folder / "mix.m4a"),
        lines=tuple(timed),
        beat_times=music.beats,
        duration=round(t_prev, 3),
        voice_backend=backend or "none",
    )
    (rc.run_dir / "plans").mkdir(parents=True, exist_ok=True)
    (rc.run_dir / "plans" / "audio_plan.json").write_text(plan.model_dump_json(indent=2))
    rc.emit("audio", f"{len(timed)} voice lines, voice ends {t_prev:.2f}s, mix {lufs:.1f} LUFS")
    return {"audio_plan": plan, "tracks": tracks, "tool_calls": toolbox.drain(), "notes": ctx.notes}
