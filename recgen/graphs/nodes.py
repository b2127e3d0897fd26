"""The graph's plumbing nodes — no agent decides anything here: decode the D-SID, fan the shot renders
out, render one shot, compose a draft; and `live`, which hands every node its run's live context."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from langgraph.runtime import Runtime
from langgraph.types import Send

from recgen.runtime import RunContext, run_context
from recgen.schemas import RenderTask, VideoState
from recgen.tools.compositor import compose
from recgen.tools.video_gen import plan_hash


def live(node: Callable[..., dict]) -> Callable[[VideoState | RenderTask, Runtime], dict]:
    """Adapt a node written as (state, RunContext) to LangGraph's (state, runtime)."""

    def wrapped(state: VideoState | RenderTask, runtime: Runtime) -> dict:
        request = state.request if isinstance(state, VideoState) else state.state.request
        return node(state, run_context(runtime.context, request.run_id))

    # not functools.wraps: LangGraph reads the signature to pass `runtime`, and would follow __wrapped__
    wrapped.__name__, wrapped.__qualname__, wrapped.__doc__ = node.__name__, node.__qualname__, node.__doc__
    return wrapped


def decode_node(state: VideoState, rc: RunContext) -> dict:
    """D-SID → Semantics (content: what to say; creative: how it looks and sounds)."""
    sem = rc.space.decode(state.request.dsid, state.request.product)
    rc.folder.write_plan("semantics", sem)
    dropped = [{"claim": d.text, "rule": d.rule, "words": d.words} for d in sem.content.facts.dropped]
    rc.folder.update_record(space=rc.space.name, policy_dropped=dropped)  # what the ad may not say, and why
    rc.emit("decode_sids", f"{sem.dsid} → {sem.content.product_type} / {sem.creative.preset}")
    return {"semantics": sem}


def fan_out_renders(state: VideoState, runtime: Runtime) -> list[Send]:
    """One render task per shot whose plan changed; unchanged shots keep their clip."""
    s = run_context(runtime.context, state.request.run_id).settings
    have = {c.index: c.plan_hash for c in state.clips}
    sends = []
    for shot in state.visual.shots:
        h = plan_hash(shot, state.visual.palette, state.request.product, (s.width, s.height, s.fps))
        if have.get(shot.index) != h:
            sends.append(Send("render_shot", RenderTask(shot=shot, hash=h, state=state)))
    return sends or [Send("render_shot", RenderTask(shot=None, hash="", state=state))]


def render_shot_node(task: RenderTask, rc: RunContext) -> dict:
    """t2v / i2v for one shot, through the visual agent's tool mask."""
    shot, state = task.shot, task.state
    if shot is None:
        return {}
    toolbox = rc.tools("visual")
    tool = "image_to_video" if shot.asset == "user_image" else "text_to_video"
    clip = toolbox.call(
        tool,
        shot=shot,
        product=state.request.product,
        palette=state.visual.palette,
        product_kind=state.semantics.content.product_type,
        label=(state.semantics.content.facts.brand, state.semantics.content.facts.name),
        colour=colour.rgb if (colour := state.semantics.content.facts.colour) else None,
        typeface=state.semantics.creative.typeface,
        text_color=state.visual.palette[3],
        seed=state.request.seed,
    )
    rc.emit("render_shot", f"shot {shot.index} rendered")
    return {"clips": [clip.model_copy(update={"plan_hash": task.hash})], "tool_calls": toolbox.drain()}


def plans_digest(state: VideoState) -> str:
    """What a draft is made of: the visual, audio and effects plans, each shot's clip and the mixed sound.
    Two rounds with the same digest compose the same video."""
    h = hashlib.sha1()
    for plan in (state.visual, state.effects):
        h.update(plan.model_dump_json().encode())
    for c in sorted(state.clips, key=lambda c: c.index):
        h.update(f"{c.index}|{c.backend}|{c.plan_hash}".encode())
    h.update(json.dumps([ln.model_dump(mode="json") for ln in state.tracks.lines]).encode())
    try:
        with open(state.tracks.mix_aac_path, "rb") as f:
            h.update(hashlib.file_digest(f, "sha1").digest())
    except OSError:
        h.update(str(state.tracks.mix_aac_path).encode())
    return h.hexdigest()


def compose_node(state: VideoState, rc: RunContext) -> dict:
    """Compose the draft; a revision that left every plan as it was is not composed again (the critic stops
    on it and says why)."""
    round_ = len(state.drafts)
    digest = plans_digest(state)
    last = state.drafts[-1] if state.drafts else None
    if state.revision is not None and last is not None and last.plan_digest == digest:
        rc.emit("compose", f"draft {round_}: the revision of {state.revision.agent} changed no plan; not composed")
        return {
            "drafts": [last.model_copy(update={"round": round_, "unchanged_from": last.round, "render_seconds": 0.0})]
        }
    out = rc.folder.draft_path(round_)
    draft = compose(state.visual, state.clips, state.effects, state.tracks, rc.settings, out, round_)
    draft = draft.model_copy(update={"plan_digest": digest})
    if last is not None and _same_file(out, Path(last.path)):  # plans changed, but not what is seen or heard
        rc.emit("compose", f"draft {round_}: the revision changed no frame or sound of draft {last.round}")
        return {"drafts": [draft.model_copy(update={"unchanged_from": last.round})]}
    rc.emit("compose", f"draft {round_} written in {draft.render_seconds:.1f}s")
    return {"drafts": [draft]}


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False
