"""Compositing: shots + transitions + grade + subtitles/stickers/CTA + the audio mix → an H.264/AAC mp4.

Frames are produced on demand by a moviepy VideoClip and streamed to the ffmpeg that imageio-ffmpeg ships.
While composing, every piece of text records where it landed and the contrast against what is behind it,
so the critic measures the draft rather than trusting the plan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from recgen.color import best_ink, contrast_ratio, hex_rgb, subtitle_backdrop
from recgen.errors import MediaError, RunStoreError
from recgen.layout import (
    CTA_Y,
    STICKER_Y,
    SUBTITLE_Y,
    SUBTITLE_Y_WITH_CTA,
    headline_top,
    subtitle_size,
    subtitle_width,
    text_width,
)
from recgen.schemas import (
    AudioTracks,
    ColorGrade,
    Draft,
    EffectsPlan,
    ShotClip,
    TextBox,
    VisualPlan,
)
from recgen.settings import Settings
from recgen.tools.typography import button_sprite, sticker_sprite, text_block
from recgen.tools.video_gen import LAYOUTS, FileShot, ShotRenderer, blend, ease


def grade_lut(g: ColorGrade) -> np.ndarray:
    """A per-channel lookup table for contrast and warmth (RGB order)."""
    x = np.arange(256, dtype=np.float32) / 255.0
    y = np.clip((x - 0.5) * g.contrast + 0.5, 0, 1)
    lut = np.stack([y * (1 + 0.08 * g.warmth), y, y * (1 - 0.08 * g.warmth)], axis=1)
    return (np.clip(lut, 0, 1) * 255).astype(np.uint8).reshape(256, 1, 3)


def grade_plate(img: np.ndarray, g: ColorGrade, vignette: bool) -> np.ndarray:
    """The whole grade is applied to the plates once, not to every frame; text overlays stay ungraded."""
    rgb = img[..., :3].astype(np.float32)
    if abs(g.saturation - 1.0) > 1e-3:
        gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        rgb = gray[..., None] + (rgb - gray[..., None]) * g.saturation
    if vignette and g.vignette > 0:
        h, w = rgb.shape[:2]
        yy, xx = np.ogrid[-1 : 1 : h * 1j, -1 : 1 : w * 1j]
        rgb *= (1 - g.vignette * 0.45 * np.clip(xx**2 + yy**2 - 0.35, 0, 1))[..., None]
    out = img.copy()
    out[..., :3] = cv2.LUT(np.ascontiguousarray(np.clip(rgb, 0, 255).astype(np.uint8)), grade_lut(g))
    return out


@dataclass
class _Overlay:
    kind: str
    text: str
    start: float
    end: float
    sprites: list[np.ndarray]  # alternatives (e.g. one per highlighted word)
    pos: tuple[int, int]
    color: str
    backdrop: str | None = None
    word_times: list[tuple[float, float]] = field(default_factory=list)
    inks: tuple[str, ...] = ()  # other colours its glyphs are drawn in (highlighted and spoken words)
    measured: TextBox | None = None


class Timeline:
    """Everything needed to produce the frame at time t of a draft."""

    def __init__(self, visual: VisualPlan, clips: list[ShotClip], effects: EffectsPlan, settings: Settings) -> None:
        self.W, self.H, self.fps = settings.width, settings.height, settings.fps
        self.shots = visual.shots
        self.duration = visual.duration_s
        by_index = {c.index: c for c in clips}
        missing = [s.index for s in visual.shots if s.index not in by_index]
        if missing:
            raise MediaError(f"shots {missing} have no rendered clip; re-run the render step")
        self.renderers = [self._load(by_index[s.index], effects.grade) for s in visual.shots]
        self.transitions = {t.after_shot: t for t in effects.transitions}
        self.effects = effects
        self.overlays = self._overlays(effects)
        self.headline_boxes: list[TextBox] = []  # headlines and products, one per shot, at its keyframe
        self.measured_shots: set[int] = set()

    def _load(self, clip: ShotClip, grade: ColorGrade) -> ShotRenderer | FileShot:
        if clip.scene_path.suffix != ".json":  # a backend that renders video files (any but the procedural one)
            return FileShot(clip.scene_path, self.W, self.H)
        r = ShotRenderer.load(clip.scene_path)
        r.bg = grade_plate(r.bg, grade, vignette=True)
        if r.product is not None:
            r.product = grade_plate(r.product, grade, vignette=False)
        r.turn = [grade_plate(p, grade, vignette=False) for p in r.turn]
        if r.card is not None:
            r.card = grade_plate(r.card, grade, vignette=False)
        return r

    # -- overlays -------------------------------------------------------------------------------------------
    def _overlays(self, fx: EffectsPlan) -> list[_Overlay]:
        W, H = self.W, self.H
        m = fx.safe_margin
        out: list[_Overlay] = []
        size = subtitle_size(H)
        box = subtitle_backdrop(fx.text_color)
        backdrop = box if fx.subtitle_backdrop else None
        # the word being spoken, when it is a highlight word already: the ink that reads best on the box
        spoken = best_ink(box)
        cta_start = fx.cta.start if fx.cta else self.duration + 1
        for sub in fx.subtitles:
            sprites = []
            words = [w.word for w in sub.words] or sub.text.split()
            for i in range(len(words)):
                hl = {w: fx.accent_color for w in sub.highlight}
                hl[words[i]] = fx.accent_color if words[i] not in sub.highlight else spoken
                sprites.append(
                    text_block(
                        sub.text,
                        fx.typeface,
                        size,
                        fx.text_color,
                        subtitle_width(W, m),
                        max_lines=2,
                        highlight=hl if sub.words else None,
                        backdrop=backdrop,
                    )[0]
                )
            sh, sw = sprites[0].shape[:2]
            cy = SUBTITLE_Y_WITH_CTA if sub.end > cta_start else SUBTITLE_Y
            out.append(
                _Overlay(
                    "subtitle",
                    sub.text,
                    sub.start,
                    sub.end,
                    sprites,
                    (int((W - sw) / 2), int(H * cy - sh / 2)),
                    fx.text_color,
                    backdrop,
                    [(w.start, w.end) for w in sub.words],
                    inks=(fx.accent_color, spoken) if sub.words else (),
                )
            )
        for st in fx.stickers:
            ink = max(("#ffffff", "#111014"), key=lambda c: contrast_ratio(hex_rgb(c), hex_rgb(fx.accent_color)))
            sp = sticker_sprite(st.text, st.kind, fx.typeface, int(H * 0.026), fx.accent_color, ink)
            sh, sw = sp.shape[:2]
            x = int(W * (1 - m) - sw) if st.anchor.endswith("right") else int(W * m)
            y = int(H * STICKER_Y[st.anchor.split("_")[0]])
            out.append(_Overlay("sticker", st.text, st.start, st.end, [sp], (x, y), ink, fx.accent_color))
        if fx.cta:
            c = fx.cta
            text_col = max(("#ffffff", "#111014"), key=lambda col: contrast_ratio(hex_rgb(col), hex_rgb(c.color)))
            base = button_sprite(
                c.text, fx.typeface, int(H * 0.036), c.color, text_col, text_width(W, CTA_Y, 1 - 2 * m)
            )
            big = cv2.resize(base, (int(base.shape[1] * 1.05), int(base.shape[0] * 1.05)), interpolation=cv2.INTER_AREA)
            sh, sw = base.shape[:2]
            out.append(
                _Overlay(
                    "cta",
                    c.text,
                    c.start,
                    c.end,
                    [base, big],
                    (int((W - sw) / 2), int(H * CTA_Y - sh / 2)),
                    text_col,
                    c.color,
                )
            )
        return out

    def _draw_overlays(self, frame: np.ndarray, t: float) -> None:
        for ov in self.overlays:
            if not ov.start <= t < ov.end + 1e-6:
                continue
            k = 0
            if ov.kind == "subtitle" and ov.word_times:
                k = max([i for i, (a, _) in enumerate(ov.word_times) if a <= t] or [0])
            elif ov.kind == "cta":
                k = int((t - ov.start) * 2) % 2  # gentle pulse
            sprite = ov.sprites[k]
            x, y = ov.pos
            if k and ov.kind == "cta":
                x -= (sprite.shape[1] - ov.sprites[0].shape[1]) // 2
                y -= (sprite.shape[0] - ov.sprites[0].shape[0]) // 2
            appear = ease((t - ov.start) / 0.2) if ov.kind in ("sticker", "cta") else 1.0
            if ov.measured is None:
                ov.measured = self._measure(frame, ov, sprite, x, y)
            blend(frame, sprite, x, y + int((1 - appear) * self.H * 0.02), opacity=appear)

    def _measure(self, frame: np.ndarray, ov: _Overlay, sprite: np.ndarray, x: int, y: int) -> TextBox:
        h, w = sprite.shape[:2]
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.W, x + w), min(self.H, y + h)
        region = frame[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
        behind = region.mean(0) if region.size else np.zeros(3)
        if ov.backdrop:  # text sits on its own backdrop (subtitle box, button, sticker fill)
            a = 190 / 255 if ov.kind == "subtitle" else 1.0
            behind = np.array(hex_rgb(ov.backdrop)) * a + behind * (1 - a)
        # every ink the glyphs are drawn in counts: the text is as readable as its weakest colour
        ratio, ink = min((contrast_ratio(hex_rgb(c), tuple(behind)), c) for c in (ov.color, *ov.inks))
        return TextBox(
            kind=ov.kind,
            text=ov.text,
            start=ov.start,
            end=ov.end,
            box=(x, y, x + w, y + h),
            color=ink,
            contrast=round(ratio, 2),
        )

    # -- frames ---------------------------------------------------------------------------------------------
    def _shot_at(self, t: float) -> int:
        for i, s in enumerate(self.shots):
            if t < s.start + s.duration:
                return i
        return len(self.shots) - 1

    def _shot_boxes(self, i: int) -> None:
        """Measure a shot once, at its keyframe: its headline (and the contrast behind it) and its product."""
        if i in self.measured_shots:
            return
        self.measured_shots.add(i)
        r, s = self.renderers[i], self.shots[i]
        headline, r.headline = getattr(r, "headline", None), None  # what is behind the text, not the text
        behind = r.frame(s.duration * 0.6)
        self._product_box(i, behind)
        if headline is not None:
            r.headline = headline
            hh, hw = headline.shape[:2]
            x, y = (self.W - hw) // 2, headline_top(LAYOUTS[s.composition][3], hh, self.H)
            region = behind[max(0, y) : y + hh, max(0, x) : x + hw].reshape(-1, 3).astype(np.float32)
            col = self.effects.text_color
            self.headline_boxes.append(
                TextBox(
                    kind="headline",
                    text=s.headline,
                    start=s.start,
                    end=s.start + s.duration,
                    box=(x, y, x + hw, y + hh),
                    color=col,
                    contrast=round(contrast_ratio(hex_rgb(col), tuple(region.mean(0))), 2),
                )
            )

    def _product_box(self, i: int, with_product: np.ndarray) -> None:
        """Where the product shows at the shot's keyframe: the pixels that change when it is left out (the
        headline is left out of both frames)."""
        r, s = self.renderers[i], self.shots[i]
        if getattr(r, "product", None) is None:
            return
        product, headline, r.product, r.headline = r.product, r.headline, None, None
        without = r.frame(s.duration * 0.6)
        r.product, r.headline = product, headline
        ys, xs = np.nonzero(np.abs(with_product.astype(np.int16) - without.astype(np.int16)).max(2) > 24)
        if xs.size:
            box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
            self.headline_boxes.append(
                TextBox(
                    kind="product", text="", start=s.start, end=s.start + s.duration, box=box, color="", contrast=21.0
                )
            )

    def frame(self, t: float) -> np.ndarray:
        i = self._shot_at(t)
        s = self.shots[i]
        frame = self.renderers[i].frame(t - s.start)
        if abs(t - (s.start + s.duration * 0.6)) <= 0.5 / self.fps:
            self._shot_boxes(i)
        # transition into the next shot (second half of its window) or out of the previous (first half)
        for j, boundary in ((i, s.start + s.duration), (i - 1, s.start)):
            tr = self.transitions.get(j)
            if tr is None or tr.kind == "cut" or tr.duration <= 0 or j < 0 or j + 1 >= len(self.shots):
                continue
            a0 = boundary - tr.duration / 2
            if not a0 <= t < boundary + tr.duration / 2:
                continue
            k = (t - a0) / tr.duration
            prev_f = frame if j == i else self.renderers[j].frame(t - self.shots[j].start)
            next_f = frame if j + 1 == i else self.renderers[j + 1].frame(max(0.0, t - self.shots[j + 1].start))
            if tr.kind == "crossfade":
                frame = cv2.addWeighted(prev_f, 1 - k, next_f, k, 0)
            elif tr.kind == "flash":
                base = prev_f if k < 0.5 else next_f
                frame = cv2.addWeighted(base, 1.0, np.full_like(base, 255), 0.85 * (1 - abs(2 * k - 1)), 0)
            elif tr.kind == "slide":
                shift = int(self.W * ease(k))
                frame = (
                    np.concatenate([prev_f[:, shift:], next_f[:, :shift]], axis=1)
                    if 0 < shift < self.W
                    else (next_f if shift >= self.W else prev_f)
                )
        self._draw_overlays(frame, t)
        return frame

    def text_boxes(self) -> tuple[TextBox, ...]:
        return tuple(self.headline_boxes) + tuple(o.measured for o in self.overlays if o.measured is not None)


def compose(
    visual: VisualPlan,
    clips: list[ShotClip],
    effects: EffectsPlan,
    tracks: AudioTracks,
    settings: Settings,
    out_path: Path,
    round_: int,
) -> Draft:
    """Render and encode one draft; written to a temporary name and moved into place when complete."""
    from moviepy import VideoClip

    t0 = time.perf_counter()
    timeline = Timeline(visual, clips, effects, settings)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.stem + ".partial.mp4")
    clip = VideoClip(frame_function=timeline.frame, duration=timeline.duration)
    try:
        clip.write_videofile(
            str(tmp),
            fps=settings.fps,
            codec="libx264",
            audio=str(tracks.mix_aac_path),  # encoded once by the audio step; copied, not re-encoded
            audio_codec="copy",
            preset=settings.x264_preset,
            threads=settings.render_threads,
            logger=None,
            ffmpeg_params=["-crf", str(settings.crf), "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
        )
    except OSError as e:
        raise RunStoreError(f"could not write {out_path} ({e}); check the run folder is writable") from e
    finally:
        clip.close()
    tmp.replace(out_path)
    return Draft(
        round=round_,
        path=out_path,
        duration=timeline.duration,
        text_boxes=timeline.text_boxes(),
        render_seconds=round(time.perf_counter() - t0, 3),
    )
