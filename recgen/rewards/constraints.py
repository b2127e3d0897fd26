"""The paper's constrained reward: R = R_main − Σ_c λ_c · ReLU(τ_c − R_c).

Each constraint c (a reward module: visual, audio, effects, alignment, …) has a threshold τ_c = μ_c + k_c·σ_c
calibrated on baseline runs (k = 1.1 for agent rewards, 0.8 for instruction alignment in the paper), and a
multiplier λ_c that a PID controller raises while the constraint is violated and lowers once it holds. The
controller's state is plain data, so it can be stored between rounds or batches and resumed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

K_AGENT = 1.1  # paper: k for the agents' rewards
K_INSTRUCTION = 0.8  # paper: k for instruction alignment


@dataclass(frozen=True)
class Threshold:
    mu: float
    sigma: float
    k: float
    cap: float | None = None  # the reward's ceiling: a baseline near it would set τ out of reach

    @property
    def tau(self) -> float:
        t = self.mu + self.k * self.sigma
        return t if self.cap is None else min(t, self.cap)


def calibrate(samples: list[float] | np.ndarray, k: float, cap: float | None = None) -> Threshold:
    """τ = μ + k·σ of a reward over baseline runs (at least two samples: one has no spread), at most `cap`."""
    x = np.asarray(samples, dtype=float)
    if x.size < 2 or not np.isfinite(x).all():
        raise ValueError(f"calibration needs at least two finite samples, got {x.size}")
    return Threshold(float(x.mean()), float(x.std(ddof=1)), k, cap)


@dataclass
class PIDMultiplier:
    """λ for one constraint. The error is the shortfall τ − R (positive: violated). λ = clip(Kp·e + Ki·∫e +
    Kd·Δe, 0, λ_max); the integral is kept within [0, λ_max/Ki] (clamping anti-wind-up), so a long violation
    does not wind it up past what the cap can use, and λ falls as soon as the constraint holds."""

    kp: float = 1.0
    ki: float = 0.5
    kd: float = 0.0
    lam_max: float = 10.0
    integral: float = 0.0
    last_error: float | None = None
    lam: float = 0.0
    history: list[float] = field(default_factory=list)

    def update(self, error: float) -> float:
        derivative = 0.0 if self.last_error is None else error - self.last_error
        self.integral = float(np.clip(self.integral + error, 0.0, self.lam_max / self.ki if self.ki else 0.0))
        raw = self.kp * error + self.ki * self.integral + self.kd * derivative
        self.lam = float(np.clip(raw, 0.0, self.lam_max))
        self.last_error = error
        self.history.append(round(self.lam, 6))
        return self.lam


@dataclass
class Constraints:
    """Thresholds and multipliers for every constraint, stored as one JSON file."""

    thresholds: dict[str, Threshold]
    multipliers: dict[str, PIDMultiplier] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.thresholds:
            self.multipliers.setdefault(name, PIDMultiplier())

    def shortfalls(self, rewards: dict[str, float]) -> dict[str, float]:
        """τ_c − R_c for each constraint (positive: violated)."""
        return {c: t.tau - rewards[c] for c, t in self.thresholds.items() if c in rewards}

    def reward(self, main: float, rewards: dict[str, float]) -> float:
        """R = R_main − Σ λ_c · ReLU(τ_c − R_c) with the current multipliers."""
        return main - sum(self.multipliers[c].lam * max(0.0, s) for c, s in self.shortfalls(rewards).items())

    def retune(self, kp: float, ki: float) -> None:
        """New PID gains for every multiplier, each λ kept where it is (a loop that takes a step per round
        of a few hundred rollouts needs larger gains than one stepping per batch of runs)."""
        if ki <= 0 or kp < 0:
            raise ValueError("PID gains: ki > 0 and kp >= 0")
        for m in self.multipliers.values():
            m.kp, m.ki, m.integral, m.last_error = kp, ki, m.lam / ki, None

    def step(self, batch: list[dict[str, float]]) -> dict[str, float]:
        """Update every λ from the mean shortfall over a batch of drafts (or one round); returns the λs."""
        for c in self.thresholds:
            errs = [self.thresholds[c].tau - r[c] for r in batch if c in r]
            if errs:
                self.multipliers[c].update(float(np.mean(errs)))
        return {c: m.lam for c, m in self.multipliers.items()}

    def save(self, path: Path) -> Path:
        data = {
            "thresholds": {c: asdict(t) for c, t in self.thresholds.items()},
            "multipliers": {c: asdict(m) for c, m in self.multipliers.items()},
        }
        tmp = Path(path).with_name(Path(path).name + ".partial")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> Constraints:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            {c: Threshold(**t) for c, t in data["thresholds"].items()},
            {c: PIDMultiplier(**m) for c, m in data["multipliers"].items()},
        )
