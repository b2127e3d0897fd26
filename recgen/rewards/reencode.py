"""Re-encoding: a rendered video → D-SIDs, from what a viewer perceives only (never from the plan).

Content: the words read on screen (OCR) and heard (ASR) through the catalog's own text encoder. Each
distinct line (the text of one sampled frame, one spoken sentence) is embedded on its own; the lines about
some product are kept (a slogan like "Take a moment" is close to no catalog item), and the mean of their
embeddings is quantised by the catalog itself: the codes of the catalog item nearest to it. Every line counts
once, so a name said and shown five times does not outweigh the one line that says what the product does.
(Quantising the mean through the residual codebooks instead put the first code of a title's own item right
for 63 % of 200 random items, the nearest item's codes for 99.5 %: a mean of line embeddings sits off the
item's own point, which embeds title, category path and brand together, and a code boundary is near.)

Creative: style measurements of the file — palette hue, saturation and brightness of the frames, motion
energy, cut rate from shot boundaries found in the frames, loudness, music tempo by onset detection, the
voice's word rate from ASR timings, and how much of the frame OCR finds text in — mapped into the creative
style space by a calibration fitted on renders of known styles (`Calibration`), then through the
creative RQ-KMeans.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recgen.sid.encoders import style_features, style_from_features
from recgen.sid.semantics import SIDSpace
from recgen.tools.asr import Heard
from recgen.tools.ocr import Seen
from recgen.tools.probes import CUT_DIFF, VideoProbe, frame_stats

MEASURES = (
    "hue_cos",
    "hue_sin",
    "brightness",
    "saturation",
    "motion",
    "cut_rate",
    "loudness",
    "tempo",
    "word_rate",
    "text_area",
)
CONTENT_MIN_SIM = 0.38  # a line is about some product when its nearest catalog item is this close: over the
# 12,101-item catalog the vocabulary's slogans reach at most 0.354, 95 % of ads' name and claim lines 0.403 or more
CALIBRATION_FILE = Path(__file__).with_name("creative_calibration.json")  # fitted by benchmarks/reencode.py


def onset_tempo(audio: np.ndarray, rate: int, lo: float = 60.0, hi: float = 180.0) -> float:
    """The music's tempo in BPM: onset envelope (spectral flux) of the bass band, where the beat lives and the
    voice's syllables do not, autocorrelated; the strongest lag within [lo, hi] BPM."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    hop, win = 512, 2048
    if len(mono) < rate * 2:
        return 0.0
    n = (len(mono) - win) // hop
    frames = np.lib.stride_tricks.sliding_window_view(mono, win)[::hop][:n] * np.hanning(win)
    freqs = np.fft.rfftfreq(win, 1 / rate)
    mag = np.abs(np.fft.rfft(frames, axis=1))[:, (freqs >= 30) & (freqs < 250)]
    flux = np.maximum(np.diff(np.log1p(10 * mag), axis=0), 0).sum(axis=1)
    flux = flux - flux.mean()
    ac = np.correlate(flux, flux, mode="full")[len(flux) - 1 :]
    bpm = 60.0 * (rate / hop) / np.maximum(np.arange(len(ac)), 1)
    ok = (bpm >= lo) & (bpm <= hi)
    if not ok.any() or ac[0] <= 0:
        return 0.0
    return float(bpm[ok][np.argmax(ac[ok])])


def perceive(p: VideoProbe, heard: list[Heard] | None, read: dict[float, list[Seen]] | None) -> dict[str, float]:
    """Raw style measurements of the rendered file (see MEASURES)."""
    st = frame_stats(p)
    words = heard or []
    span = (words[-1].end - words[0].start) if len(words) > 1 else 0.0
    area = max(p.width * p.height, 1)
    covered = [
        sum((b.box[2] - b.box[0]) * (b.box[3] - b.box[1]) for b in seen) / area for seen in (read or {}).values()
    ]
    return {
        "hue_cos": st.hue_cos,
        "hue_sin": st.hue_sin,
        "brightness": st.brightness,
        "saturation": st.saturation,
        "motion": float(np.median(st.diffs) / 255.0),
        "cut_rate": float((st.diffs > CUT_DIFF).sum() / max(p.duration, 1e-6)),
        "loudness": float(np.clip((p.lufs + 40) / 40, 0, 1)),
        "tempo": onset_tempo(p.audio, p.audio_rate) / 180.0,
        "word_rate": len(words) / span / 4.0 if span > 0 else 0.0,
        "text_area": float(np.mean(covered)) if covered else 0.0,
    }


def vector(measures: dict[str, float]) -> np.ndarray:
    return np.asarray([measures[k] for k in MEASURES], dtype=np.float64)


@dataclass
class Calibration:
    """A ridge map from measurements to the creative embedding (style_features), fitted on renders whose
    style is known; the creative side of a video is re-encoded through it."""

    weights: np.ndarray  # (len(MEASURES) + 1, embedding dims)

    @classmethod
    def fit(cls, measured: list[dict[str, float]], styles: list, alpha: float = 0.05) -> Calibration:
        x = np.stack([vector(m) for m in measured])
        x = np.hstack([x, np.ones((len(x), 1))])
        y = np.stack([style_features(s) for s in styles])
        reg = alpha * np.eye(x.shape[1])
        reg[-1, -1] = 0.0  # the intercept is not shrunk
        return cls(np.linalg.solve(x.T @ x + reg, x.T @ y))

    def embed(self, measures: dict[str, float]) -> np.ndarray:
        return np.append(vector(measures), 1.0) @ self.weights

    def save(self, path: Path) -> Path:
        Path(path).write_text(json.dumps({"measures": MEASURES, "weights": self.weights.tolist()}, indent=1))
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if tuple(data["measures"]) != MEASURES:
            raise ValueError(f"{path} was fitted on other measurements; refit it")
        return cls(np.asarray(data["weights"]))


@dataclass(frozen=True)
class Reencoded:
    content: tuple[int, ...]
    creative: tuple[int, ...]
    creative_embedding: tuple[float, ...]
    text: str  # the lines the content codes came from
    content_embedding: tuple[float, ...] = ()


def reencode(space: SIDSpace, calib: Calibration, measures: dict[str, float], lines: list[str] | str) -> Reencoded:
    emb = calib.embed(measures)
    style = style_from_features(emb)
    creative = space.creative_codes(style)
    lines = [lines] if isinstance(lines, str) else lines
    content, text, vec = content_codes(space, lines)
    return Reencoded(
        content, creative, tuple(round(float(v), 5) for v in style_features(style)), text,
        tuple(round(float(v), 5) for v in vec),
    )  # fmt: skip


def perceived_lines(heard: list[Heard] | None, read: dict[float, list[Seen]] | None) -> list[str]:
    """What a viewer read (the text on each sampled frame, read together: a wrapped line is one thought) and
    heard (each spoken sentence), once each, in order."""
    seen = [" ".join(s.text for s in (read or {})[t]) for t in sorted(read or {})]
    said, sentence = [], []
    for h in heard or []:
        sentence.append(h.word.strip())
        if h.word.rstrip().endswith((".", "!", "?")):
            said.append(" ".join(sentence))
            sentence = []
    said.append(" ".join(sentence))
    return list(dict.fromkeys(x.strip() for x in [*seen, *said] if x.strip()))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def content_codes(space: SIDSpace, lines: list[str]) -> tuple[tuple[int, ...], str, np.ndarray]:
    """Content codes of what was perceived (see the module's docstring); also the lines used and the
    embedding they were quantised from."""
    lines = list(dict.fromkeys(x.strip() for x in lines if x.strip())) or [" "]
    emb = _unit(space.encoder.encode(lines))
    items = _unit(space.item_emb)
    about = (emb @ items.T).max(axis=1) >= CONTENT_MIN_SIM
    if not about.any():
        about[:] = True
    vec = emb[about].mean(axis=0)
    nearest = int(np.argmax(items @ _unit(vec)))
    codes = tuple(int(c) for c in space.item_codes[nearest])
    return codes, " / ".join(x for x, ok in zip(lines, about, strict=True) if ok), vec


def code_match(a: tuple[int, ...], b: tuple[int, ...]) -> list[bool]:
    """Per level: does the prefix up to this level agree?"""
    out, same = [], True
    for x, y in zip(a, b, strict=False):
        same = same and x == y
        out.append(same)
    return out
