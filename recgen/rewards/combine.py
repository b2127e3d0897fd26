"""From measurements to the numbers the critic decides on: a 0..1 score per dimension and one total."""

from __future__ import annotations

import numpy as np

from recgen.rewards.quality import FROZEN_SECONDS, PEAK_MAX_DB
from recgen.schemas import Violation

VIOLATION_PENALTY = 0.1  # subtracted from the total per open violation


def scores(m: dict[str, float], target_lufs: float) -> dict[str, float]:
    """0..1 per dimension; 1 is a draft that meets every constraint comfortably."""
    visual = np.mean(
        [
            1 - m["black_frame_ratio"],
            1.0 if m["longest_still_s"] < FROZEN_SECONDS else 0.3,
            max(0.0, 1 - m["cut_beat_error_s"] / 0.25),
            max(0.0, 1 - m["duration_error_s"] / 0.5),
        ]
    )
    audio = np.mean(
        [
            max(0.0, 1 - abs(m["lufs"] - target_lufs) / 6),
            1.0 if m["peak_db"] <= PEAK_MAX_DB else 0.5,
            max(0.0, 1 - m["voice_overrun_s"] / 2),
        ]
    )
    effects = np.mean(
        [
            max(0.0, 1 - m["subtitle_sync_error_s"] / 1.0),
            min(1.0, m["min_text_contrast"] / 4.5),
            1.0 if m["text_outside_safe_area"] == 0 else 0.4,
            min(1.0, m["cta_seconds_at_end"] / 2.0),
        ]
    )
    return {"visual": round(float(visual), 4), "audio": round(float(audio), 4), "effects": round(float(effects), 4)}


def total(dimension_scores: dict[str, float], violations: tuple[Violation, ...] | list[Violation]) -> float:
    """The mean dimension score less a penalty per open violation; the critic keeps the best draft by it."""
    mean = sum(dimension_scores.values()) / len(dimension_scores)
    return round(mean - VIOLATION_PENALTY * len(violations), 4)
