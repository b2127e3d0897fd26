"""Human review: with `--review` the run pauses after the visual plan (before any rendering) so a creative
can approve it or edit the brief, shot prompts and voice lines; the edits flow into every later agent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langgraph.types import interrupt

from recgen.errors import InputError
from recgen.schemas import Brief, ReviewEdits, VideoState, VisualPlan

if TYPE_CHECKING:
    from recgen.runtime import RunContext


def review_payload(state: VideoState) -> dict:
    """What the reviewer is shown: the brief and the shot plan, as plain JSON."""
    return {
        "brief": state.brief.model_dump(mode="json"),
        "visual": state.visual.model_dump(mode="json"),
    }


def check_edits(edits: ReviewEdits, brief: Brief) -> None:
    """Edits must name existing shots; checked before resuming, so a bad edit leaves the run waiting."""
    shots = {s.index for s in brief.shots}
    for name, d in (("shot_prompts", edits.shot_prompts), ("voice_lines", edits.voice_lines)):
        unknown = sorted(set(d) - shots)
        if unknown:
            raise InputError(f"{name}: no shot {unknown[0]} (shots are {min(shots)}–{max(shots)})")


def apply_edits(edits: ReviewEdits, brief: Brief, visual: VisualPlan) -> tuple[Brief, VisualPlan]:
    old_headline = brief.headline
    shots = tuple(
        s.model_copy(update={"message": edits.voice_lines[s.index]}) if s.index in edits.voice_lines else s
        for s in brief.shots
    )
    brief = brief.model_copy(
        update={"headline": edits.headline or brief.headline, "cta": edits.cta or brief.cta, "shots": shots}
    )
    plans = []
    for s in visual.shots:
        update: dict = {}
        if s.index in edits.shot_prompts:
            update["prompt"] = edits.shot_prompts[s.index]
        if edits.headline and s.headline == old_headline:
            update["headline"] = edits.headline
        plans.append(s.model_copy(update=update) if update else s)
    return brief, visual.model_copy(update={"shots": tuple(plans)})


def review_node(state: VideoState, rc: RunContext) -> dict:
    """Pauses once per run (the first visual plan); critic revisions later do not ask again."""
    if not state.request.review or state.review is not None:
        return {}
    answer = interrupt(review_payload(state))
    edits = ReviewEdits.model_validate(answer or {})
    check_edits(edits, state.brief)
    if edits.is_approval:
        rc.emit("review", "approved as planned")
        return {"review": edits, "notes": ["review: approved as planned"]}
    brief, visual = apply_edits(edits, state.brief, state.visual)
    rc.folder.write_plan("brief", brief)
    rc.folder.write_plan("visual", visual)
    what = [k for k in ("headline", "cta", "shot_prompts", "voice_lines") if getattr(edits, k)]
    rc.emit("review", "edited: " + ", ".join(what))
    return {"review": edits, "brief": brief, "visual": visual, "notes": [f"review: edited {', '.join(what)}"]}
