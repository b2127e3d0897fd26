"""What a viewer perceives, judged: planned text read back from the frames, markup on screen, the voice
understood, and an opening second that is not silent and empty. Reads a `ReadBack` (tools/readback.py)."""

from __future__ import annotations

import difflib
import re
import unicodedata

import numpy as np

from recgen.schemas import TextBox
from recgen.sid.encoders import common_words
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


MIN_TEXT_HEIGHT = 0.025  # of the frame: text this tall is the ad's copy; smaller is a label's print
MIN_SCORE = 0.8


def _foreign(words: list[str], known: set[str]) -> list[str]:
    """The words of a read that none of the `known` words accounts for, even misread, and that are words a
    reader knows (sid.encoders.common_words): a caption burned in is written in words, while the OCR's
    garble of a curved label ('Professionals' read as 'Preles crals') or a half-revealed word is not."""
    vocab = common_words()
    return [w for w in words if len(w) >= 3 and (not vocab or w in vocab) and not any(_same(w, k) for k in known)]


def unplanned_text(
    rb: ReadBack,
    boxes: tuple[TextBox, ...],
    width: int,
    height: int,
    label_words: set[str],
    quiet: list[tuple],
    photos: list[tuple[float, float]] = (),
) -> list[tuple[float, Seen, str]]:
    """Text read on the whole frames that no planned text element accounts for, with where it is: "free"
    (where no plan put text), "product" (over the product) or "text" (over planned text). Burned into the
    export, or drawn where the plan did not put it. Not counted: the words of the label (its brand and name,
    also misread) and of the text shown at that moment, print smaller than the ad's copy, uncertain reads,
    the `quiet` (start, end) spans where text moves by design (a slide transition carries each shot's text
    across the frame), and anything on a product that is the user's own photo (`photos` spans: its print is
    unknown). Over the product or planned text, a read counts only with two words of its own that are at
    least half of it (a misread is one word or garble, a burned caption several words). The product's place is the
    compositor's measure of where it showed."""
    out = []
    for t in sorted(rb.whole):
        if any(a <= t <= b for a, b in quiet):
            continue
        shown = [b for b in boxes if b.kind != "product" and b.start - 0.05 <= t < b.end + 0.2]
        products = [b for b in boxes if b.kind == "product" and b.start <= t < b.end]
        photo = any(a <= t < b for a, b in photos)
        known = label_words | {w for b in shown for w in norm_words(b.text)}
        for s in rb.frames.get(t, []):
            words = norm_words(s.text)
            letters = sum(ch.isalpha() for ch in s.text)
            if s.score < MIN_SCORE or letters < 3 or s.box[3] - s.box[1] < MIN_TEXT_HEIGHT * height:
                continue
            if all(any(_same(w, x) for x in label_words) for w in words):  # the label, read or misread
                continue
            over_text = any(_inside(s, b.box, 0.06 * width, 0.04 * height) for b in shown)
            over_product = any(_inside(s, b.box, 0, 0) for b in products)
            if over_product and photo:
                continue  # the user's photo: its own print
            if over_text or over_product:
                own = _foreign(words, known)
                if len(own) >= 2 and 2 * len(own) >= len(words):
                    out.append((t, s, "text" if over_text else "product"))
                continue
            out.append((t, s, "free"))
    return out


def copy_read(rb: ReadBack, boxes: tuple[TextBox, ...], width: int, height: int) -> list[Seen]:
    """What a viewer reads as the ad's copy: every read in the planned text's places, and on the whole
    frames what is as tall as copy and read with confidence (a packshot label's small print is not copy)."""
    out = []
    for t, seen in rb.frames.items():
        shown = [b for b in boxes if b.kind != "product" and b.start - 0.05 <= t < b.end + 0.2]
        for s in seen:
            planned = any(_inside(s, b.box, 0.06 * width, 0.04 * height) for b in shown)
            tall = s.score >= MIN_SCORE and s.box[3] - s.box[1] >= MIN_TEXT_HEIGHT * height
            if t not in rb.whole or planned or tall:
                out.append(s)
    return out


def off_frame(seen: Seen, width: int, height: int) -> bool:
    """Text cut by the frame's edge: it touches the left or right edge, or the top or bottom."""
    x0, y0, x1, y1 = seen.box
    return x0 <= 0.01 * width or x1 >= 0.99 * width or y0 <= 0.005 * height or y1 >= 0.995 * height


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
