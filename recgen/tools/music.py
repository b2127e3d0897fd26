"""Background music: a procedural synth driven by tempo, mood and genre, with a known beat grid.

Chords, bass, pad, drums and plucks are synthesised with numpy; the beat times are returned with the audio
so the visual agent can land cuts on beats and the critic can check them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recgen.schemas import BgmSpec
from recgen.vocabulary import VOCAB

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_QUALITY = {"maj": (0, 4, 7), "min": (0, 3, 7), "maj7": (0, 4, 7, 11), "sus2": (0, 2, 7)}


@dataclass(frozen=True)
class Music:
    audio: np.ndarray  # float32, (n, 2)
    rate: int
    beats: tuple[float, ...]
    bar_seconds: float


def beat_grid(tempo_bpm: float, duration: float) -> tuple[float, ...]:
    step = 60.0 / tempo_bpm
    return tuple(round(k * step, 4) for k in range(int(duration / step) + 1))


def _env(n: int, rate: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / rate
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / max(decay, 1e-4))


def _drums(out: np.ndarray, tempo_bpm: float, duration: float, drums: float, rate: int, rng) -> None:
    """Kick on the beat (every other beat when sparse), hats on the off-beats, a snare on beat 3."""
    n, beat = len(out), 60.0 / tempo_bpm
    for k, bt in enumerate(beat_grid(tempo_bpm, duration)):
        s = int(bt * rate)
        if s >= n:
            break
        if drums > 0.3 and (k % 2 == 0 or drums > 0.8):
            m = min(n - s, int(0.25 * rate))
            tk = np.arange(m) / rate
            kick = np.sin(2 * np.pi * (50 + 90 * np.exp(-tk * 30)) * tk) * np.exp(-tk * 9) * 0.4 * drums
            out[s : s + m] += kick[:, None]
        if drums > 0.0:
            h = int(bt * rate + beat * rate / 2)
            m = min(n - h, int(0.05 * rate)) if h < n else 0
            if m > 0:
                hat = rng.normal(0, 1, m) * np.exp(-np.arange(m) / rate * 60) * 0.05 * drums
                out[h : h + m] += hat[:, None]
        if drums > 0.6 and k % 4 == 2:
            m = min(n - s, int(0.18 * rate))
            snare = rng.normal(0, 1, m) * np.exp(-np.arange(m) / rate * 18) * 0.12
            out[s : s + m] += snare[:, None]


def synthesize(spec: BgmSpec, duration: float, rate: int) -> Music:
    m = VOCAB.moods[spec.mood]
    degrees, quality, drums, plucks = m.music_chords, m.music_quality, m.music_drums, m.music_plucks
    scale = _MINOR if quality == "min" else _MAJOR
    rng = np.random.default_rng(spec.seed)
    n = int(duration * rate)
    out = np.zeros((n, 2), dtype=np.float64)
    beat = 60.0 / spec.tempo_bpm
    bar = 4 * beat
    t = np.arange(n) / rate

    def hz(semitones: float) -> float:
        return spec.root_hz * 2 ** (semitones / 12)

    # pad: detuned chord tones, one chord per bar, crossfaded
    n_bars = int(np.ceil(duration / bar)) + 1
    for b in range(n_bars):
        deg = degrees[b % len(degrees)]
        root = scale[deg % 7] + 12 * (deg // 7)
        s0, s1 = int(b * bar * rate), min(n, int((b + 1) * bar * rate) + rate // 10)
        if s0 >= n:
            break
        seg = t[s0:s1] - b * bar
        fade = np.minimum(1, np.minimum(seg / 0.15, (s1 - s0) / rate - seg) / 0.15 + 0.0).clip(0, 1)
        for k, iv in enumerate(_QUALITY[quality]):
            f = hz(root + iv)
            for det, pan in ((-0.15, 0.3), (0.15, 0.7)):
                wave = np.sin(2 * np.pi * f * 2 ** (det / 12) * seg + k) * 0.045
                out[s0:s1, 0] += wave * fade * (1 - pan)
                out[s0:s1, 1] += wave * fade * pan
        # bass on each beat of the bar
        for q in range(4):
            q0 = s0 + int(q * beat * rate)
            q1 = min(n, q0 + int(beat * rate))
            if q0 >= n:
                break
            e = _env(q1 - q0, rate, 0.005, beat * 0.6)
            tb = np.arange(q1 - q0) / rate
            wave = np.sin(2 * np.pi * hz(root - 12) * tb) * e * (0.16 if drums > 0.3 else 0.1)
            out[q0:q1] += wave[:, None]
    _drums(out, spec.tempo_bpm, duration, drums, rate, rng)
    # plucks: arpeggio on eighth notes
    if plucks > 0:
        step = beat / 2
        for k in range(int(duration / step)):
            if rng.random() > plucks:
                continue
            deg = degrees[int(k * step / bar) % len(degrees)]
            root = scale[deg % 7]
            iv = _QUALITY[quality][k % len(_QUALITY[quality])]
            s = int(k * step * rate)
            m = min(n - s, int(0.4 * rate))
            tp = np.arange(m) / rate
            f = hz(root + iv + 12)
            wave = (np.sin(2 * np.pi * f * tp) + 0.3 * np.sin(4 * np.pi * f * tp)) * _env(m, rate, 0.003, 0.12) * 0.06
            pan = 0.3 + 0.4 * (k % 2)
            out[s : s + m, 0] += wave * (1 - pan)
            out[s : s + m, 1] += wave * pan
    # fades at both ends
    f = min(n, int(0.3 * rate))
    out[:f] *= np.linspace(0, 1, f)[:, None]
    fo = min(n, int(0.8 * rate))
    out[n - fo :] *= np.linspace(1, 0, fo)[:, None]
    return Music(out.astype(np.float32), rate, beat_grid(spec.tempo_bpm, duration), bar)
