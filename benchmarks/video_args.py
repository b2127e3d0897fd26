"""The video-format options the rendering benchmarks share."""

from __future__ import annotations

import argparse
import os
import platform
import sys


def add_video_args(ap: argparse.ArgumentParser, width: int, height: int, fps: int, duration: float) -> None:
    ap.add_argument("--width", type=int, default=width)
    ap.add_argument("--height", type=int, default=height)
    ap.add_argument("--fps", type=int, default=fps)
    ap.add_argument("--duration", type=float, default=duration, help="seconds of video")


def provenance() -> dict[str, str]:
    """The command and the machine a results file was made with (cores counted, not assumed)."""
    return {
        "command": "python " + " ".join(sys.argv),
        "machine": f"{platform.machine()}, {platform.processor() or platform.system()}, {os.cpu_count()} cores",
    }
