"""The video-format options the rendering benchmarks share."""

from __future__ import annotations

import argparse


def add_video_args(ap: argparse.ArgumentParser, width: int, height: int, fps: int, duration: float) -> None:
    ap.add_argument("--width", type=int, default=width)
    ap.add_argument("--height", type=int, default=height)
    ap.add_argument("--fps", type=int, default=fps)
    ap.add_argument("--duration", type=float, default=duration, help="seconds of video")
