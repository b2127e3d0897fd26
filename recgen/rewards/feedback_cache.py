"""The feedback model kept in the cache (`<cache>/rewards/feedback_model.npz`): loaded once per process, or
trained there on first use (seconds; `recgen rewards train-feedback` retrains it). Loading needs no torch;
only the first use's training imports it."""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path

from recgen.errors import RecgenError
from recgen.rewards.feedback_scorer import FeedbackScorer

MODEL_NAME = "feedback_model.npz"


def model_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / "rewards" / MODEL_NAME


def load_scorer(cache_dir: Path, data_dir: Path) -> tuple[FeedbackScorer | None, str | None]:
    """The cached model, trained first if there is none (or it is unreadable); (None, why) when it cannot be
    had."""
    path = model_path(cache_dir)
    if path.is_file():
        try:
            return _scorer(path, path.stat().st_mtime), None
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
            pass  # a damaged model is retrained, never trusted
    from recgen.rewards.feedback import train_from_data  # torch: imported only to train

    try:
        _, info, _ = train_from_data(data_dir, path)
    except (RecgenError, OSError) as e:
        return None, f"rewards: no feedback model ({e}); the feedback reward is left out"
    note = f"rewards: trained the feedback model once ({info['seconds']:.0f} s), kept in {path.parent}"
    return _scorer(path, path.stat().st_mtime), note


@functools.cache
def _scorer(path: Path, mtime: float) -> FeedbackScorer:
    return FeedbackScorer.load(path)
