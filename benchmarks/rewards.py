"""Rewards benchmark: the feedback model's held-out AUC, the constraint calibration, and the paper's reward
ablation — over ≥ 20 briefs, is the draft chosen with each reward better on that reward's own measurement
than the draft chosen without it?

1. Trains the feedback ranking model on the Beauty interactions (leave-one-out) and reports its held-out
   AUC beside popularity's; saves it into the cache, where the critic finds it.
2. Calibrates τ = μ + k·σ per constraint on baseline drafts (the first draft of one run per sample-catalog
   product × style) and saves the packaged calibration (`recgen/rewards/constraints.json`).
3. Ablation: for each brief of `benchmarks/briefs/ad_quality.json` (not used by step 2), three candidate
   videos — its style with seeds 0 and 1, and a second style — each judged by the critic (the final draft's
   rewards). A selector picks one candidate by the combined reward R = R_feedback − Σ λ_c·ReLU(τ_c − R_c)
   (less the open-violation penalty, as the critic ranks drafts); the ablated selector drops one reward's
   term. The win rate of a reward is the share of briefs where the full selector's pick scores higher on
   that reward than the ablated selector's pick (ties count half).
4. Revising on the combined reward: the first candidate of each brief again with the critic sending back
   hard violations only (`revise_on_reward=False`): final combined reward, drafts and seconds, both ways.

Writes `benchmarks/results/rewards.json` with every figure (and the re-encoding figures of
`results/reencode.json`, so one file holds the rewards issue's numbers).

    python benchmarks/rewards.py [--width 144 --height 256 --fps 12 --duration 8] [--briefs 24]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from video_args import add_video_args, provenance

from recgen import Settings, generate_video
from recgen.agents.critic import ranking
from recgen.rewards.calibration import CONSTRAINED, baseline_rewards, constraints_from
from recgen.rewards.combine import CONSTRAINTS_FILE, VIOLATION_PENALTY
from recgen.rewards.constraints import Constraints
from recgen.rewards.feedback import held_out_auc, train_from_data
from recgen.rewards.feedback_cache import model_path
from recgen.sid.creative import PRESETS
from recgen.sid.semantics import load_sid_space

HERE = Path(__file__).resolve().parent
BRIEFS = HERE / "briefs" / "ad_quality.json"
OUT = HERE / "results" / "rewards.json"
CALIBRATION_PRODUCTS = 6


def feedback_figures(s: Settings) -> dict:
    model, info, split = train_from_data(s.data_dir, model_path(s.cache_dir))  # the model runs then use
    return info | held_out_auc(model, split)


def candidates(brief: dict) -> list[tuple[str, int]]:
    presets = sorted(PRESETS)
    other = presets[(presets.index(brief["creative"]) + 3) % len(presets)]
    return [(brief["creative"], 0), (brief["creative"], 1), (other, 0)]


def judge(brief: dict, preset: str, seed: int, s: Settings) -> dict:
    offer = {k: brief[k] for k in ("price", "discount_pct") if k in brief}
    t0 = time.perf_counter()
    r = generate_video(brief["product"], preset, settings=s, seed=seed, **offer)
    best = max(r.state.reports, key=ranking)
    return {
        "preset": preset,
        "seed": seed,
        "rewards": best.rewards,
        "reward": best.reward,
        "violations": len(best.violations),
        "shortfall": best.shortfall,
        "drafts": len(r.state.drafts),
        "soft_revisions": sum(rep.verdict == "revise" and not rep.violations for rep in r.state.reports),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def soft_revision_effect(judged: list[dict], briefs: list[dict], s: Settings, advance) -> dict:
    """The first candidate of every brief again with the critic revising on hard violations only: what the
    revisions on the combined reward add (final combined reward, drafts, seconds)."""
    off = s.model_copy(update={"revise_on_reward": False})
    rows = []
    for b, j in zip(briefs, judged, strict=True):
        preset, seed = candidates(b)[0]
        rows.append((j["candidates"][0], judge(b, preset, seed, off)))
        advance()
    on, hard = [r[0] for r in rows], [r[1] for r in rows]
    return {
        "briefs": len(rows),
        "revised_on_reward": sum(r["soft_revisions"] > 0 for r in on),
        "combined_reward": {"on": _mean(on, "reward"), "hard_only": _mean(hard, "reward")},
        "reward_higher_share": round(float(np.mean([a["reward"] > b["reward"] for a, b in rows])), 4),
        "reward_lower_share": round(float(np.mean([a["reward"] < b["reward"] for a, b in rows])), 4),
        "drafts_per_video": {"on": _mean(on, "drafts"), "hard_only": _mean(hard, "drafts")},
        "seconds_per_video": {"on": _mean(on, "seconds"), "hard_only": _mean(hard, "seconds")},
    }


def _mean(rows: list[dict], key: str) -> float:
    return round(float(np.mean([r[key] for r in rows])), 4)


def score(c: Constraints, cand: dict, drop: str | None) -> float:
    rw = cand["rewards"]
    main = 0.0 if drop == "feedback" else rw.get("feedback", 0.0)
    penalty = sum(c.multipliers[k].lam * max(0.0, s) for k, s in c.shortfalls(rw).items() if k != drop)
    return main - penalty - VIOLATION_PENALTY * cand["violations"]


def ablation(c: Constraints, briefs: list[dict]) -> dict:
    out = {}
    for reward in ["feedback", *c.thresholds]:
        wins, differ, won = [], 0, 0
        for b in briefs:
            full = max(b["candidates"], key=lambda x: score(c, x, None))
            without = max(b["candidates"], key=lambda x: score(c, x, reward))
            a, z = full["rewards"].get(reward), without["rewards"].get(reward)
            if a is None or z is None:
                continue
            differ += full is not without
            won += a > z
            wins.append(1.0 if a > z else 0.5 if a == z else 0.0)
        out[reward] = {
            "win_rate": round(float(np.mean(wins)), 4) if wins else None,
            "briefs": len(wins),
            "choice_differs": differ,
            "wins_where_choice_differs": won,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_video_args(ap, 144, 256, 12, 8.0)
    ap.add_argument("--briefs", type=int, default=24, help="how many briefs of the ablation (≥ 20)")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    briefs = json.loads(BRIEFS.read_text(encoding="utf-8"))["briefs"][: a.briefs]
    console = Console()
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console) as bar:
        s = Settings(runs_dir=Path(tmp), width=a.width, height=a.height, fps=a.fps, duration_s=a.duration)
        t0 = time.perf_counter()
        feedback = feedback_figures(s)
        console.print({"feedback": feedback})
        products = [p.id for p in load_sid_space(s.data_dir, s.cache_dir).catalog.products[:CALIBRATION_PRODUCTS]]
        jobs = [(i, p) for i in products for p in sorted(PRESETS)]
        task = bar.add_task("baseline drafts", total=len(jobs))
        baseline = baseline_rewards(jobs, s, lambda: bar.advance(task))
        constraints = constraints_from(baseline)
        constraints.save(CONSTRAINTS_FILE)
        task = bar.add_task("ablation candidates", total=3 * len(briefs))
        judged = []
        for b in briefs:
            cands = []
            for preset, seed in candidates(b):
                cands.append(judge(b, preset, seed, s))
                bar.advance(task)
            judged.append({"id": b["product"]["id"], "candidates": cands})
        task = bar.add_task("hard-only critic", total=len(briefs))
        soft = soft_revision_effect(judged, briefs, s, lambda: bar.advance(task))
        seconds = time.perf_counter() - t0
    result = {
        **provenance(),
        "settings": {"width": a.width, "height": a.height, "fps": a.fps, "duration_s": a.duration},
        "feedback_model": feedback,
        "calibration": {
            "drafts": len(baseline),
            "products": products,
            "thresholds": {k: vars(t) | {"tau": round(t.tau, 4)} for k, t in constraints.thresholds.items()},
            "k": CONSTRAINED,
        },
        "ablation": ablation(constraints, judged),
        "revising_on_the_combined_reward": soft,
        "mean_rewards": {
            k: round(float(np.mean([c["rewards"][k] for b in judged for c in b["candidates"] if k in c["rewards"]])), 4)
            for k in ("visual", "audio", "effects", "alignment_instruction", "alignment_representation", "feedback")
        },
        "reencoding": _reencoding_figures(),
        "seconds": round(seconds, 1),
        "briefs": judged,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n")
    t = Table("reward", "win rate with vs without", "briefs", "choice differs")
    for k, v in result["ablation"].items():
        t.add_row(k, str(v["win_rate"]), str(v["briefs"]), str(v["choice_differs"]))
    console.print(t)


def _reencoding_figures() -> dict:
    path = HERE / "results" / "reencode.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k not in ("rows", "confusion")}


if __name__ == "__main__":
    main()
