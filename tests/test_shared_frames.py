"""An ad must not look like another product's: frames hashed, kept in an index by product, compared."""

from __future__ import annotations

import cv2
import numpy as np

from recgen.generate import generate_video
from recgen.rewards.shared_frames import FrameIndex, dhash, frame_hashes, product_key


def test_a_difference_hash_survives_noise_and_tells_pictures_apart():
    def picture(seed: int) -> np.ndarray:  # soft blobs, as a backdrop with a product is
        coarse = np.random.default_rng(seed).integers(0, 255, (8, 5, 3), dtype=np.uint8)
        return cv2.resize(coarse, (72, 128), interpolation=cv2.INTER_CUBIC)

    a, b = picture(0), picture(1)
    noisy = np.clip(a + np.random.default_rng(2).normal(0, 3, a.shape), 0, 255).astype(np.uint8)
    bits = lambda x, y: bin(x ^ y).count("1")  # noqa: E731
    assert bits(dhash(a), dhash(noisy)) <= 4
    assert bits(dhash(a), dhash(b)) > 20
    assert dhash(np.full((128, 72, 3), 250, np.uint8)) is None  # a flash is alike in every video: not compared


def test_the_index_finds_another_products_frame_and_not_the_same_products(tmp_path):
    index = FrameIndex(tmp_path / "frames.sqlite")
    h = 0x0F0F_F0F0_1234_8765
    thumb = bytes(range(200)) * 2 + bytes(48)
    index.record(product_key("Rose Mist", "Lumen"), "Rose Mist", "run-a", [(0.5, h, thumb), (1.5, h ^ 0xFFFF, thumb)])
    near = h ^ 0b101  # two bits off: the same picture re-encoded
    again = bytes(min(255, b + 2) for b in thumb)  # … its pixels a level or two off
    assert index.shared(product_key("Rose Mist", "Lumen"), [(0.5, near, again)]) == []  # its own video
    other_text = bytes(b if i < 300 else 255 - b for i, b in enumerate(thumb))  # alike in hash, not in pixels
    (hit,) = index.shared(product_key("Lip Balm", "Lumen"), [(2.5, near, again), (3.5, near, other_text)])
    assert (hit.t, hit.product, hit.run, hit.other_t) == (2.5, "Rose Mist", "run-a", 0.5)
    index.record(product_key("Rose Mist", "Lumen"), "Rose Mist", "run-a", [])  # a later draft replaces it
    assert index.shared(product_key("Lip Balm", "Lumen"), [(2.5, near, again)]) == []


def test_a_draft_that_looks_like_another_products_ad_is_sent_back_and_redrawn(small):
    """The frames of a first ad are filed under another product; the same ad made again matches them, the
    visual agent draws other backgrounds, and the revised draft no longer does."""
    product = {"id": "sf", "title": "Velvet Rose Lip Balm, Shea Butter", "brand": "Lumen"}
    mine, other = product_key(product["title"], "Lumen"), product_key("Other Balm", "Other")
    index = FrameIndex(small.cache_dir / "frames.sqlite")  # in the cache folder the test session shares
    for key in (mine, other):
        index.forget(key)
    try:
        first = generate_video(product, "playful-pastel", settings=small)
        s = small
        frames = frame_hashes(first.final_path, s.duration_s, s.fps, (s.width, s.height))
        assert len(frames) >= 4
        index.record(other, "Other Balm", "other-run", frames)
        again = generate_video(product, "playful-pastel", settings=small)
    finally:
        for key in (mine, other):
            index.forget(key)
    r0 = again.state.reports[0]
    assert "frame_shared" in {v.code for v in r0.violations}
    assert r0.revise_agent == "visual" and r0.measures["frames_shared"] >= 1
    assert again.state.visual.shots[0].background != first.state.visual.shots[0].background
    assert "frame_shared" not in {v.code for v in again.state.reports[-1].violations}
