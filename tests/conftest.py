"""Shared fixtures: small, fast settings; one embedding cache for the whole session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recgen.settings import Settings

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NEW_USER = "new-user-without-history"  # in rec2video_ckpt's interactions with an empty list


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return Path(os.environ.get("RECGEN_TEST_CACHE", tmp_path_factory.mktemp("cache")))


def small_settings(runs_dir: Path, cache_dir: Path, read_back: bool = False) -> Settings:
    """A tiny 9:16 video: every stage runs for real, in seconds. Reading the draft back (OCR of frames, ASR of
    the voice) adds seconds to every draft, so only the tests of what it perceives turn it on."""
    off = {} if read_back else {"ocr_backend": "none", "asr_backend": "none"}
    return Settings(
        runs_dir=runs_dir, cache_dir=cache_dir, data_dir=DATA_DIR, width=144, height=256, fps=12, duration_s=6.0, **off
    )


@pytest.fixture()
def small(tmp_path, cache_dir) -> Settings:
    return small_settings(tmp_path / "runs", cache_dir)


@pytest.fixture()
def small_read_back(tmp_path, cache_dir) -> Settings:
    return small_settings(tmp_path / "runs", cache_dir, read_back=True)


@pytest.fixture()
def product_image(tmp_path) -> Path:
    yy, xx = np.mgrid[0:240, 0:180]
    img = np.stack([(xx * 1.3) % 255, (yy * 0.9) % 255, np.full_like(xx, 140)], -1).astype(np.uint8)
    path = tmp_path / "product.png"
    Image.fromarray(img).save(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def feedback_model(cache_dir):
    """A run trains the feedback model on first use (and says so); trained once here, so no test's notes
    depend on which test ran first (test_reward_modules tests the first use itself)."""
    from recgen.rewards.feedback import train_from_data
    from recgen.rewards.feedback_cache import model_path

    if not model_path(cache_dir).is_file():
        train_from_data(DATA_DIR, model_path(cache_dir))


@pytest.fixture(scope="session")
def rec2video_ckpt(tmp_path_factory, cache_dir) -> Path:
    """A tiny GRM with creative codes over the shared catalog codes (150 users, 1 epoch): enough to propose
    D-SIDs, not to be good."""
    from recgen.sid.grm_train import TrainConfig
    from recgen.sid.recommender import train_recommender

    folder = tmp_path_factory.mktemp("grm")
    beauty = json.loads((DATA_DIR / "amazon-beauty" / "Beauty.inter.json").read_text())
    inter = folder / "inter.json"  # 149 Beauty users and a new one without history (cold start)
    inter.write_text(json.dumps({**dict(list(beauty.items())[:149]), NEW_USER: []}))
    out = folder / "r2v.pt"
    train_recommender(DATA_DIR, out, "shared", model_cfg={"d_model": 32, "n_layer": 1},
                      train_cfg=TrainConfig(epochs=1, eval_users=50), creative=True, cache_dir=cache_dir,
                      interactions=inter)  # fmt: skip
    return out
