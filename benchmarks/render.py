"""Render benchmark: wall seconds per second of video, per stage, and render+encode vs a bare encode.

Runs the demo ad (720×1280, 24 fps, 15 s by default) with one forced critic revision (the first effects
plan omits the CTA, as in the tests), then re-renders the final draft's frames into memory and encodes
them with the same ffmpeg settings: that bare encode is the encoder limit our compose is compared with.

    python benchmarks/render.py [--width 720 --height 1280 --duration 15]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from video_args import add_video_args

from recgen import Settings, generate_video
from recgen.agents.builtin import BuiltinPolicy
from recgen.tools.compositor import Timeline


class OneRevision(BuiltinPolicy):
    """The first effects plan has no CTA, so the critic sends one revision back (the target includes one)."""

    def plan_effects(self, ctx):
        plan = super().plan_effects(ctx)
        return plan if ctx.fixes else plan.model_copy(update={"cta": None})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_video_args(ap, 720, 1280, 24, 15.0)
    ap.add_argument("--out", type=Path, default=Path("bench_out"))
    a = ap.parse_args()
    runs = Path(tempfile.mkdtemp(prefix="recgen-bench-"))
    s = Settings(runs_dir=runs, width=a.width, height=a.height, fps=a.fps, duration_s=a.duration)
    # warm the SID cache and the voice so the figures are the steady state a user sees on the second run
    generate_video(
        "8", "fresh-botanical", settings=s.model_copy(update={"duration_s": 4.0, "width": 144, "height": 256})
    )
    events: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    r = generate_video(
        "8",
        "fresh-botanical",
        settings=s,
        discount_pct=20,
        policy=OneRevision(),
        on_event=lambda node, msg: events.append((time.perf_counter(), node)),
    )
    total = time.perf_counter() - t0
    stages: dict[str, float] = {}
    prev = t0
    for t, node in events:
        stages[node] = stages.get(node, 0.0) + (t - prev)
        prev = t
    video_s = r.state.visual.duration_s
    final = r.state.drafts[-1]
    # the encoder limit: the same frames, already in memory, through the same encoder settings
    tl = Timeline(r.state.visual, r.state.clips, r.state.effects, s)
    n = int(round(video_s * s.fps))
    t1 = time.perf_counter()
    frames = [tl.frame(i / s.fps) for i in range(n)]
    render_only = time.perf_counter() - t1
    out = Path(tempfile.mkdtemp()) / "bare.mp4"
    t2 = time.perf_counter()
    w = imageio_ffmpeg.write_frames(
        str(out),
        (s.width, s.height),
        fps=s.fps,
        codec="libx264",
        output_params=["-preset", s.x264_preset, "-crf", str(s.crf), "-threads", str(s.render_threads)],
        pix_fmt_out="yuv420p",
    )
    w.send(None)
    for f in frames:
        w.send(np.ascontiguousarray(f))
    w.close()
    bare = time.perf_counter() - t2
    rounds = len(r.reports)
    result = {
        "video_seconds": video_s,
        "resolution": f"{s.width}x{s.height}@{s.fps}",
        "rounds": rounds,
        "wall_seconds": round(total, 2),
        "wall_per_video_second": round(total / video_s, 3),
        "stages_per_video_second": {k: round(v / video_s, 3) for k, v in stages.items()},
        "compose_seconds_final_round": final.render_seconds,
        "frames_only_seconds": round(render_only, 2),
        "bare_encode_seconds": round(bare, 2),
        "compose_vs_bare_encode": round(final.render_seconds / bare, 2),
        "verdicts": [x.verdict for x in r.reports],
    }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "render.json").write_text(json.dumps(result, indent=2))
    print(f"demo ad {video_s:.1f}s at {result['resolution']}, {rounds} draft(s) ({' → '.join(result['verdicts'])})")
    print(f"whole run            {total:7.2f} s   {total / video_s:6.3f} s per video second")
    for k, v in stages.items():
        print(f"  {k:<18} {v:7.2f} s   {v / video_s:6.3f} s per video second")
    print(f"compose (render+encode) of the final draft {final.render_seconds:6.2f} s")
    print(f"  frames alone          {render_only:6.2f} s")
    print(f"  bare ffmpeg encode    {bare:6.2f} s   (same frames, preset {s.x264_preset}, crf {s.crf})")
    print(f"  ratio compose / bare  {final.render_seconds / bare:6.2f}×")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
