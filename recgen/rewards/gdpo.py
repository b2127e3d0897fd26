"""GDPO: group-normalised policy optimisation over several rewards, with the constrained reward as objective.

For one group (several choices for the same context), the feedback reward and the constraint penalty are
normalised within the group apart, and only then combined as the constrained reward is:
A = Â_feedback − Σ_c λ_c·(s_c − s̄_c)/σ_s, with s_c = ReLU(τ_c − R_c) each constraint's shortfall and σ_s
their pooled spread in the group, √(Σ_c var s_c). Normalising feedback and penalty apart keeps the click
probability's small spread from being drowned by the quality rewards, or the other way round (GRPO
normalises the sum). The constraints share one unit — points of a reward in [0, 1] — so they are scaled
together, not each by its own spread: normalised one by one, a constraint that differs by 0.01 between
choices weighs as much as one that differs by 0.3, and a policy can then trade a large shortfall for
several tiny gains and call it progress (the closed-loop benchmark did exactly that).
The policy then takes PPO's clipped step on those advantages, with a KL term to the starting policy so it
cannot drift far from it on a few groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from recgen.rewards.constraints import Constraints


def _normalised(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    sd = x.std()
    return np.zeros_like(x) if sd < eps else (x - x.mean()) / sd


def group_advantages(group: list[dict[str, float]], constraints: Constraints, eps: float = 1e-6) -> np.ndarray:
    """One advantage per member of the group (see the module's docstring); a reward a member lacks counts as
    the group's mean for it."""
    adv = np.zeros(len(group))
    fb = np.asarray([g.get("feedback", np.nan) for g in group], dtype=float)
    if np.isfinite(fb).any():
        adv += _normalised(np.where(np.isfinite(fb), fb, np.nanmean(fb)))
    shortfalls = {}
    for c, t in constraints.thresholds.items():
        r = np.asarray([g.get(c, np.nan) for g in group], dtype=float)
        if np.isfinite(r).any():
            shortfalls[c] = np.maximum(0.0, t.tau - np.where(np.isfinite(r), r, np.nanmean(r)))
    if not shortfalls:
        return adv
    scale = float(np.sqrt(sum(s.var() for s in shortfalls.values())))
    if scale < eps:
        return adv
    for c, s in shortfalls.items():
        adv -= constraints.multipliers[c].lam * (s - s.mean()) / scale
    return adv


@dataclass
class Batch:
    contexts: torch.Tensor  # (N,) the context of each choice (e.g. a first content code)
    actions: torch.Tensor  # (N,) the choice made
    old_log_probs: torch.Tensor  # (N,) its log-probability under the policy that made it
    advantages: torch.Tensor  # (N,)


def ppo_update(policy, reference, batch: Batch, clip: float = 0.2, kl: float = 0.05, epochs: int = 4,
               lr: float = 0.05) -> dict[str, float]:  # fmt: skip
    """PPO-clip on the batch's advantages + kl·KL(π ‖ π_ref) over the batch's contexts. `policy` and
    `reference` expose `log_probs(contexts) → (N, choices)`; the reference is not changed."""
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    with torch.no_grad():
        ref = reference.log_probs(batch.contexts)
    stats = {}
    for _ in range(epochs):
        logp_all = policy.log_probs(batch.contexts)
        logp = logp_all.gather(1, batch.actions[:, None])[:, 0]
        ratio = torch.exp(logp - batch.old_log_probs)
        surrogate = torch.minimum(ratio * batch.advantages, ratio.clamp(1 - clip, 1 + clip) * batch.advantages)
        divergence = (logp_all.exp() * (logp_all - ref)).sum(-1).mean()
        loss = -surrogate.mean() + kl * divergence
        opt.zero_grad()
        loss.backward()
        opt.step()
        clipped = ((ratio - 1).abs() > clip).float().mean()
        stats = {"loss": float(loss.detach()), "kl": float(divergence.detach()), "clipped": float(clipped)}
    return stats
