"""Real tool nodes the agents call through their tool masks; `build_registry` binds each tool spec
(tools/specs.py) to the backends a run's settings choose (tools/backends.py)."""

from __future__ import annotations

import functools
from pathlib import Path

from recgen.errors import BackendUnavailableError, InputError
from recgen.settings import Settings
from recgen.tools.specs import (
    BgmArgs,
    PackshotArgs,
    RenderArgs,
    SpriteArgs,
    ToolSpec,
    TranscribeArgs,
    TtsArgs,
    TypographyArgs,
    size_of,
)


def build_registry(settings: Settings, run_dir: Path) -> dict[str, ToolSpec]:
    from recgen.tools import typography
    from recgen.tools.backends import MUSIC, RENDERERS, VOICES, choose
    from recgen.tools.packshot import draw_packshot

    shots_dir = run_dir / "shots"
    renderer = _lazy(lambda: choose(RENDERERS, settings.video_backend, "video", settings))
    voice = choose(VOICES, settings.tts_backend, "voice", settings)
    music = choose(MUSIC, settings.music_backend, "music", settings)

    def text_to_video(a: RenderArgs):
        return renderer().render(a, shots_dir)

    def image_to_video(a: RenderArgs):
        if a.product.image_path is None:
            raise InputError("image_to_video needs a product image; use text_to_video for products without one")
        return text_to_video(a)

    @functools.lru_cache(maxsize=256)
    def speak(text: str, rate: float):
        return voice.speak(text, rate)

    def lines_needed(a: TypographyArgs) -> int:
        """How many lines `text` needs at `size` within `max_width` (what the effects agent lays out)."""
        clean, _ = typography.printable(a.text, a.typeface)
        return len(typography.wrap(clean, typography.font(a.typeface, a.size, True, clean), a.max_width))

    def transcribe(a: TranscribeArgs):
        from recgen.tools.asr import HEARD_DIR, listen
        from recgen.tools.probes import DECODE_RATE, decode_audio

        if settings.asr_backend == "none":
            raise BackendUnavailableError("speech recognition is off (RECGEN_ASR_BACKEND=none)")
        if not Path(a.path).is_file():
            raise InputError(f"no audio file at {a.path}")
        audio, threads = decode_audio(a.path), settings.render_threads
        return listen(audio, DECODE_RATE, settings.cache_dir, a.prompt, run_dir / HEARD_DIR, threads)

    def sprite(a: SpriteArgs):
        if a.kind == "button":
            return typography.button_sprite(a.text, a.typeface, a.size, "#000000", "#ffffff", a.max_width)
        return typography.sticker_sprite(a.text, a.kind, a.typeface, a.size, "#000000", "#ffffff")

    specs = (
        ToolSpec("text_to_video", "Render one shot from its plan.", RenderArgs, text_to_video),
        ToolSpec("image_to_video", "Render one shot around the product's own image.", RenderArgs, image_to_video),
        ToolSpec(
            "packshot_asset",
            "Draw the product packshot and return its size in pixels.",
            PackshotArgs,
            lambda a: draw_packshot(a.kind, a.brand, a.name, a.height),
            size_of,
        ),
        ToolSpec(
            "tts",
            "Speak a voice line with the run's voice and return how many seconds it lasts.",
            TtsArgs,
            lambda a: speak(a.text, round(float(a.rate), 3)),
            lambda speech: {"seconds": round(speech.seconds, 3)},
        ),
        ToolSpec(
            "bgm",
            "Compose background music and return its beat times (cut on these).",
            BgmArgs,
            lambda a: music.compose(a.spec, a.duration, a.rate),
            lambda m: {"beats": [round(b, 3) for b in m.beats[:64]]},
        ),
        ToolSpec(
            "typography",
            "Set a text and return how many lines it needs at that size and width.",
            TypographyArgs,
            lines_needed,
            lambda n: {"lines": int(n)},
        ),
        ToolSpec("transcribe", "Listen to an audio file: the words heard and when.", TranscribeArgs, transcribe),
        ToolSpec("cta_button", "Draw a call-to-action button and return its size.", SpriteArgs, sprite, size_of),
        ToolSpec("sticker", "Draw a price, discount or badge sticker; returns its size.", SpriteArgs, sprite, size_of),
    )
    return {s.name: s for s in specs}


def _lazy(make):
    """Build a backend on first use (a GPU pipeline is only loaded when a shot is rendered)."""
    return functools.cache(make)
