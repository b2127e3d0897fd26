"""Calibrating the constrained reward: τ_c = μ_c + k_c·σ_c for every constraint, over baseline drafts.

A baseline draft is the first draft of a run (the agents' work before the critic sends anything back), over a
set of products × styles. k is the paper's: 1.1 for the agents' rewards, 0.8 for instruction alignment. The
multipliers start at `LAMBDA0` and move by their PID controller from then on (Constraints.step), their state
kept in the same file. Every reward lies in 0..1, so τ is at most 1: a module the baseline already almost
always gets right (σ small, μ near 1) would otherwise get a threshold no draft can reach.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from recgen.rewards.combine import VIOLATION_PENALTY
from recgen.rewards.constraints import K_AGENT, K_INSTRUCTION, Constraints, PIDMultiplier, calibrate
from recgen.runs import write_atomic

CONSTRAINED = {
    "visual": K_AGENT,
    "audio": K_AGENT,
    "effects": K_AGENT,
    "alignment_representation": K_AGENT,
    "alignment_instruction": K_INSTRUCTION,
}
LAMBDA0 = 1.0  # the multipliers' starting value: a shortfall of 0.1 costs 0.1 of predicted engagement


def constraints_from(samples: list[dict[str, float]]) -> Constraints:
    """Thresholds from baseline rewards (a constraint measured in fewer than two drafts is left out)."""
    th = {}
    for c, k in CONSTRAINED.items():
        values = [s[c] for s in samples if c in s]
        if len(values) >= 2:
            th[c] = calibrate(values, k, cap=1.0)  # every module's reward lies in 0..1
    if not th:
        raise ValueError("no constraint was measured in two baseline drafts; nothing to calibrate")
    start = PIDMultiplier()
    return Constraints(th, {c: PIDMultiplier(integral=LAMBDA0 / start.ki, lam=LAMBDA0) for c in th})


def baseline_rewards(jobs: Iterable[tuple[str, str]], settings, on_done: Callable[[], None] | None = None,
                     ) -> list[dict[str, float]]:  # fmt: skip
    """The rewards of the first draft of one run per (product, style)."""
    from recgen.generate import generate_video

    out = []
    for product, style in jobs:
        r = generate_video(product, style, settings=settings)
        out.append(dict(r.state.reports[0].rewards))
        if on_done:
            on_done()
    return out


def calibrate_file(jobs: list[tuple[str, str]], settings, out: Path, on_done=None) -> Constraints:
    c = constraints_from(baseline_rewards(jobs, settings, on_done))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    c.save(Path(out))
    return c


def chosen_rewards(reports: list[dict]) -> dict[str, float] | None:
    """The rewards of the draft a run kept (as the critic ranks drafts), from its stored reports."""
    scored = [r for r in reports if r.get("reward") is not None and r.get("rewards")]
    if not scored:
        return None
    best = max(scored, key=lambda r: r["reward"] - VIOLATION_PENALTY * len(r.get("violations", ())))
    return best["rewards"]


def step_multipliers(path: Path, runs: dict[str, list[dict]]) -> tuple[Constraints, list[str]]:
    """One PID step of every λ over a batch: the runs (id → stored critic reports) not counted before. The
    counted run ids are kept beside the file, so running it again after more runs counts only the new ones."""
    c = Constraints.load(path)
    counted_file = Path(path).with_name(Path(path).stem + ".counted.json")
    counted = set(json.loads(counted_file.read_text(encoding="utf-8"))) if counted_file.is_file() else set()
    batch = {i: chosen_rewards(r) for i, r in runs.items() if i not in counted}
    batch = {i: rw for i, rw in batch.items() if rw}
    if batch:
        c.step(list(batch.values()))
        c.save(Path(path))
        write_atomic(counted_file, json.dumps(sorted(counted | set(batch))))
    return c, sorted(batch)
