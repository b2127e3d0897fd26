"""The graph's plumbing nodes — no agent decides anything here: decode the D-SID, fan the shot renders
out, render one shot, compose a draft; and `live`, which hands every node its run's live context."""

from __future__ import annotations

from collections.abc import Callable

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


def compose_node(state: VideoState, rc: RunContext) -> dict:
    round_ = len(state.drafts)
    out = rc.folder.draft_path(round_)
    draft = compose(state.visual, state.clips, state.effects, state.tracks, rc.settings, out, round_)
    rc.emit("compose", f"draft {round_} written in {draft.render_seconds:.1f}s")
    return {"drafts": [draft]}
