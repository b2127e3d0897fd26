"""All configuration in one pydantic-settings object (env prefix RECGEN_), passed in, never global."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    """The shared data sets live beside the checkout (../shared/data); the cwd is tried first."""
    here = Path(__file__).resolve().parent.parent
    for cand in (Path.cwd() / "../shared/data", here / "../shared/data", Path.cwd() / "shared/data"):
        if (cand / "amazon-beauty").is_dir():
            return cand.resolve()
    return (here / "../shared/data").resolve()


class Settings(BaseSettings):
    """Backends, paths, video format and budgets of a run."""

    model_config = SettingsConfigDict(env_prefix="RECGEN_", extra="forbid")

    runs_dir: Path = Field(Path("runs"), description="Run folders and the checkpoint database live here.")
    data_dir: Path = Field(default_factory=_default_data_dir, description="Folder holding amazon-beauty/.")
    cache_dir: Path = Field(
        Path.home() / ".cache" / "recgen", description="Fitted SID spaces and text embeddings are cached here."
    )

    width: int = Field(720, ge=64, le=2160, description="Output width in pixels (9:16 by default).")
    height: int = Field(1280, ge=64, le=3840, description="Output height in pixels.")
    fps: int = Field(24, ge=4, le=60)
    duration_s: float = Field(15.0, description="Target length of the ad in seconds.")
    min_shots: int = Field(4, ge=2, le=12)
    max_shots: int = Field(8, ge=2, le=12)

    max_revisions: int = Field(2, ge=0, le=5, description="Critic revision rounds after the first draft.")
    compare_frames: bool = Field(
        True,
        description="Check each draft's frames against the videos of other products made with this cache "
        "folder (a frame index in it): an ad must not look like another product's.",
    )
    revise_on_reward: bool = Field(
        True,
        description="Also send back a clean draft whose combined reward falls short on a constraint the agent "
        "at fault has a fix for (once per constraint and run).",
    )
    constraints_file: Path | None = Field(
        None,
        description="Thresholds and multipliers of the constrained reward (recgen rewards calibrate); "
        "default: the calibration shipped with recgen.",
    )
    seed: int = 0
    llm_decision_s: float = Field(
        60.0, gt=0, le=3600,
        description="Deadline for one agent's LLM decision (retries, tool calls and the repair turn included); "
        "past it the built-in policy decides that step and the run says so.",
    )  # fmt: skip
    llm_run_s: float = Field(
        600.0, gt=0, le=86400,
        description="LLM time one run may spend in all; past it the built-in policy makes every further decision.",
    )  # fmt: skip

    video_backend: str = Field("procedural", description="Shot renderer: procedural, diffusers (tools/backends.py).")
    diffusers_model_path: Path | None = Field(None, description="Local weights for the diffusers backend.")
    tts_backend: str = Field("piper", description="Voice: piper, espeak (tools/backends.py).")
    music_backend: str = Field("procedural", description="Background music: procedural (tools/backends.py).")
    asr_backend: str = Field(
        "whisper", description="Speech recognition for word timings and the critic's listening: whisper, none."
    )
    ocr_backend: str = Field("rapidocr", description="Text recognition for the critic's reading: rapidocr, none.")
    x264_preset: str = Field("veryfast", description="libx264 preset for every encode.")
    crf: int = Field(21, ge=0, le=51)
    target_lufs: float = -14.0
    audio_rate: int = 44100
    render_threads: int = Field(
        2, ge=1, le=64, description="CPU threads one video may use: the encoder, OCR, speech recognition, the voice."
    )
    otel: bool = Field(False, description="Emit OpenTelemetry spans per node and tool call (needs recgen[otel]).")

    @field_validator("duration_s")
    @classmethod
    def _duration_ok(cls, v: float) -> float:
        if not 4.0 <= v <= 120.0:
            raise ValueError(f"duration must be between 4 and 120 seconds, got {v}")
        return v

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"video dimensions must be even for H.264, got {v}")
        return v
