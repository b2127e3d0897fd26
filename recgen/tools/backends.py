"""The media backends behind the tools: one Protocol per kind (shot renderer, voice, music) and, per kind, a
registry from the name a run's settings give to the class that implements it.

A new backend is a class with the Protocol's method (in its own module) and one line in the registry below;
`Settings.<kind>_backend` takes its name. An unknown name fails when the run starts, listing the names."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from recgen.errors import BackendUnavailableError
from recgen.schemas import BgmSpec, ShotClip
from recgen.settings import Settings
from recgen.tools.music import Music, synthesize
from recgen.tools.specs import RenderArgs
from recgen.tools.tts import EspeakTTS, Speech, get_tts


class ShotRenderer(Protocol):
    name: str

    def render(self, args: RenderArgs, out_dir: Path) -> ShotClip: ...


class Voice(Protocol):
    name: str

    def speak(self, text: str, speaking_rate: float = 1.0) -> Speech: ...


class MusicSource(Protocol):
    name: str

    def compose(self, spec: BgmSpec, duration: float, rate: int) -> Music: ...


class ProceduralRenderer:
    """The CPU motion-graphics renderer (the offline default)."""

    name = "procedural"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def render(self, args: RenderArgs, out_dir: Path) -> ShotClip:
        from recgen.tools.video_gen import RenderContext, render_procedural_shot

        s = self.settings
        ctx = RenderContext(s.width, s.height, s.fps, args.typeface, args.text_color, s.cache_dir / "packshots")
        return render_procedural_shot(
            args.shot, args.product, args.palette, args.product_kind, ctx, out_dir, args.seed, args.label, args.colour
        )


class DiffusersRenderer:
    """A diffusers text-to-video pipeline from a local weights folder, on a GPU (loaded on first use)."""

    name = "diffusers"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.backend = _diffusers_pipeline(str(settings.diffusers_model_path))

    def render(self, args: RenderArgs, out_dir: Path) -> ShotClip:
        from PIL import Image

        from recgen.tools.probes import frame_at

        s, shot = self.settings, args.shot
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / f"shot_{shot.index:02d}.mp4"
        self.backend.generate(shot.prompt, shot.duration, s.width, s.height, s.fps, args.seed, out)
        key = out_dir / f"shot_{shot.index:02d}_key.png"
        Image.fromarray(frame_at(out, shot.duration * 0.6, (s.width // 32 * 32, s.height // 32 * 32))).save(key)
        return ShotClip.of(shot, "diffusers", out, key)


@functools.lru_cache(maxsize=2)
def _diffusers_pipeline(model_path: str):
    """Loaded once per process and shared by its runs (a server's or a batch worker's): loading takes
    far longer than a shot."""
    from recgen.tools.video_gen import DiffusersVideoBackend

    return DiffusersVideoBackend(Path(model_path) if model_path != "None" else None)


class SynthMusic:
    """The procedural synth: chords, bass, drums and plucks from the mood, on a known beat grid."""

    name = "procedural"

    def __init__(self, settings: Settings) -> None:
        pass

    def compose(self, spec: BgmSpec, duration: float, rate: int) -> Music:
        return synthesize(spec, duration, rate)


RENDERERS: dict[str, Callable[[Settings], ShotRenderer]] = {
    "procedural": ProceduralRenderer,
    "diffusers": DiffusersRenderer,
}
VOICES: dict[str, Callable[[Settings], Voice]] = {
    "piper": lambda s: get_tts("piper", s.render_threads),  # the packaged Piper voice; eSpeak NG when it is missing
    "espeak": lambda _s: EspeakTTS(),
}
MUSIC: dict[str, Callable[[Settings], MusicSource]] = {
    "procedural": SynthMusic,
}


def choose(registry: dict[str, Callable[[Settings], object]], name: str, kind: str, settings: Settings):
    if name not in registry:
        raise BackendUnavailableError(f"unknown {kind} backend {name!r}; choose one of: {', '.join(registry)}")
    return registry[name](settings)


def load_backends(settings: Settings) -> None:
    """Load every model a render uses (shot renderer, voice, and the critic's reading and listening) now, in
    this process, once: a batch's rendering worker pays for it while the first plan is being made, not
    inside its first video. A backend that is missing is left to fail, or to fall back, where the run uses it."""
    from recgen.tools.asr import get_asr
    from recgen.tools.ocr import get_ocr

    loaders = [lambda: choose(RENDERERS, settings.video_backend, "video", settings),
               lambda: choose(VOICES, settings.tts_backend, "voice", settings)]  # fmt: skip
    if settings.ocr_backend != "none":
        loaders.append(lambda: get_ocr(settings.render_threads).load())
    if settings.asr_backend != "none":
        loaders.append(lambda: get_asr(Path(settings.cache_dir), settings.render_threads))
    for load in loaders:
        try:
            load()
        except Exception:  # noqa: BLE001 - the run meets the same failure where it uses the backend, and reports it
            continue
