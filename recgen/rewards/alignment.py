"""Alignment reward (the paper's R_align): does the work carry the D-SID it was asked for?

Two parts, each in [0, 1]:
- *instruction alignment*: the brief against the target semantics — its content lines (instruction,
  headline, shot messages) placed among the content space's first-level codes, and its creative
  instruction among the named styles' descriptions;
- *representation alignment*: the rendered video, re-encoded from what a viewer perceives
  (rewards/reencode.py), against the target D-SID — the share of code levels whose prefix matches, and how
  the re-encoded embedding ranks the target among the alternatives.

"Ranks the target among the alternatives" is the share of the other first-level codes (content) or named
styles (creative) that are farther from the perceived embedding than the target: 1 when the target is the
nearest, 0 when it is the farthest. A rank does not depend on the encoder's scale of cosines, so the two
sides and the two parts add up on one footing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from recgen.rewards.reencode import Reencoded, code_match
from recgen.schemas import Brief, Semantics
from recgen.sid.creative import PRESETS, creative_semantics, preset_style
from recgen.sid.encoders import style_features
from recgen.sid.semantics import SIDSpace


@dataclass(frozen=True)
class Alignment:
    instruction: float
    representation: float
    content_levels: tuple[bool, ...]  # per level: does the re-encoded prefix match the target's?
    creative_levels: tuple[bool, ...]
    content_rank: float  # 1: the target is the nearest first-level code to what was perceived
    creative_rank: float
    content_part: float  # the representation alignment's two halves
    creative_part: float

    def as_dict(self) -> dict[str, float]:
        return {
            "alignment_instruction": self.instruction,
            "alignment_representation": self.representation,
            "content_rank": self.content_rank,
            "creative_rank": self.creative_rank,
            "content_levels_matched": float(sum(self.content_levels)),
            "creative_levels_matched": float(sum(self.creative_levels)),
        }


def rank_score(query: np.ndarray, target: np.ndarray, others: np.ndarray) -> float:
    """Share of `others` farther (Euclidean) from `query` than `target` is; 1.0 with no others."""
    if not len(others):
        return 1.0
    d = np.linalg.norm(others - query, axis=1)
    return float((d > np.linalg.norm(target - query)).mean())


def _content_anchors(space: SIDSpace, content: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The target's full path, and for every other first code the same path under that first code."""
    books = space.content_rq.codebooks
    content = content[: len(books)]  # the residual codes; the disambiguation code has no centroid
    rest = sum((books[lv][c] for lv, c in enumerate(content) if lv), np.zeros(books[0].shape[1]))
    first = books[0]
    others = np.stack([first[k] + rest for k in range(len(first)) if k != content[0]])
    return first[content[0]] + rest, others


@functools.cache
def _style_texts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    names = tuple(sorted(PRESETS))
    texts = []
    for n in names:
        c = creative_semantics((), preset_style(n))
        texts.append(f"{n.replace('-', ' ')} style: {', '.join(c.descriptors)}; {c.music_genre}")
    return names, tuple(texts)


def instruction_alignment(space: SIDSpace, brief: Brief, sem: Semantics) -> float:
    content_text = " ".join([brief.content_instruction, brief.headline, *(s.message for s in brief.shots)])
    target, others = _content_anchors(space, sem.dsid.content)
    vecs = space.encoder.encode([content_text, brief.creative_instruction])
    content = rank_score(vecs[0], target, others)
    names, texts = _style_texts()
    style_vecs = space.encoder.encode(list(texts))
    i = names.index(sem.creative.preset)
    creative = rank_score(vecs[1], style_vecs[i], np.delete(style_vecs, i, axis=0))
    return round(0.5 * content + 0.5 * creative, 4)


def representation_alignment(space: SIDSpace, re: Reencoded, sem: Semantics) -> tuple[float, dict]:
    content_levels = tuple(code_match(re.content, sem.dsid.content))
    creative_levels = tuple(code_match(re.creative, sem.dsid.creative))
    target, others = _content_anchors(space, sem.dsid.content)
    content_rank = rank_score(np.asarray(re.content_embedding), target, others)
    names = sorted(PRESETS)
    anchors = np.stack([style_features(preset_style(n)) for n in names])
    i = names.index(sem.creative.preset)
    creative_rank = rank_score(np.asarray(re.creative_embedding), anchors[i], np.delete(anchors, i, axis=0))
    content = 0.5 * np.mean(content_levels) + 0.5 * content_rank
    creative = 0.5 * np.mean(creative_levels) + 0.5 * creative_rank
    detail = {
        "content_levels": content_levels,
        "creative_levels": creative_levels,
        "content_rank": round(content_rank, 4),
        "creative_rank": round(creative_rank, 4),
        "content_part": round(float(content), 4),
        "creative_part": round(float(creative), 4),
    }
    return round(float(0.5 * content + 0.5 * creative), 4), detail


def alignment(space: SIDSpace, brief: Brief, sem: Semantics, re: Reencoded) -> Alignment:
    rep, d = representation_alignment(space, re, sem)
    return Alignment(instruction_alignment(space, brief, sem), rep, **d)
