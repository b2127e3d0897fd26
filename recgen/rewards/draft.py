"""Every reward of one draft beyond its quality checks: the video re-encoded to D-SIDs from what the critic
read and heard, alignment, predicted feedback, and the constrained combination with the constraint at fault.

It reuses the critic's probe (decoded frames and sound) and read-back (OCR, ASR): re-encoding adds only the
style measurements, one text embedding and the quantisation.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recgen.errors import MediaError
from recgen.rewards.alignment import alignment
from recgen.rewards.combine import (
    OWNERS,
    constrained,
    load_constraints,
    module_rewards,
    representation_owner,
    scores_of,
    soft_violation,
)
from recgen.rewards.reencode import CALIBRATION_FILE, Calibration, perceive, perceived_lines, reencode
from recgen.schemas import AgentName, Product, Reencoding, VideoState, Violation
from recgen.settings import Settings
from recgen.sid.encoders import style_from_features
from recgen.sid.semantics import SIDSpace
from recgen.tools.probes import VideoProbe
from recgen.tools.readback import ReadBack


@dataclass
class DraftRewards:
    reencoding: Reencoding | None = None
    rewards: dict[str, float] = field(default_factory=dict)
    reward: float | None = None
    shortfall: str | None = None  # "constraint → agent"
    owner: AgentName | None = None
    soft: Violation | None = None  # the shortfall as a fix an agent can make (combine.soft_violation)
    notes: list[str] = field(default_factory=list)


@functools.cache
def _calibration(path: Path, mtime: float) -> Calibration:
    return Calibration.load(path)


def feedback_item(space: SIDSpace, product: Product, n_items: int) -> tuple[int, str | None]:
    """The interaction-data item a product is scored as: itself when it is one, else the catalog item whose
    text is nearest to its own (and a note saying so)."""
    if product.id.isdigit() and int(product.id) < n_items:
        return int(product.id), None
    emb = space.encoder.encode([space.catalog.text_of(product)])[0]
    sims = space.item_emb[:n_items] @ emb
    near = space.catalog.products[int(np.argmax(sims))]
    return int(near.id), f"feedback: {product.id!r} is not in the interaction data; scored as item {near.id}"


def reward_draft(space: SIDSpace, state: VideoState, p: VideoProbe, rb: ReadBack,
                 parts: dict[str, dict[str, float]], settings: Settings) -> DraftRewards:  # fmt: skip
    """`parts`: the quality dimensions' parts (combine.components)."""
    out = DraftRewards()
    sem, t0 = state.semantics, time.perf_counter()
    align, rep_owner, measured = None, "instruct", None
    if rb.heard is None and not rb.frames:
        if settings.ocr_backend != "none" or settings.asr_backend != "none":  # switched off: the user knows
            out.notes.append("rewards: nothing was read or heard, so the video is not re-encoded")
    else:
        try:
            calib = _calibration(CALIBRATION_FILE, CALIBRATION_FILE.stat().st_mtime)
            lines = perceived_lines(rb.heard, rb.frames)
            measures = perceive(p, rb.heard, rb.frames)
            re = reencode(space, calib, measures, lines)
            align = alignment(space, state.brief, sem, re)
            out.reencoding = Reencoding(
                content=re.content,
                creative=re.creative,
                lines=tuple(lines)[:40],
                measures={k: round(v, 5) for k, v in measures.items()},
                seconds=round(time.perf_counter() - t0, 3),
            )
            measured = style_from_features(np.asarray(re.creative_embedding))
            rep_owner = representation_owner(align.content_part, align.creative_part, measured, sem.creative.style)
        except MediaError as e:
            out.notes.append(f"rewards: the draft could not be re-encoded ({e})")
    from recgen.rewards.feedback_cache import load_scorer

    scorer, note = load_scorer(settings.cache_dir, settings.data_dir)
    out.notes += [note] if note else []
    feedback = None
    if scorer is not None:
        item, note = feedback_item(space, state.request.product, len(scorer.codes))
        history = list(state.request.viewer) or None
        feedback = scorer.engagement(item, sem.dsid.creative, history)
        out.notes += [note] if note else []
    out.rewards = module_rewards(scores_of(parts), align.as_dict() if align else None, feedback)
    c = load_constraints(settings.constraints_file, settings.cache_dir)
    if c is None:
        out.notes.append("rewards: the thresholds are not calibrated (recgen rewards calibrate); no combined reward")
        return out
    out.reward, worst = constrained(c, out.rewards)
    if worst:
        out.owner = rep_owner if worst == "alignment_representation" else OWNERS.get(worst, "instruct")
        out.shortfall = f"{worst} → {out.owner}"
        tau = c.thresholds[worst].tau
        out.soft = soft_violation(worst, tau, out.rewards[worst], parts, measured, sem.creative.style)
    return out
