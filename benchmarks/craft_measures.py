"""What `ad_quality.py` measures of each ad's craft (issue 38), and the contact sheets a reviewer looks at:
filler lines, warnings sold as claims, the title's colour on screen, truncated text, revisions that changed
nothing, background plates (to find any shared between products), the product's model family, the shot
types (what each shot shows), and what drawing products cost. `craft.py` turns the rows into the craft table."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from recgen import Settings
from recgen.sid.facts import parted_figure
from recgen.tools.probes import frames_at

SHEET_FRAMES = 8
SHEET_WIDTH = 160
_PAIRS = (("(", ")"), ("[", "]"), ("{", "}"))


def truncated(text: str, title: str = "") -> bool:
    """Text cut or left unbalanced: an ellipsis, a bracket or a double quote without its mate, a dangling
    joiner or symbol at the end ("… with", "… /"), or a number cut from the unit that follows it in the
    product's title ("… Static 1" of "… Static 1 Inch …")."""
    t = text.strip()
    if "…" in t or "..." in t or t.count('"') % 2:
        return True
    if any(t.count(a) != t.count(b) for a, b in _PAIRS):
        return True
    if re.search(r"\b(?:and|with|for|of|the|a|&|-)\s*[.!]?$|(?:^|\s)[/~*#|+]\s*[.!]?$", t, re.I):
        return True
    at = title.find(t.rstrip(".!"))
    after = title[at + len(t.rstrip(".!")) :].split() if at >= 0 and t else []
    return bool(after) and parted_figure(t.rstrip(".!").split(), after[0])


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:12]


def craft_measures(r, m: dict, seconds: float, render_s: float) -> dict:
    """The craft figures of one run (`r`: generate_video's result; `m`: its chosen report's measures)."""
    st = r.state
    facts = st.semantics.content.facts
    shown = [b.text for b in st.drafts[-1].text_boxes if b.text] if st.drafts else []
    drafts = [d.path for d in st.drafts if Path(d.path).is_file() and d.render_seconds > 0]  # every one composed
    digests = [_digest(Path(p)) for p in drafts]
    plates = []
    for clip in st.clips:
        scene = Path(clip.scene_path)
        if scene.suffix == ".json" and scene.is_file():
            bg = json.loads(scene.read_text())["plates"]["bg"]
            plates.append(_digest(scene.parent / bg))
    return {
        "family": facts.packshot,
        "own_model": facts.packshot not in ("box", "device"),
        "filler_lines": m.get("filler_lines"),
        "warnings_as_claims": m.get("warnings_as_claims"),
        "text_shown_twice": m.get("text_shown_twice"),
        "colour": facts.colour.phrase if facts.colour else None,
        "colour_agreement": m.get("colour_agreement"),
        "truncations": sorted({t for t in shown if truncated(t, facts.title)}),
        "shot_types": [s.composition for s in st.visual.shots],
        "noop_revisions": sum(a == b for a, b in zip(digests, digests[1:], strict=False)),  # composed anyway
        # of those, the ones the critic then stopped on without measuring; and the ones not composed at all
        "noop_stopped": sum(d.unchanged_from is not None and d.render_seconds > 0 for d in st.drafts),
        "revisions_skipped": sum(d.unchanged_from is not None and not d.render_seconds for d in st.drafts),
        "bg_plates": sorted(set(plates)),
        "frames_shared": m.get("frames_shared"),  # the critic's: frames another product's video in this run has
        "video_seconds": st.visual.duration_s,
        "product_render_s": round(render_s, 2),
    }


def contact_sheet(video: Path | None, settings: Settings, out: Path) -> None:
    """A PNG grid of `SHEET_FRAMES` frames spread over the video, four to a row."""
    if video is None:
        return
    d = settings.duration_s
    times = [d * (k + 0.5) / SHEET_FRAMES for k in range(SHEET_FRAMES)]
    frames = frames_at(video, times, settings.fps, (settings.width, settings.height), SHEET_WIDTH)
    rows = [np.concatenate(frames[i : i + 4], axis=1) for i in range(0, len(frames), 4)]
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(out, optimize=True)
