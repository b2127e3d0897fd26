"""Bad input gets a clear RecgenError, and no run folder is left half-done."""

import json

import pytest

from recgen import RecgenError, generate_video
from recgen.errors import CatalogError, InputError, MediaError, RunStoreError, SIDError
from recgen.tools.probes import probe


def _no_runs(settings):
    runs = settings.runs_dir
    return not runs.exists() or not [p for p in runs.iterdir() if p.is_dir()]


@pytest.mark.parametrize(
    "product, error, match",
    [
        ("does-not-exist", CatalogError, "no product 'does-not-exist'"),
        ('{"title": ""}', CatalogError, "title is empty"),
        ('{"title": "' + "x" * 2000 + '"}', CatalogError, "2000 characters"),
        ('{"title": "Serum", "price": -3}', CatalogError, "price"),
        ('{"title": "Serum", ', CatalogError, "malformed"),
        ('{"name": "Serum"}', CatalogError, "no 'title'"),
    ],
)
def test_bad_products(small, product, error, match):
    with pytest.raises(error, match=match):
        generate_video(product, "calm-luxury", settings=small)
    assert _no_runs(small)


def test_missing_and_corrupt_images(small, tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        generate_video({"title": "Serum", "image_path": str(tmp_path / "nope.png")}, settings=small)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nthis is not an image")
    with pytest.raises(MediaError, match="cannot be decoded"):
        generate_video({"title": "Serum", "image_path": str(bad)}, settings=small)
    assert _no_runs(small)


@pytest.mark.parametrize(
    "creative, match", [("s99.0", "outside"), ("vaporwave", "unknown creative style"), ("c1/s1.0", "levels")]
)
def test_unknown_dsids_and_styles(small, creative, match):
    with pytest.raises((SIDError, InputError), match=match):
        generate_video("8", creative, settings=small)
    assert _no_runs(small)


@pytest.mark.parametrize("duration", [0, -5, 10_000])
def test_bad_durations(small, duration):
    with pytest.raises(InputError, match="duration"):
        generate_video("8", settings=small, duration_s=duration)
    assert _no_runs(small)


def test_unwritable_output_folder(small, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(RunStoreError, match="cannot write"):
        generate_video("8", settings=small.model_copy(update={"runs_dir": blocker / "runs"}))


def test_resume_of_unknown_run(small):
    with pytest.raises(RunStoreError, match="no run"):
        generate_video(settings=small, resume="never-ran")


def test_all_errors_are_recgen_errors():
    for e in (CatalogError, InputError, MediaError, RunStoreError, SIDError):
        assert issubclass(e, RecgenError)


def test_emoji_non_latin_and_user_image_render(small, product_image):
    product = {
        "id": "intl",
        "title": "Крем для лица ✨ 保湿 Glow",
        "brand": "Λάμψη",
        "description": "Увлажняет 🌿",
        "price": 19.5,
        "currency": "EUR",
        "image_path": str(product_image),
    }
    r = generate_video(product, "warm-natural", settings=small)
    p = probe(r.final_path)
    assert p.has_video and p.has_audio and abs(p.duration - small.duration_s) <= 0.1
    assert any(s.asset == "user_image" for s in r.state.visual.shots)
    assert r.state.brief.offer == "€19.50"
    assert json.loads((r.run_dir / "run.json").read_text())["status"] == "done"


def test_gpu_backend_without_weights_says_so(small):
    from recgen.errors import BackendUnavailableError

    gpu = small.model_copy(update={"video_backend": "diffusers", "diffusers_model_path": None})
    with pytest.raises(BackendUnavailableError, match="local pipeline folder"):
        generate_video("8", "calm-luxury", settings=gpu, run_id="gpu")
    assert not (small.runs_dir / "gpu" / "final.mp4").exists()


@pytest.mark.parametrize("price", [float("nan"), float("inf"), -1.0])
def test_prices_must_be_finite_and_positive(small, price):
    with pytest.raises(InputError, match="finite|greater than 0") as e:
        generate_video({"id": "x", "title": "Rose Face Mist"}, settings=small, price=price)
    assert "\n" not in str(e.value) and "pydantic.dev" not in str(e.value)  # one line, no links
    assert not list(small.runs_dir.glob("*/run.json"))


def test_a_huge_image_is_refused_from_its_header(small, tmp_path):
    """12000×12000 is refused before a pixel is decoded (Pillow would take gigabytes, then warn or fail)."""
    import warnings

    from PIL import Image

    big = tmp_path / "huge.png"
    Image.new("L", (12000, 12000)).save(big, optimize=False)  # blank: a small file, a huge image
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's raw DecompressionBombWarning must not leak
        with pytest.raises(MediaError, match=r"12000×12000 \(144 MP\)"):
            generate_video({"id": "x", "title": "Rose Mist", "image_path": str(big)}, settings=small)


def test_twice_given_ids_and_lists_are_refused(small, tmp_path):
    from recgen.sid.catalog import load_product_json, strict_json

    with pytest.raises(CatalogError, match="'8' appears twice"):
        strict_json('{"8": {"title": "A"}, "8": {"title": "B"}}', "catalog.json")
    with pytest.raises(CatalogError, match="'title' appears twice"):
        load_product_json('{"title": "A", "title": "B"}')
    with pytest.raises(CatalogError, match="is a list; give one product"):
        generate_video('[{"title": "A"}, {"title": "B"}]', settings=small)


@pytest.mark.parametrize("duration", [4.0, 4.5, 7.0])  # and 15, 61.3, 120 checked by hand: long ones are slow
def test_every_length_in_range_plans_with_every_preset(small, duration):
    """Short lengths crashed with a negative shot duration (4 s with the default preset); every preset × a
    spread of lengths must plan to a valid timeline (rendering is the same code for every length)."""
    from recgen.sid.creative import PRESETS

    for preset in PRESETS:
        r = generate_video(
            {"id": "x", "title": "Rose Face Mist, Alcohol-Free"}, preset, settings=small, duration_s=duration,
            stop_after="effects",
        )  # fmt: skip
        v = r.state.visual
        assert all(sh.duration > 0 for sh in v.shots), (preset, duration)
        assert abs(v.duration_s - duration) < 0.05 and r.state.tracks.voice_end_s <= duration + 0.05


def test_a_title_longer_than_the_recognisers_prompt_still_runs_with_listening(tmp_path, cache_dir):
    """A catalog title can run past the 400 characters the speech recogniser's prompt takes: the voice is
    still heard (with the title's first words as the prompt), not refused mid-run."""
    from .conftest import small_settings

    s = small_settings(tmp_path, cache_dir, read_back=True).model_copy(update={"ocr_backend": "none"})
    title = "Hydrating Face Serum with Hyaluronic Acid, " + ", ".join(f"Gentle Formula {i}" for i in range(40))
    assert len(title) > 400
    r = generate_video({"id": "long", "title": title}, "calm-luxury", settings=s)
    assert r.final_path.is_file()
    assert r.state.reports[-1].measures.get("voice_wer") is not None  # it listened
