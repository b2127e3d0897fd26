"""Defects seeded into a rendered video file — the pixels and the sound, never the plan — so a critic can be
tested (and benchmarked) on what a viewer would get: quieter or clipped sound, black or frozen stretches, the
voice gone, the call to action painted over, a headline veiled, the ending cut, the sound 0.3 s late, text
burned in where no plan put it (under the platform's UI, off the frame's edge, over the product or other
text, another product's name). Each
kind is one ffmpeg edit of a copy of the file."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recgen.errors import MediaError
from recgen.schemas import TextBox
from recgen.tools.probes import ffmpeg_exe


@dataclass(frozen=True)
class Seed:
    """What a defect needs to know about the video it is seeded into."""

    duration: float
    fps: float
    boxes: tuple[TextBox, ...] = ()
    music: Path | None = None  # the run's music alone (for "voice_removed")
    size: tuple[int, int] = (0, 0)  # the frame (for text burned in)
    phrase: str = "Shop the look"  # burned where no plan put it: words that claim nothing
    wrong_name: str = "Ocean Breeze Shaving Foam"  # another product's name, burned in


def _burn(
    s: Seed, text: str, where: Callable[[int, int, int, int], tuple[int, int]], name: str, fit: bool = False
) -> list[str]:
    """Text burned into the picture for two seconds from a third of the way in, as a careless edit adds a
    caption: white bold type on a dark band (readable anywhere), placed by `where(W, H, w, h)`."""
    from PIL import Image

    from recgen.tools.typography import text_block

    W, H = s.size
    if not W or not H:
        raise MediaError("burning text in needs the frame size")
    width, lines = (int(W * 0.8), 2) if fit else (W * 2, 1)  # `fit`: inside the frame, on up to two lines
    sprite, _ = text_block(text, "sans-bold", max(10, int(H * 0.045)), "#ffffff", width, max_lines=lines,
                           backdrop="#101014")  # fmt: skip
    h, w = sprite.shape[:2]
    x, y = where(W, H, w, h)
    png = Path(tempfile.gettempdir()) / f"recgen-burn-{name}-{W}x{H}-{abs(hash(text)) % 10**8}.png"
    Image.fromarray(sprite).save(png)
    a = round(s.duration * 0.3, 3)
    return ["-i", str(png), "-filter_complex", f"[0:v][1:v]overlay=x={x}:y={y}:enable='between(t,{a},{a + 2.0})'[v]",
            "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
            "-pix_fmt", "yuv420p", "-c:a", "copy"]  # fmt: skip


def _over(s: Seed, product: bool) -> Callable[[int, int, int, int], tuple[int, int]]:
    """Where a caption lands over the product (or over the planned text) shown longest while it is burned
    in: centred on it, inside the frame."""
    a = s.duration * 0.3
    boxes = [b for b in s.boxes if (b.kind == "product") == product]
    overlap = {b: min(b.end, a + 2.0) - max(b.start, a) for b in boxes}
    best = max(overlap, key=lambda b: (overlap[b], (b.box[2] - b.box[0]) * (b.box[3] - b.box[1])), default=None)
    if best is None or overlap[best] < 1.0:
        raise MediaError(
            f"no {'product' if product else 'planned text'} on screen at {a:.1f}–{a + 2:.1f}s to burn over"
        )
    cx, cy = (best.box[0] + best.box[2]) / 2, (best.box[1] + best.box[3]) / 2

    def where(W: int, H: int, w: int, h: int) -> tuple[int, int]:
        return int(min(max(cx - w / 2, 0.06 * W), 0.94 * W - w)), int(min(max(cy - h / 2, 0.06 * H), 0.9 * H - h))

    return where


def _video(vf: str) -> list[str]:
    return ["-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "copy"]


def _audio(af: str) -> list[str]:
    return ["-af", af, "-c:v", "copy", "-c:a", "aac", "-b:a", "160k"]


def _black(s: Seed) -> list[str]:
    a = round(s.duration * 0.4, 3)
    return _video(f"drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,{a},{a + 1.0})'")


def _frozen(s: Seed) -> list[str]:
    start, hold = int(s.duration * 0.3 * s.fps), int(round(2.0 * s.fps))  # one frame held 2 s, the rest later
    return [*_video(f"loop=loop={hold}:size=1:start={start},setpts=N/FRAME_RATE/TB"), "-t", f"{s.duration:.3f}"]


def _cta_painted(s: Seed) -> list[str]:
    cta = next((b for b in s.boxes if b.kind == "cta"), None)
    if cta is None:
        raise MediaError("the video has no call-to-action box to paint over")
    x0, y0, x1, y1 = cta.box
    pad = 6
    return _video(
        f"drawbox=x={max(0, x0 - pad)}:y={max(0, y0 - pad)}:w={x1 - x0 + 2 * pad}:h={y1 - y0 + 2 * pad}"
        f":color=0x404040:t=fill:enable='gte(t,{cta.start})'"
    )


def _text_faded(s: Seed) -> list[str]:
    """Contrast lowered in a text region: a grey veil over the first headline while it is shown."""
    head = next((b for b in s.boxes if b.kind == "headline"), None)
    if head is None:
        raise MediaError("the video has no headline to fade")
    x0, y0, x1, y1 = head.box
    return _video(
        f"drawbox=x={x0}:y={y0}:w={x1 - x0}:h={y1 - y0}:color=0x9a9a9a@0.85:t=fill"
        f":enable='between(t,{head.start},{head.end})'"
    )


def _ends_early(s: Seed) -> list[str]:
    """The last 2 seconds cut (and the call to action with them), as a careless trim of an export does."""
    return ["-t", f"{max(1.0, s.duration - 2.0):.3f}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
            "-pix_fmt", "yuv420p", "-c:a", "aac"]  # fmt: skip


def _voice_removed(s: Seed) -> list[str]:
    if s.music is None:
        raise MediaError("removing the voice needs the run's music track")
    return ["-i", str(s.music), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-t", f"{s.duration:.3f}"]


# kind → (the ffmpeg arguments after the input, the check code a critic must raise, the agent it is routed to)
DEFECTS: dict[str, tuple[Callable[[Seed], list[str]], str, str]] = {
    "quiet": (lambda s: _audio("volume=-8dB"), "loudness", "audio"),
    "clipping": (lambda s: _audio("volume=18dB"), "clipping", "audio"),
    "black_frames": (_black, "black_frames", "visual"),
    "frozen": (_frozen, "frozen", "visual"),
    "voice_removed": (_voice_removed, "voice_unclear", "audio"),
    "cta_painted_over": (_cta_painted, "text_unreadable", "effects"),
    "text_faded": (_text_faded, "text_contrast", "visual"),
    "audio_delayed": (lambda s: [*_audio("adelay=300:all=1"), "-t", f"{s.duration:.3f}"], "av_offset", "audio"),
    "ends_early": (_ends_early, "duration_off", "visual"),
    # text no plan drew, found on the whole frames: under the action column, cut by the frame's left edge,
    # and another product's name (grounded with the rest of what is read)
    "text_in_ui_zone": (lambda s: _burn(s, s.phrase, lambda W, H, w, h: (int(W * 0.97) - w, int(H * 0.55)), "ui"),
                        "ui_zone", "effects"),
    "text_off_frame": (lambda s: _burn(s, s.phrase, lambda W, H, w, h: (-w // 3, int(H * 0.45)), "off"),
                       "text_off_frame", "effects"),
    "wrong_name": (lambda s: _burn(s, s.wrong_name, lambda W, H, w, h: ((W - w) // 2, int(H * 0.62)), "name", True),
                   "unsupported_claim", "effects"),
    # the same words burned over the product, and over the planned text on screen
    "text_over_product": (lambda s: _burn(s, s.phrase, _over(s, True), "over-product", True), "collision", "effects"),
    "text_over_text": (lambda s: _burn(s, s.phrase, _over(s, False), "over-text", True), "collision", "effects"),
}  # fmt: skip


def seed_defect(video: Path, kind: str, seed: Seed, out: Path) -> Path:
    """A copy of `video` with the defect `kind` in its pixels or sound, written to `out`."""
    if kind not in DEFECTS:
        raise MediaError(f"unknown defect {kind!r}; one of {', '.join(DEFECTS)}")
    args = DEFECTS[kind][0](seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(video), *args, str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0 or not out.is_file():
        raise MediaError(f"ffmpeg could not seed {kind!r} into {video.name}: {done.stderr.strip()[-300:]}")
    return out
