"""The creative style space: named presets are points in it, and any point decodes to concrete choices.

The sample products have no creatives yet, so each preset is spread into variants around it (documented
as synthetic); the creative RQ-KMeans is fitted on those. A rendered video's own style vector is measured
by tools/probes once it exists.
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable

import numpy as np

from recgen.color import contrast_ratio, hex_rgb
from recgen.errors import InputError
from recgen.schemas import STYLE_DIMS, CreativeSemantics, StyleVector
from recgen.vocabulary import VOCAB

PRESETS = VOCAB.presets  # name → Preset (prompts/vocabulary.json)

VOICE_ID = "en_US-joe-medium"


def preset_style(name: str) -> StyleVector:
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key not in PRESETS:
        raise InputError(f"unknown creative style {name!r}; choose one of: {', '.join(PRESETS)} or give a D-SID")
    return StyleVector(**dict(zip(STYLE_DIMS, PRESETS[key].style, strict=True)))


def preset_variants(per_preset: int, seed: int) -> tuple[list[str], list[StyleVector]]:
    """Synthetic creatives: each preset plus jittered neighbours (σ = 0.07 per dimension)."""
    rng = np.random.default_rng(seed)
    names, styles = [], []
    for name, preset in PRESETS.items():
        base = np.asarray(preset.style)
        for j in range(per_preset + 1):
            v = base if j == 0 else base + rng.normal(0, 0.07, size=len(base))
            v = np.clip(v, 0, 1)
            v[0] = v[0] % 1.0
            names.append(name)
            styles.append(StyleVector(**dict(zip(STYLE_DIMS, map(float, v), strict=True))))
    return names, styles


def _hex(h: float, s: float, v: float) -> str:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0), 1), min(max(v, 0), 1))
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def palette_for(style: StyleVector) -> tuple[str, ...]:
    """Background, secondary, accent and text colours that follow hue, brightness and saturation."""
    h, b, s = style.hue, style.brightness, style.saturation
    bg = _hex(h, s * 0.75, 0.12 + 0.83 * b)
    secondary = _hex(h + 0.06, s * 0.55, 0.2 + 0.7 * b)
    accent = _hex(h + (0.5 if s > 0.5 else 0.08), min(1.0, 0.35 + s), 0.95 if b < 0.5 else 0.75)
    light, dark = "#fbf8f2", "#16141a"
    behind = [hex_rgb(bg), hex_rgb(secondary)]
    text = max((light, dark), key=lambda c: min(contrast_ratio(hex_rgb(c), x) for x in behind))
    return bg, secondary, accent, text


def nearest_preset(style: StyleVector) -> str:
    from recgen.sid.encoders import style_features

    f = style_features(style)
    dists = {n: float(np.linalg.norm(f - style_features(preset_style(n)))) for n in PRESETS}
    return min(dists, key=dists.__getitem__)


def describe(style: StyleVector) -> tuple[str, ...]:
    pick = [
        ("dark" if style.brightness < 0.4 else "bright" if style.brightness > 0.7 else "mid-tone"),
        ("vivid" if style.saturation > 0.65 else "muted" if style.saturation < 0.35 else "soft colour"),
        ("fast cuts" if style.cut_rate > 0.65 else "slow cuts" if style.cut_rate < 0.3 else "steady cuts"),
        ("text-heavy" if style.text_density > 0.65 else "minimal text" if style.text_density < 0.3 else "some text"),
        ("high-energy music" if style.tempo > 0.7 else "gentle music" if style.tempo < 0.35 else "mid-tempo music"),
        ("bright voice" if style.voice > 0.65 else "low voice" if style.voice < 0.3 else "even voice"),
    ]
    return tuple(pick)


def creative_semantics(codes: tuple[int, ...], style: StyleVector) -> CreativeSemantics:
    """Decode a creative style into the concrete choices every agent reads."""
    preset = nearest_preset(style)
    p = PRESETS[preset]
    return CreativeSemantics(
        codes=codes,
        preset=preset,
        style=style,
        palette=palette_for(style),
        mood=p.mood,
        shot_seconds=round(3.6 - 2.4 * style.cut_rate, 2),
        music_genre=p.music_genre,
        tempo_bpm=round(70 + 70 * style.tempo, 1),
        voice_id=VOICE_ID,
        speaking_rate=round(0.9 + 0.25 * (0.5 * style.voice + 0.5 * style.tempo), 3),
        typeface=p.typeface,
        descriptors=describe(style),
    )


def synthetic_exposures(
    sequences: tuple[np.ndarray, ...],
    encode: Callable[[StyleVector], tuple[int, ...]],
    seed: int = 0,
    loyalty: float = 0.7,
) -> list[np.ndarray]:
    """Creative codes for every interaction of a data set that has no creatives (documented as synthetic).

    Each user gets a preferred preset; an interaction shows a jittered variant of it with probability
    `loyalty`, else of a random preset. This stands in for real exposure logs until rendered videos and
    their feedback exist, and gives the GRM a user-level style signal to learn.
    """
    rng = np.random.default_rng(seed)
    names = list(PRESETS)
    base = np.asarray([PRESETS[n].style for n in names])
    cache: dict[tuple[int, ...], tuple[int, ...]] = {}
    out = []
    for seq in sequences:
        liked = rng.integers(len(names))
        picks = np.where(rng.random(len(seq)) < loyalty, liked, rng.integers(len(names), size=len(seq)))
        vecs = np.clip(base[picks] + rng.normal(0, 0.05, (len(seq), base.shape[1])), 0, 1)
        codes = []
        for v in vecs:
            key = tuple(np.round(v, 2).tolist())
            if key not in cache:
                cache[key] = encode(StyleVector(**dict(zip(STYLE_DIMS, map(float, v), strict=True))))
            codes.append(cache[key])
        out.append(np.asarray(codes, dtype=np.int64))
    return out


Click = tuple[str, int, tuple[int, ...]]  # (user, item, creative codes of the clicked video)


def with_feedback(sequences: tuple[np.ndarray, ...], creatives: list[np.ndarray], users: tuple[str, ...],
                  clicks: list[Click]) -> tuple[tuple[np.ndarray, ...], list[np.ndarray]]:  # fmt: skip
    """Logged clicks join their viewer's sequence as their latest interactions, each with the creative codes
    of the video that was clicked: the real creative signal the synthetic exposures stand in for. `clicks`:
    (user, item, creative codes) in time order; users not in `users` are left out."""
    at = {u: i for i, u in enumerate(users)}
    seqs, cres = list(sequences), list(creatives)
    for user, item, creative in clicks:
        i = at.get(str(user))
        if i is None:
            continue
        seqs[i] = np.append(seqs[i], item)
        cres[i] = np.vstack([cres[i].reshape(-1, len(creative)), np.asarray([creative], dtype=np.int64)])
    return tuple(seqs), cres
