"""What a viewer perceives, judged: planned text read back from the frames, markup on screen, the voice
understood, and an opening second that is not silent and empty. Reads a `ReadBack` (tools/readback.py)."""

from __future__ import annotations

import difflib
import re
import unicodedata

import numpy as np

from recgen.schemas import TextBox
from recgen.tools.asr import norm_words, spoken_wer
from recgen.tools.ocr import Seen
from recgen.tools.readback import ReadBack

READ_WORDS = 0.8  # an element is read back when this share of its words is found where it was drawn
UNREADABLE = 0.5  # below this share it is a violation
MAX_WER = 0.4  # a voice this garbled is a violation (short ads over music: one misheard word of eight is 0.125)
SILENT_OPENING_S = 1.0
MIN_GAP_S = 0.4  # judged only with this much time between words (a voice that never pauses is not judged)
MARKUP = re.compile(r"</?\s*[a-z]+\s*/?>|&(?:amp|lt|gt|quot|nbsp|#\d+);", re.I)


def _same(a: str, b: str) -> bool:
    return a == b or (len(a) >= 4 and difflib.SequenceMatcher(a=a, b=b).ratio() >= 0.75)


def _inside(seen: Seen, box: tuple[int, int, int, int], pad_x: float, pad_y: float) -> bool:
    cx, cy = (seen.box[0] + seen.box[2]) / 2, (seen.box[1] + seen.box[3]) / 2
    return box[0] - pad_x <= cx <= box[2] + pad_x and box[1] - pad_y <= cy <= box[3] + pad_y


# the scripts the packaged OCR model (PP-OCR, Chinese and English) reads; words in others are not judged
OCR_SCRIPTS = ("LATIN", "CJK", "DIGIT", "FULLWIDTH")


def ocr_can_read(word: str) -> bool:
    return all(not ch.isalpha() or unicodedata.name(ch, "").startswith(OCR_SCRIPTS) for ch in word)


def read_share(box: TextBox, frames: dict[float, list[Seen]], width: int, height: int) -> float | None:
    """Share of an element's words read in its own place on the frame sampled in its middle (None: not sampled,
    or written only in scripts the OCR model cannot read)."""
    mid = (box.start + box.end) / 2
    near = [t for t in frames if abs(t - mid) <= 0.16 or box.start <= t < box.end]
    if not near:
        return None
    t = min(near, key=lambda x: abs(x - mid))
    seen = [w for s in frames[t] if _inside(s, box.box, 0.06 * width, 0.04 * height) for w in norm_words(s.text)]
    planned = [w for w in norm_words(box.text) if ocr_can_read(w)]
    if not planned:
        return None
    return sum(any(_same(p, w) for w in seen) for p in planned) / len(planned)


def markup_seen(frames: dict[float, list[Seen]]) -> list[str]:
    return sorted({s.text for seen in frames.values() for s in seen if MARKUP.search(s.text)})


def voice_wer(script: list[str], heard: list[str]) -> float:
    return spoken_wer(" ".join(script), " ".join(heard))


def opening_s(rb: ReadBack, boxes: tuple[TextBox, ...], width: int, height: int) -> float:
    """When the viewer first gets something: the first word heard, or the first text read on screen."""
    first_voice = min((h.start for h in rb.heard or ()), default=float("inf"))
    read = [b.start for b in boxes if (read_share(b, rb.frames, width, height) or 0) >= READ_WORDS]
    early = [t for t, seen in rb.frames.items() if seen and t <= SILENT_OPENING_S]
    return min(first_voice, min(read, default=float("inf")), min(early, default=float("inf")))


def voice_over_music_db(audio: np.ndarray, rate: int, heard: list, duration: float) -> float | None:
    """How much louder the sound is while words are heard than between them (dB), from the decoded file
    and the recogniser's word times: a voice buried under its music scores near 0. None when the voice
    leaves too little time between words to hear the music alone. Reported, not judged: over 8 presets and
    a few items a clean mix read 2.6–15 dB (two short lines over loud music read low) and music raised
    12 dB read 1.4 dB, too close for a threshold."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    t = np.arange(len(mono)) / rate
    words = np.zeros(len(mono), bool)
    near = np.zeros(len(mono), bool)
    for h in heard:
        words |= (t >= h.start) & (t < h.end)
        near |= (t >= h.start - 0.15) & (t < h.end + 0.15)
    gaps = ~near & (t < duration)
    if words.sum() < rate * 0.3 or gaps.sum() < rate * MIN_GAP_S:
        return None

    def db(x: np.ndarray) -> float:
        return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))

    return db(mono[words]) - db(mono[gaps])
