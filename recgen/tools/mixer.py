"""Audio mixing: place voice lines, duck the music under the voice, normalise loudness, limit peaks.

Every ffmpeg here runs with -nostdin and no standard input, so a caller's stdin (a shell loop) is never read."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from scipy.io import wavfile

from recgen.schemas import AudioPlan, AudioTracks, TimedLine, WordTiming

PEAK_CEILING = 10 ** (-2.0 / 20)  # −2 dBFS: AAC encoding overshoots by up to ~1 dB


def resample(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    from scipy.signal import resample_poly  # 0.7 s to import: only where audio is resampled

    if src == dst:
        return audio
    g = np.gcd(src, dst)
    return resample_poly(audio, dst // g, src // g, axis=0).astype(np.float32)


def voice_envelope(voice: np.ndarray, rate: int, attack: float = 0.04, release: float = 0.25) -> np.ndarray:
    """0..1 envelope of where the voice speaks, smoothed so the music does not pump."""
    win = max(1, rate // 50)
    n = len(voice) // win + 1
    padded = np.zeros(n * win, dtype=np.float32)
    padded[: len(voice)] = np.abs(voice)
    active = (padded.reshape(n, win).max(1) > 0.02).astype(np.float64)
    env = np.zeros(n)
    a, r = 1 - np.exp(-1 / (attack * 50)), 1 - np.exp(-1 / (release * 50))
    level = 0.0
    for i, x in enumerate(active):
        level += (a if x > level else r) * (x - level)
        env[i] = level
    return np.repeat(env, win)[: len(voice)]


LIMIT_PASSES = 4


def _limit(out: np.ndarray) -> np.ndarray:
    """Soft-knee limiter above −3 dBFS: keeps the loudness, removes clipping."""
    peak = np.abs(out).max() if len(out) else 0.0
    if peak > PEAK_CEILING:
        knee = PEAK_CEILING * 0.7
        mag = np.abs(out)
        over = mag > knee
        out = out.copy()
        out[over] = np.sign(out[over]) * (
            knee + (PEAK_CEILING - knee) * np.tanh((mag[over] - knee) / (PEAK_CEILING - knee))
        )
    return out


def mix(
    voice: np.ndarray, music: np.ndarray, rate: int, duck_db: float, target_lufs: float
) -> tuple[np.ndarray, float]:
    """Stereo mix of mono voice and stereo music; returns the mix and its integrated loudness (LUFS)."""
    n = max(len(voice), len(music))
    v = np.zeros(n, np.float32)
    v[: len(voice)] = voice
    m = np.zeros((n, 2), np.float32)
    m[: len(music)] = music
    duck = 10 ** (duck_db * voice_envelope(v, rate) / 20)
    out = m * 0.55 * duck[:, None].astype(np.float32) + v[:, None] * 0.9
    import pyloudnorm  # imports scipy.signal: only where audio is mixed

    meter = pyloudnorm.Meter(rate)
    loud = meter.integrated_loudness(out) if n > rate * 0.5 else -70.0
    if np.isfinite(loud) and loud > -70:
        out = out * 10 ** ((target_lufs - loud) / 20)
    out = _limit(out)
    final = meter.integrated_loudness(out) if n > rate * 0.5 else -70.0
    for _ in range(LIMIT_PASSES):  # the limiter takes loudness from a peaky voice: make it up, limit again
        if not (np.isfinite(final) and final > -70) or abs(final - target_lufs) <= 0.3:
            break
        out = _limit(out * 10 ** ((target_lufs - final) / 20))
        final = meter.integrated_loudness(out)
    return out.astype(np.float32), float(final)


def write_wav(path: Path, audio: np.ndarray, rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.wav")
    wavfile.write(tmp, rate, (np.clip(audio, -1, 1) * 32767).astype(np.int16))
    tmp.replace(path)
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    rate, data = wavfile.read(path)
    return data.astype(np.float32) / 32768.0, rate


def run_ffmpeg(args: list[str]) -> subprocess.CompletedProcess:
    """ffmpeg with the given arguments, never reading the caller's standard input."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", *args]
    return subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, check=False)


def _decoded_peak(path: Path) -> float:
    raw = run_ffmpeg(["-i", str(path), "-f", "f32le", "-"]).stdout
    a = np.frombuffer(raw, np.float32)
    return float(np.abs(a).max()) if a.size else 0.0


def encode_aac(wav: Path, out: Path, bitrate: str = "160k", ceiling_db: float = -1.0) -> Path:
    """AAC once per mix, so every draft that reuses the mix only copies it into the mp4. AAC overshoots
    sharp transients, so the decoded peak is measured and the mix lowered until it stays below the ceiling."""
    tmp = out.with_suffix(".tmp.m4a")
    source = wav
    for _ in range(3):
        done = run_ffmpeg(["-y", "-i", str(source), "-c:a", "aac", "-b:a", bitrate, str(tmp)])
        if done.returncode != 0:
            raise OSError(f"AAC encoding of {wav} failed: {done.stderr.decode(errors='replace')[-300:]}")
        peak = _decoded_peak(tmp)
        limit = 10 ** (ceiling_db / 20)
        if peak <= limit:
            break
        audio, rate = read_wav(source)
        source = write_wav(wav.with_name(wav.stem + ".trim.wav"), audio * (limit * 0.97 / peak), rate)
    tmp.replace(out)
    return out


@dataclass(frozen=True)
class VoiceTrack:
    audio: np.ndarray  # mono, at the mix rate; longer than the video when the voice overruns
    lines: tuple[TimedLine, ...]
    end: float  # when the last line ends
    backend: str


def place_voice(
    plan: AudioPlan,
    shot_starts: dict[int, float],
    speak: Callable[[str], object],
    rate: int,
    lead_in: float,
    gap: float,
) -> VoiceTrack:
    """Each line spoken at its shot's start (+ lead-in), never overlapping the line before."""
    end_of_video = max(shot_starts.values(), default=0.0)
    voice = np.zeros(int((end_of_video + 60) * rate), np.float32)
    timed, t_prev, backend = [], 0.0, "none"
    for line in plan.lines:
        speech = speak(line.text)
        backend = speech.backend
        audio = resample(speech.audio, speech.rate, rate)
        start = max(shot_starts.get(line.shot_index, 0.0) + lead_in, t_prev + gap)
        i0 = int(start * rate)
        if i0 + len(audio) > len(voice):
            voice = np.concatenate([voice, np.zeros(i0 + len(audio) - len(voice), np.float32)])
        voice[i0 : i0 + len(audio)] += audio
        words = tuple(
            WordTiming(word=w, start=round(start + a, 3), end=round(start + b, 3)) for w, a, b in speech.words
        )
        end = start + len(audio) / rate
        timed.append(
            TimedLine(
                shot_index=line.shot_index,
                text=line.text,
                span=line.span,
                start=round(start, 3),
                end=round(end, 3),
                words=words,
            )
        )
        t_prev = end
    return VoiceTrack(voice[: int(t_prev * rate)], tuple(timed), t_prev, backend)


def mix_tracks(voice: VoiceTrack, music, plan: AudioPlan, duration: float, rate: int, folder: Path) -> AudioTracks:
    """Voice over ducked music at the plan's loudness, written as wavs and the AAC every draft copies."""
    total = max(duration, voice.end)  # an overrunning voice is kept so the critic can hear it
    padded = np.zeros(int(total * rate), np.float32)
    padded[: len(voice.audio)] = voice.audio[: len(padded)]
    mixed, _ = mix(padded, music.audio, rate, plan.duck_db, plan.target_lufs)
    mix_wav = write_wav(folder / "mix.wav", mixed[: int(duration * rate)], rate)
    return AudioTracks(
        voice_path=write_wav(folder / "voice.wav", padded, rate),
        bgm_path=write_wav(folder / "bgm.wav", music.audio, rate),
        mix_path=mix_wav,
        mix_aac_path=encode_aac(mix_wav, folder / "mix.m4a"),
        lines=voice.lines,
        beat_times=music.beats,
        voice_end_s=round(voice.end, 3),
        voice_backend=voice.backend,
    )
