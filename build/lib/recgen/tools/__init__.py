"""Real tool nodes the agents call through their tool masks; `build_registry` wires them to a run."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recgen.errors import InputError
from recgen.schemas import BgmSpec, Product, ShotClip, ShotPlan
from recgen.settings import Settings


def build_registry(settings: Settings, run_dir: Path) -> dict[str, Callable[..., Any]]:
    from recgen.tools import music, typography
    from recgen.tools.packshot import draw_packshot
    from recgen.tools.tts import get_tts
    from recgen.tools.video_gen import DiffusersVideoBackend, RenderContext, render_procedural_shot

    shots_dir = run_dir / "shots"
    diffusers: list[DiffusersVideoBackend] = []

    def text_to_video(
        shot: ShotPlan,
        product: Product,
        palette: tuple[str, ...],
        product_kind: str,
        typeface: str,
        text_color: str,
        seed: int,
    ) -> ShotClip:
        if settings.video_backend == "diffusers":
            if not diffusers:
                diffusers.append(DiffusersVideoBackend(settings.diffusers_model_path))
            out = shots_dir / f"shot_{shot.index:02d}.mp4"
            shots_dir.mkdir(parents=True, exist_ok=True)
            diffusers[0].generate(shot.prompt, shot.duration, settings.width, settings.height, settings.fps, seed, out)
            key = shots_dir / f"shot_{shot.index:02d}_key.png"
            from PIL import Image

            from recgen.tools.probes import frame_at

            Image.fromarray(
                frame_at(out, shot.duration * 0.6, (settings.width // 32 * 32, settings.height // 32 * 32))
            ).save(key)
            return ShotClip(
                index=shot.index,
                backend="diffusers",
                scene_path=out,
                keyframe_path=key,
                duration=shot.duration,
                plan_hash="",
            )
        ctx = RenderContext(settings.width, settings.height, settings.fps, typeface, text_color)
        return render_procedural_shot(shot, product, palette, product_kind, ctx, shots_dir, seed)

    def image_to_video(shot: ShotPlan, product: Product, **kw: Any) -> ShotClip:
        if product.image_path is None:
            raise InputError("image_to_video needs a product image; use text_to_video for products without one")
        return text_to_video(shot, product, **kw)

    tts = get_tts(settings.tts_backend)

    @functools.lru_cache(maxsize=256)
    def speak(text: str, rate: float):
        return tts.speak(text, rate)

    def bgm(spec: BgmSpec, duration: float, rate: int):
        return music.synthesize(spec, duration, rate)

    def typeset(text: str, typeface: str, size: int, max_width: int) -> int:
        """How many lines `text` needs at `size` within `max_width` (what the effects agent lays out)."""
        clean, _ = typography.printable(text, typeface)  # type: ignore[arg-type]
        return len(typography.wrap(clean, typography.font(typeface, size, True), max_width))  # type: ignore[arg-type]

    return {
        "text_to_video": text_to_video,
        "image_to_video": image_to_video,
        "packshot_asset": lambda kind, brand, name, height: draw_packshot(kind, brand, name, height),
        "tts": lambda text, rate: speak(text, round(float(rate), 3)),
        "bgm": bgm,
        "typography": typeset,
        "cta_button": typography.button_sprite,
        "sticker": typography.sticker_sprite,
        "transition": lambda kind, duration: (kind, float(duration)),
    }
