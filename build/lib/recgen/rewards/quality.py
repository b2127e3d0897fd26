"""Quality reward v1: measure a draft and turn each failed constraint into a violation for one agent.

Every check reads the rendered mp4 (probes) or what the compositor measured while drawing text; the
thresholds are the constraint levels the critic enforces.
"""

from __future__ import annotations

import numpy as np

from recgen.schemas import AudioTracks, Draft, EffectsPlan, Violation, VisualPlan
from recgen.tools.compositor import SAFE_BOTTOM, SAFE_TOP
from recgen.tools.probes import VideoProbe

DURATION_TOL = 0.1
LUFS_TOL = 2.0
PEAK_MAX_DB = -0.1  # decoded AAC reaching full scale is clipping
MIN_CONTRAST = 3.0  # WCAG AA for large text
SUB_SYNC_TOL = 0.25
MIN_CTA_SECONDS = 1.5
BLACK_LUMA = 12.0
FROZEN_SECONDS = 1.5
BEAT_TOL = 0.1


def measure(
    draft: Draft,
    p: VideoProbe,
    visual: VisualPlan,
    tracks: AudioTracks,
    effects: EffectsPlan,
    width: int,
    height: int,
    target_lufs: float,
) -> tuple[dict[str, float], list[Violation]]:
    m: dict[str, float] = {}
    v: list[Violation] = []
    plan_dur = visual.duration
    # --- structure ---------------------------------------------------------------------------------------------
    m["duration_error_s"] = abs(p.duration - plan_dur)
    if not p.has_video or not p.has_audio:
        v.append(
            Violation(
                code="missing_stream",
                agent="visual" if not p.has_video else "audio",
                message="the draft lacks a video or audio stream",
                fix="re-render the draft",
            )
        )
    # --- audio ----------------------------------------------------------------------------------------------
    m["voice_end_s"] = tracks.duration
    m["voice_overrun_s"] = max(0.0, tracks.duration - (plan_dur - 0.1))
    if m["voice_overrun_s"] > 0:
        v.append(
            Violation(
                code="voice_overrun",
                agent="audio",
                message=f"the voice ends at {tracks.duration:.2f}s, after the video ({plan_dur:.2f}s)",
                fix="shorten the voice lines or speak faster so every line ends inside its shot",
            )
        )
    m["lufs"] = p.lufs
    m["peak_db"] = p.peak_db
    if abs(m["lufs"] - target_lufs) > LUFS_TOL:
        v.append(
            Violation(
                code="loudness",
                agent="audio",
                message=f"loudness {m['lufs']:.1f} LUFS, target {target_lufs}",
                fix="re-mix to the target loudness",
            )
        )
    if m["peak_db"] > PEAK_MAX_DB:
        v.append(
            Violation(
                code="clipping",
                agent="audio",
                message=f"peaks reach {m['peak_db']:.2f} dBFS",
                fix="lower the mix or limit peaks below −1 dBFS",
            )
        )
    # --- effects --------------------------------------------------------------------------------------------
    starts = {ln.shot_index: ln for ln in tracks.lines}
    worst = 0.0
    for line in tracks.lines:
        subs = [s for s in effects.subtitles if s.start < line.end and s.end > line.start]
        if not subs:
            worst = max(worst, line.end - line.start)
            continue
        worst = max(worst, abs(min(s.start for s in subs) - line.start), abs(max(s.end for s in subs) - line.end) - 0.2)
    m["subtitle_sync_error_s"] = max(0.0, worst)
    if starts and m["subtitle_sync_error_s"] > SUB_SYNC_TOL:
        v.append(
            Violation(
                code="subtitle_sync",
                agent="effects",
                message=f"subtitles drift up to {worst:.2f}s from the voice",
                fix="rebuild the subtitles from the voice's word timings",
            )
        )
    m_x = effects.safe_margin * width * 0.5
    outside = [
        b
        for b in draft.text_boxes
        if b.box[0] < m_x or b.box[2] > width - m_x or b.box[1] < SAFE_TOP * height or b.box[3] > SAFE_BOTTOM * height
    ]
    m["text_outside_safe_area"] = float(len(outside))
    for agent, group in (
        ("visual", [b for b in outside if b.kind == "headline"]),
        ("effects", [b for b in outside if b.kind != "headline"]),
    ):
        if group:
            v.append(
                Violation(
                    code="safe_area",
                    agent=agent,
                    message=f"{len(group)} text element(s) leave the 9:16 safe area: "
                    + ", ".join(f"{b.kind} '{b.text[:20]}'" for b in group[:3]),
                    fix="shorten the headline" if agent == "visual" else "keep text inside the safe margins",
                )
            )
    low = [b for b in draft.text_boxes if b.contrast < MIN_CONTRAST]
    m["min_text_contrast"] = min([b.contrast for b in draft.text_boxes] or [21.0])
    if low:
        v.append(
            Violation(
                code="text_contrast",
                agent="effects",
                message=f"{len(low)} text element(s) below {MIN_CONTRAST}:1 contrast, e.g. {low[0].kind} "
                f"'{low[0].text[:20]}' at {low[0].contrast:.2f}:1",
                fix="put subtitles on a backdrop or change the text colour",
            )
        )
    cta = [b for b in draft.text_boxes if b.kind == "cta"]
    m["cta_seconds_at_end"] = max([plan_dur - b.start for b in cta if b.end >= plan_dur - 0.05] or [0.0])
    if m["cta_seconds_at_end"] < MIN_CTA_SECONDS:
        v.append(
            Violation(
                code="cta_missing",
                agent="effects",
                message=f"no call-to-action button is on screen for the last {MIN_CTA_SECONDS:.1f}s",
                fix="add a CTA button for the last 2 seconds",
            )
        )
    # --- visual ---------------------------------------------------------------------------------------------
    luma = p.luma() if len(p.frames) else np.zeros(1)
    m["black_frame_ratio"] = float((luma < BLACK_LUMA).mean())
    if m["black_frame_ratio"] > 0.05:
        v.append(
            Violation(
                code="black_frames",
                agent="visual",
                message=f"{m['black_frame_ratio']:.0%} of sampled frames are black",
                fix="use brighter backgrounds",
            )
        )
    diffs = np.abs(np.diff(p.frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3)) if len(p.frames) > 1 else np.ones(1)
    still, longest = 0, 0
    for d in diffs:
        still = still + 1 if d < 0.25 else 0
        longest = max(longest, still)
    m["longest_still_s"] = longest / p.sample_fps
    if m["longest_still_s"] >= FROZEN_SECONDS:
        v.append(
            Violation(
                code="frozen",
                agent="visual",
                message=f"the picture stands still for {m['longest_still_s']:.1f}s",
                fix="add camera motion to every shot",
            )
        )
    beats = np.asarray(tracks.beat_times)
    cuts = np.array([s.start for s in visual.shots[1:]])
    m["cut_beat_error_s"] = (
        float(np.abs(cuts[:, None] - beats[None, :]).min(1).mean()) if cuts.size and beats.size else 0.0
    )
    return m, v


def scores(m: dict[str, float], target_lufs: float) -> dict[str, float]:
    """0..1 per dimension; 1 is a draft that meets every constraint comfortably."""
    visual = np.mean(
        [
            1 - m["black_frame_ratio"],
            1.0 if m["longest_still_s"] < FROZEN_SECONDS else 0.3,
            max(0.0, 1 - m["cut_beat_error_s"] / 0.25),
            max(0.0, 1 - m["duration_error_s"] / 0.5),
        ]
    )
    audio = np.mean(
        [
            max(0.0, 1 - abs(m["lufs"] - target_lufs) / 6),
            1.0 if m["peak_db"] <= PEAK_MAX_DB else 0.5,
            max(0.0, 1 - m["voice_overrun_s"] / 2),
        ]
    )
    effects = np.mean(
        [
            max(0.0, 1 - m["subtitle_sync_error_s"] / 1.0),
            min(1.0, m["min_text_contrast"] / 4.5),
            1.0 if m["text_outside_safe_area"] == 0 else 0.4,
            min(1.0, m["cta_seconds_at_end"] / 2.0),
        ]
    )
    return {"visual": round(float(visual), 4), "audio": round(float(audio), 4), "effects": round(float(effects), 4)}
