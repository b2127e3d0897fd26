"""Listening like a viewer: words compared as a listener tells them apart, recognition remembered by the
sound itself, the product's title as the listener's prior knowledge (which must not hide a garbled voice),
and voice lines only in a script the voice can say."""

from __future__ import annotations

import numpy as np
import pytest

from recgen import generate_video
from recgen.sid.facts import foreign_words, sayable
from recgen.tools import asr
from recgen.tools.asr import Heard, spoken_wer


@pytest.mark.parametrize(
    ("script", "heard", "wer"),
    [
        ("Meet Hair Colour, Pastel Pink.", "meet hair color pastel pink", 0.0),  # spelling
        ("What your skin-care routine is missing.", "What your skincare routine is missing", 0.0),  # compound
        ("Only fifty millilitres.", "Only 50 milliliters", 0.0),  # numbers written either way
        ("Shop now.", "Chop now.", 0.5),  # a different word is an error
        ("Meet Rose Face Mist.", "Meek Rose Face Mist.", 0.25),
        ("Transfer proof.", "", 1.0),
    ],
)
def test_spoken_words_are_compared_as_a_listener_hears_them(script, heard, wer):
    assert spoken_wer(script, heard) == pytest.approx(wer)


def test_a_compound_only_joins_when_the_other_side_says_it_joined():
    assert spoken_wer("skin care", "skin care") == 0.0
    assert spoken_wer("skin care", "skin") == pytest.approx(0.5)  # a lost word is not hidden by joining


class _CountingASR:
    def __init__(self) -> None:
        self.calls: list[str | None] = []

    def words(self, audio, rate, prompt=None):
        self.calls.append(prompt)
        return [Heard("hello", 0.1, 0.4)]


def test_recognition_is_remembered_by_the_sound_across_processes(tmp_path, monkeypatch):
    fake = _CountingASR()
    monkeypatch.setattr(asr, "get_asr", lambda cache_dir, threads=2: fake)
    monkeypatch.setattr(asr, "_HEARD", {})
    store = tmp_path / "run" / "heard"
    a = np.random.default_rng(0).normal(size=(4000, 2)).astype(np.float32)
    assert asr.listen(a, 16000, tmp_path, "Rose Mist", store)[0].word == "hello"
    asr.listen(a.copy(), 16000, tmp_path, "Rose Mist", store)
    assert len(fake.calls) == 1  # the same samples: heard once
    asr._HEARD.clear()  # a resumed run in a new process: its folder remembers
    assert asr.listen(a, 16000, tmp_path, "Rose Mist", store) == [Heard("hello", 0.1, 0.4)]
    assert len(fake.calls) == 1
    asr.listen(a, 16000, tmp_path, "Other title", store)  # another prior: listened to again
    b = a.copy()
    b[0, 0] += 0.01
    asr.listen(b, 16000, tmp_path, "Rose Mist", store)  # another sound: listened to again
    assert fake.calls == ["Rose Mist", "Other title", "Rose Mist"]
    for f in store.glob("*.json"):
        f.write_text("{not json", encoding="utf-8")
    asr._HEARD.clear()
    asr.listen(a, 16000, tmp_path, "Rose Mist", store)  # a corrupt record costs a recognition, not the run
    assert len(fake.calls) == 4
    asr._HEARD.clear()
    asr.listen(a, 16000, tmp_path, "Rose Mist")  # without a store nothing is kept on disk
    assert len(fake.calls) == 5


def test_the_title_prompt_does_not_hide_a_voice_that_says_something_else(cache_dir):
    """The listener knows the product's title; a voice that speaks another product's lines is still heard
    as wrong (the prompt helps with names, it does not make the recogniser hear the script)."""
    from recgen.tools.tts import get_tts

    voice = get_tts("piper")
    said = "Stop scrolling. Meet Charcoal Peel Off Face Mask. Deep cleansing. Claim the deal."
    script = "Take a moment for yourself. Meet Rose Face Mist. Alcohol-Free. Discover it."
    speech = voice.speak(said)
    heard = asr.listen(speech.audio, speech.rate, cache_dir, "Hydrating Rose Face Mist with Aloe Vera, Alcohol-Free")
    text = " ".join(h.word for h in heard)
    assert spoken_wer(said, text) <= 0.25  # the recogniser hears what was said...
    assert spoken_wer(script, text) > 0.4  # ...and so a wrong voice is caught (MAX_WER)


def test_words_in_other_scripts_are_found():
    assert foreign_words("Volume Express マスカラ Waterproof") == ["マスカラ"]
    assert foreign_words("Crème brûlée Ölbad Żel") == []  # accented Latin is sayable
    assert sayable("Крем для рук, 75 мл") == ""
    assert sayable("Volume Express マスカラ") == "Volume Express"


@pytest.mark.parametrize(
    "title",
    ["Крем для рук с маслом ши, 75 мл", "كريم مرطب للوجه بالصبار", "保湿クリーム Moisture Cream, 50 g"],
)
def test_the_voice_is_never_given_a_script_it_cannot_say(small, title):
    r = generate_video(
        {"id": "x", "title": title, "brand": "Ромашка"}, "calm-luxury", settings=small, stop_after="instruct"
    )
    brief = r.state.brief
    assert all(not foreign_words(s.message) for s in brief.shots), [s.message for s in brief.shots]
    assert brief.headline == r.state.semantics.content.facts.name  # the name is still shown as written
    assert any("cannot say" in n for n in r.state.notes)


def test_a_latin_name_is_still_said(small):
    r = generate_video(
        {"id": "x", "title": "Dewly Rose Face Mist, Alcohol-Free", "brand": "Dewly"},
        "calm-luxury",
        settings=small,
        stop_after="instruct",
    )
    assert any("Rose Face Mist" in s.message for s in r.state.brief.shots)
    assert not any("cannot say" in n for n in r.state.notes)


def test_every_fixed_line_of_the_vocabulary_is_heard_as_written(cache_dir):
    """Hooks, calls to action and neutral lines are said in every ad: each must be understood when the
    packaged voice says it (the voice clips some word onsets: 'Shop now' was heard as 'Chop now', 'Slow down'
    as 'Flow down'). The lines are said one after another with a second's silence between, as in an ad,
    and recognised in windows of up to 25 s (the recogniser reads 30 s at a time, however short the sound);
    each word heard belongs to the line whose time it falls in."""
    from recgen.tools.tts import get_tts
    from recgen.vocabulary import VOCAB

    voice, copy = get_tts("piper"), VOCAB.copy_
    fill = {"ritual": "skin-care ritual", "routine": "skin-care routine", "subject": "skin"}
    lines = [h.format(**fill) for m in VOCAB.moods.values() for h in m.hooks]
    lines += [f"{m.cta}." for m in VOCAB.moods.values()] + [*copy.neutral, copy.unsaid_name, copy.proof[1]]
    lines.append(copy.kind_hook.format(**fill))  # the opening line of a product with no claim, kind or brand
    spoken = [voice.speak(line) for line in dict.fromkeys(lines)]
    rate = spoken[0].rate
    gap = np.zeros(rate, dtype=np.float32)
    windows, current = [], []
    for line, sp in zip(dict.fromkeys(lines), spoken, strict=True):
        if current and sum(len(a) + len(gap) for _, a in current) + len(sp.audio) > 25 * rate:
            windows.append(current)
            current = []
        current.append((line, np.asarray(sp.audio, dtype=np.float32).reshape(-1)))
    windows.append(current)
    misheard, said = {}, 0
    for window in windows:
        spans, t = [], 0.0
        for line, audio in window:
            spans.append((line, t, t + len(audio) / rate))
            t += (len(audio) + len(gap)) / rate
        heard = asr.listen(np.concatenate([x for _, a in window for x in (a, gap)]), rate, cache_dir)
        for line, start, end in spans:
            words = [h.word for h in heard if start - 0.3 <= (h.start + h.end) / 2 <= end + 0.3]
            said += 1
            if spoken_wer(line, " ".join(words)) > 0.2:
                misheard[line] = " ".join(words)
    assert said == len(dict.fromkeys(lines)) and not misheard, misheard


def test_text_in_a_script_the_ocr_cannot_read_is_not_judged_as_unreadable():
    """PP-OCR reads Latin and Chinese: Cyrillic on screen is not 'unreadable', it is unchecked (and said so)."""
    from recgen.rewards.perception import read_share
    from recgen.schemas import TextBox
    from recgen.tools.ocr import Seen

    frames = {1.0: [Seen("Rose Mist", (10, 10, 90, 30), 0.9)]}
    cyr = TextBox(
        kind="headline", text="Крем для рук", start=0.5, end=1.5, box=(10, 10, 90, 30), color="#fff", contrast=9
    )
    mixed = cyr.model_copy(update={"text": "Rose Mist Крем"})
    assert read_share(cyr, frames, 144, 256) is None
    assert read_share(mixed, frames, 144, 256) == 1.0  # judged on the words it can read
