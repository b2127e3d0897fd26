"""From measurements to the numbers the critic decides on: a 0..1 score per quality dimension and one total,
and the paper's constrained reward over every reward module (quality, alignment, feedback)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from recgen.errors import InputError
from recgen.rewards.constraints import Constraints
from recgen.rewards.quality import FROZEN_SECONDS, PEAK_MAX_DB
from recgen.schemas import AgentName, StyleVector, Violation
from recgen.vocabulary import STYLE_DIMS

VIOLATION_PENALTY = 0.1  # subtracted from the total per open violation


def components(m: dict[str, float], target_lufs: float) -> dict[str, dict[str, float]]:
    """0..1 per measured part of each quality dimension, named after the violation that part would raise."""
    return {
        "visual": {
            "black_frames": 1 - m["black_frame_ratio"],
            "frozen": 1.0 if m["longest_still_s"] < FROZEN_SECONDS else 0.3,
            "off_beat": max(0.0, 1 - m["cut_beat_error_s"] / 0.25),
            "duration": max(0.0, 1 - m["duration_error_s"] / 0.5),
        },
        "audio": {
            "loudness": max(0.0, 1 - abs(m["lufs"] - target_lufs) / 6),
            "clipping": 1.0 if m["peak_db"] <= PEAK_MAX_DB else 0.5,
            "voice_overrun": max(0.0, 1 - m["voice_overrun_s"] / 2),
        },
        "effects": {
            "subtitle_sync": max(0.0, 1 - m["subtitle_sync_error_s"] / 1.0),
            "text_contrast": min(1.0, m["min_text_contrast"] / 4.5),
            "safe_area": 1.0 if m["text_outside_safe_area"] == 0 else 0.4,
            "cta": min(1.0, m["cta_seconds_at_end"] / 2.0),
        },
    }


def scores(m: dict[str, float], target_lufs: float) -> dict[str, float]:
    """0..1 per dimension (the mean of its parts); 1 is a draft that meets every constraint comfortably."""
    return scores_of(components(m, target_lufs))


def scores_of(parts: dict[str, dict[str, float]]) -> dict[str, float]:
    return {d: round(float(np.mean(list(c.values()))), 4) for d, c in parts.items()}


def total(dimension_scores: dict[str, float], violations: tuple[Violation, ...] | list[Violation]) -> float:
    """The mean dimension score less a penalty per open violation; the critic keeps the best draft by it."""
    mean = sum(dimension_scores.values()) / len(dimension_scores)
    return round(mean - VIOLATION_PENALTY * len(violations), 4)


# -- the paper's constrained reward over every module ------------------------------------------------------

CONSTRAINTS_FILE = Path(__file__).with_name("constraints.json")  # calibrated by `recgen rewards calibrate`
OWNERS: dict[str, AgentName] = {
    "visual": "visual",
    "audio": "audio",
    "effects": "effects",
    "alignment_instruction": "instruct",
}
_STYLE_OWNERS: dict[str, AgentName] = {
    "hue": "visual",
    "brightness": "visual",
    "saturation": "visual",
    "motion": "visual",
    "cut_rate": "visual",
    "text_density": "effects",
    "tempo": "audio",
    "loudness": "audio",
    "voice": "audio",
}


def module_rewards(dimension_scores: dict[str, float], align: dict[str, float] | None,
                   feedback: float | None) -> dict[str, float]:  # fmt: skip
    """Every reward module's value for one draft, 0..1: the quality dimensions, the two alignment parts and
    the predicted feedback (those that could be measured)."""
    out = dict(dimension_scores)
    if align:
        out |= {k: align[k] for k in ("alignment_instruction", "alignment_representation")}
    if feedback is not None:
        out["feedback"] = feedback
    return out


def representation_owner(content_part: float, creative_part: float, measured: StyleVector,
                         target: StyleVector) -> AgentName:  # fmt: skip
    """Who can fix a video that does not carry its D-SID: the instruction model when the content side is the
    weaker, else the agent whose style dimension is furthest from the target (hue on its circle)."""
    if content_part < creative_part:
        return "instruct"
    err = {d: abs(a - b) for d, a, b in zip(STYLE_DIMS, measured.as_list(), target.as_list(), strict=True)}
    err["hue"] = min(err["hue"], 1 - err["hue"])
    return _STYLE_OWNERS[max(err, key=err.__getitem__)]


@functools.cache
def _load(path: Path, mtime: float) -> Constraints:
    return Constraints.load(path)


def user_constraints(cache_dir: Path) -> Path:
    """Where the user's own calibration lives (`recgen rewards calibrate` / `update` write it)."""
    return Path(cache_dir) / "rewards" / "constraints.json"


def constraints_path(given: Path | None, cache_dir: Path) -> Path:
    """The file given; else the user's own calibration in the cache; else the one shipped with recgen."""
    if given is not None:
        return Path(given)
    mine = user_constraints(cache_dir)
    return mine if mine.is_file() else CONSTRAINTS_FILE


def load_constraints(given: Path | None, cache_dir: Path) -> Constraints | None:
    """The calibrated thresholds and multipliers (None when none are shipped or calibrated: no combined
    reward). A file that was asked for by name must exist and parse."""
    path = constraints_path(given, cache_dir)
    if not path.is_file():
        if given is not None:
            raise InputError(f"constraints file {path} not found; make one with `recgen rewards calibrate`")
        return None
    try:
        return _load(path, path.stat().st_mtime)
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"constraints file {path} is not a calibration ({e}); recalibrate it") from e


def constrained(c: Constraints, rewards: dict[str, float]) -> tuple[float, str | None]:
    """R = R_feedback − Σ λ_c·ReLU(τ_c − R_c) (R_feedback 0 when it could not be predicted), and the
    constraint whose weighted shortfall costs the most (None when every constraint holds)."""
    cost = {k: c.multipliers[k].lam * s for k, s in c.shortfalls(rewards).items() if s > 0}
    worst = max(cost, key=cost.__getitem__) if cost else None
    return round(c.reward(rewards.get("feedback", 0.0), rewards), 4), worst


# -- sending back a clean draft that falls short ------------------------------------------------------------

# the parts of a dimension an agent has a fix for (agents read these codes from the critic's violations)
ACTIONABLE: dict[str, tuple[AgentName, str]] = {
    "black_frames": ("visual", "use lighter backgrounds so no sampled frame is near black"),
    "frozen": ("visual", "more camera and subject motion"),
    "clipping": ("audio", "mix a little quieter so the decoded peak stays below full scale"),
    "voice_overrun": ("audio", "speak a little faster so every line ends inside its shot"),
    "text_contrast": ("effects", "put text on a backdrop so it reaches 4.5:1 contrast"),
    "safe_area": ("effects", "keep every text further inside the 9:16 safe area"),
}


def soft_violation(constraint: str, tau: float, value: float, parts: dict[str, dict[str, float]],
                   measured: StyleVector | None, target: StyleVector) -> Violation | None:  # fmt: skip
    """A clean draft below a threshold, as a violation for the agent that can move it: the weakest part of a
    quality dimension when an agent has a fix for that part, or, for a video whose measured motion falls
    short of its creative code, more motion. None when no agent has a fix (the draft is then kept as is)."""
    below = f"{constraint.replace('_', ' ')} reward {value:.2f} is below its threshold {tau:.2f}"
    if constraint in parts:
        part, score = min(parts[constraint].items(), key=lambda kv: kv[1])
        if part in ACTIONABLE and score < 1.0:
            agent, fix = ACTIONABLE[part]
            return Violation(code=part, agent=agent, message=f"{below} (weakest: {part} {score:.2f})", fix=fix)
    if constraint == "alignment_representation" and measured is not None and measured.motion < target.motion - 0.1:
        agent, fix = ACTIONABLE["frozen"]
        msg = f"{below}: it moves less than its creative code asks ({measured.motion:.2f} vs {target.motion:.2f})"
        return Violation(code="frozen", agent=agent, message=msg, fix=fix)
    return None
